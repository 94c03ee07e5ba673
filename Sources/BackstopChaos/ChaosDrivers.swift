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

    func backups() async -> DriverTally {
        var tally = DriverTally(kind: "backups")
        var n = 0
        while !clock.stopped {
            n += 1
            let policy = n % 2 == 0 ? "app" : "ledger", value = "b\(n)"
            do { try world.runNow("BackupPolicy", policy, value) } catch { continue }
            let outcome = await self.await {
                guard let run = world.get("BackupPolicy", policy, as: BackupPolicy.self)?.status?.lastManualRun,
                      run.value == value, run.finishedAt != nil else { return nil }
                return Outcome(name: run.result?.rawValue ?? "finished", failure: run.result == .succeeded ? nil : run.message ?? "-")
            }
            record(outcome, "BackupPolicy/\(policy) run-now \(value)", into: &tally)
            await pause()
        }
        return tally
    }

    func restores() async -> DriverTally {
        var tally = DriverTally(kind: "restores")
        var n = 0
        while !clock.stopped {
            n += 1
            let name = "restore-\(n)"
            let spec: JSONValue = ["policyRef": ["name": "ledger"], "allowOverwriteSource": true,
                                   "quiesce": [["kind": "Deployment", "name": .string(ChaosWorld.writer)]]]
            do { try create("RestoreRequest", name, spec) } catch { continue }
            let outcome = await self.await {
                guard let s = world.get("RestoreRequest", name, as: RestoreRequest.self)?.status, let phase = s.phase,
                      phase == .succeeded || phase == .failed else { return nil }
                return Outcome(name: phase.rawValue, failure: phase == .succeeded ? nil : s.message ?? "-")
            }
            record(outcome, "RestoreRequest/\(name)", into: &tally)
            await pause()
        }
        return tally
    }

    func drills() async -> DriverTally {
        var tally = DriverTally(kind: "drills")
        var n = 0
        while !clock.stopped {
            n += 1
            let name = "drill-\(n)"
            let spec: JSONValue = ["policyRef": ["name": "app"], "scratch": ["postgres": ["database": .string("\(world.appDB)_s\(n)")]],
                                   "objectives": ["rpo": "1h"]]
            do { try create("DrillRun", name, spec) } catch { continue }
            let outcome = await self.await {
                guard let s = world.get("DrillRun", name, as: DrillRun.self)?.status, s.phase == .completed else { return nil }
                return Outcome(name: s.result?.rawValue ?? "Completed", failure: s.result == .passed ? nil : s.message ?? "-")
            }
            record(outcome, "DrillRun/\(name)", into: &tally)
            await pause()
        }
        return tally
    }

    func rotations() async -> DriverTally {
        var tally = DriverTally(kind: "rotations")
        var n = 0
        while !clock.stopped {
            n += 1
            let value = "r\(n)"
            do { try world.runNow("SecretRotation", "api-db", value) } catch { continue }
            let outcome = await self.await {
                guard let s = world.get("SecretRotation", "api-db", as: SecretRotation.self)?.status,
                      s.lastManualRun?.value == value, s.run?.finishedAt != nil else { return nil }
                return Outcome(name: s.phase?.rawValue ?? "finished", failure: s.phase?.rawValue == "Succeeded" ? nil : s.message ?? "-")
            }
            record(outcome, "SecretRotation/api-db run-now \(value)", into: &tally)
            await pause()
        }
        return tally
    }

    func cleanups() async -> DriverTally {
        var tally = DriverTally(kind: "cleanups")
        var n = 0
        while !clock.stopped {
            n += 1
            let value = "c\(n)"
            do { try world.runNow("CleanupPolicy", "events", value) } catch { continue }
            let outcome = await self.await {
                guard let run = world.get("CleanupPolicy", "events", as: CleanupPolicy.self)?.status?.lastManualRun,
                      run.value == value, run.finishedAt != nil else { return nil }
                return Outcome(name: run.result?.rawValue ?? "finished", failure: run.result == .succeeded ? nil : run.message ?? "-")
            }
            record(outcome, "CleanupPolicy/events run-now \(value)", into: &tally)
            await pause()
        }
        return tally
    }

    private func create(_ kind: String, _ name: String, _ spec: JSONValue) throws {
        _ = try world.sim.store.create(["apiVersion": .string(Backstop.apiVersion), "kind": .string(kind),
                                        "metadata": ["name": .string(name), "namespace": .string(ChaosWorld.namespace)], "spec": spec])
    }
}
