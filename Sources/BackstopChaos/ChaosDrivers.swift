import DynamicJSON
import Foundation
import KubeModel
import Synchronization

/// When the drivers stop starting work, and until when in-flight work may take to finish.
final class ChaosClock: Sendable {
    private let state = Mutex<(stopped: Bool, deadline: ContinuousClock.Instant?)>((false, nil))
    var stopped: Bool { state.withLock { $0.stopped } }
    /// Stop starting work; what runs may finish until `deadline`.
    func stop(deadline: ContinuousClock.Instant) { state.withLock { $0 = (true, deadline) } }
    var pastDeadline: Bool { state.withLock { s in s.deadline.map { ContinuousClock.now > $0 } ?? false } }
}

/// What one driver did: operations finished by outcome, and the ones that never finished.
struct DriverTally: Sendable {
    var kind: String
    var outcomes: [String: Int] = [:]
    var stuck: [String] = []
    /// Operations that ended other than well, with the status message (what to look at).
    var failures: [String] = []
    var finished: Int { outcomes.values.reduce(0, +) }
}

/// The users of the run: each driver keeps one operation of its kind in flight — a run-now
/// backup, a fenced restore of the ledger over itself, a drill of the app database, a
/// rotation, a cleanup — and starts the next when it ends, until told to stop.
struct ChaosDrivers: Sendable {
    /// How an operation ended; `failure` is its status message when it did not end well.
    struct Outcome {
        var name: String
        var failure: String?
    }

    let world: ChaosWorld
    let clock: ChaosClock

    func all() -> [Task<DriverTally, Never>] {
        [Task { await backups() }, Task { await restores() }, Task { await drills() }, Task { await rotations() }, Task { await cleanups() }]
    }

    /// Waits until `outcome` names one, or the deadline passes (nil then: stuck).
    private func await(_ outcome: () -> Outcome?) async -> Outcome? {
        while !clock.pastDeadline {
            if let o = outcome() { return o }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return outcome()
    }

    private func record(_ outcome: Outcome?, _ what: String, into tally: inout DriverTally) {
        guard let outcome else { tally.stuck.append(what); return }
        tally.outcomes[outcome.name, default: 0] += 1
        if let failure = outcome.failure { tally.failures.append("\(what): \(failure)") }
    }

    private func pause() async { try? await Task.sleep(for: .milliseconds(Int.random(in: 300...1_500))) }

    /// One operation of a kind after another until the clock stops: `start(n)` starts the n-th
    /// and names it; `outcome(n)` says how it ended, nil while it runs.
    private func drive(_ kind: String, start: (Int) throws -> String, outcome: @escaping (Int) -> Outcome?) async -> DriverTally {
        var tally = DriverTally(kind: kind)
        var n = 0
        while !clock.stopped {
            n += 1
            guard let what = try? start(n) else { continue }
            let ended = await self.await { [n] in outcome(n) }
            record(ended, what, into: &tally)
            await pause()
        }
        return tally
    }

    /// A run-now request answered in `lastManualRun` (policies).
    private func answered(_ run: ManualRun?, _ value: String) -> Outcome? {
        guard let run, run.value == value, run.finishedAt != nil else { return nil }
        return Outcome(name: run.result?.rawValue ?? "finished", failure: run.result == .succeeded ? nil : run.message ?? "-")
    }

    private static func backupPolicy(_ n: Int) -> String { n % 2 == 0 ? "app" : "ledger" }

    func backups() async -> DriverTally {
        await drive("backups", start: { n in
            try world.runNow("BackupPolicy", Self.backupPolicy(n), "b\(n)")
            return "BackupPolicy/\(Self.backupPolicy(n)) run-now b\(n)"
        }, outcome: { n in
            answered(world.get("BackupPolicy", Self.backupPolicy(n), as: BackupPolicy.self)?.status?.lastManualRun, "b\(n)")
        })
    }

    func restores() async -> DriverTally {
        await drive("restores", start: { n in
            try create("RestoreRequest", "restore-\(n)", ["policyRef": ["name": "ledger"], "allowOverwriteSource": true,
                                                         "quiesce": [["kind": "Deployment", "name": .string(ChaosWorld.writer)]]])
            return "RestoreRequest/restore-\(n)"
        }, outcome: { n in
            guard let s = world.get("RestoreRequest", "restore-\(n)", as: RestoreRequest.self)?.status, let phase = s.phase,
                  phase == .succeeded || phase == .failed else { return nil }
            return Outcome(name: phase.rawValue, failure: phase == .succeeded ? nil : s.message ?? "-")
        })
    }

    func drills() async -> DriverTally {
        await drive("drills", start: { n in
            try create("DrillRun", "drill-\(n)", ["policyRef": ["name": "app"], "objectives": ["rpo": "1h"],
                                                 "scratch": ["postgres": ["database": .string("\(world.appDB)_s\(n)")]]])
            return "DrillRun/drill-\(n)"
        }, outcome: { n in
            guard let s = world.get("DrillRun", "drill-\(n)", as: DrillRun.self)?.status, s.phase == .completed else { return nil }
            return Outcome(name: s.result?.rawValue ?? "Completed", failure: s.result == .passed ? nil : s.message ?? "-")
        })
    }

    func rotations() async -> DriverTally {
        await drive("rotations", start: { n in
            try world.runNow("SecretRotation", "api-db", "r\(n)")
            return "SecretRotation/api-db run-now r\(n)"
        }, outcome: { n in
            guard let s = world.get("SecretRotation", "api-db", as: SecretRotation.self)?.status,
                  s.lastManualRun?.value == "r\(n)", s.run?.finishedAt != nil else { return nil }
            return Outcome(name: s.phase?.rawValue ?? "finished", failure: s.phase?.rawValue == "Succeeded" ? nil : s.message ?? "-")
        })
    }

    func cleanups() async -> DriverTally {
        await drive("cleanups", start: { n in
            try world.runNow("CleanupPolicy", "events", "c\(n)")
            return "CleanupPolicy/events run-now c\(n)"
        }, outcome: { n in
            answered(world.get("CleanupPolicy", "events", as: CleanupPolicy.self)?.status?.lastManualRun, "c\(n)")
        })
    }

    private func create(_ kind: String, _ name: String, _ spec: JSONValue) throws {
        _ = try world.sim.store.create(["apiVersion": .string(Backstop.apiVersion), "kind": .string(kind),
                                        "metadata": ["name": .string(name), "namespace": .string(ChaosWorld.namespace)], "spec": spec])
    }
}
