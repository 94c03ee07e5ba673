import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The chaos run: world up, replicas up, drivers and the observer running; then `kills`
/// SIGKILLs with the API fault mix; then faults stop, everything must finish what it started,
/// and the invariants are checked (`ChaosInvariants`).
public enum ChaosRun {
    public static func run(_ options: ChaosOptions) async throws -> ChaosReport {
        let say = options.output
        let started = ContinuousClock.now
        let work = options.workDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("backstop-chaos-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let world = try await ChaosWorld.start(options, work: work)
        say("chaos: KubeSim \(world.sim.url); databases \(world.appDB), \(world.ledgerDB); logs in \(work.path)")
        let replicas = Replicas(world: world, count: options.replicas, logs: work.appendingPathComponent("logs"))
        var report = ChaosReport()
        do {
            try await replicas.startAll()
            let observer = ChaosObserver(world: world)
            let observing = Task { await observer.run() }
            // Work starts once the first backups exist (a restore and a drill need one).
            _ = await waitUntil(.seconds(120)) {
                ["app", "ledger"].allSatisfy { world.get("BackupPolicy", $0, as: BackupPolicy.self)?.status?.lastBackup?.verified == true }
            }
            let clock = ChaosClock()
            let drivers = ChaosDrivers(world: world, clock: clock).all()
            let faults = options.apiFaults ? Task { await injectFaults(world.sim, clock: clock) } : nil

            say("chaos: \(options.kills) kills of \(options.replicas) replicas\(options.apiFaults ? " with the API fault mix" : "") …")
            var crashes: [String] = []
            for i in 0..<options.kills {
                try? await Task.sleep(for: .milliseconds(Int.random(in: options.killIntervalMs)))
                if options.apiFaults && i == options.kills / 2 { world.sim.faults.restart(); report.apiServerRestarts += 1 }
                if isBusy(world) { report.killsMidOperation += 1 }
                crashes += await replicas.killOne(preferring: observer.seen.leader, restartAfter: options.restartDelayMs)
                report.kills += 1
                if (i + 1) % 20 == 0 { say("chaos: \(i + 1) kills, \(world.sim.faults.injectedCount) injected API errors") }
            }
            clock.stop(deadline: ContinuousClock.now + options.convergeTimeout)
            faults?.cancel()
            if let faults { (report.watchDrops, report.compactions) = await faults.value }
            world.sim.faults.clear()
            crashes += await replicas.ensureRunning()
            let lastFault = ContinuousClock.now
            say("chaos: faults over; waiting for every operation to finish …")

            var tallies: [DriverTally] = []
            for d in drivers { tallies.append(await d.value) }
            let idle = await waitUntil(options.convergeTimeout - (ContinuousClock.now - lastFault)) { !isBusy(world) }
            if idle && tallies.allSatisfy({ $0.stuck.isEmpty }) {
                report.convergeSeconds = (ContinuousClock.now - lastFault).inSeconds
            }
            observing.cancel()
            await observing.value
            report.faultResponses = world.sim.faults.injectedCount
            report.leaderChanges = observer.seen.leaderChanges
            for t in tallies {
                report.operations[t.kind] = t.finished
                report.outcomes[t.kind] = t.outcomes
                report.failures += t.failures
            }
            crashes += await replicas.stopAll()
            report.invariants = await ChaosInvariants(world: world, seen: observer.seen, tallies: tallies, crashes: crashes,
                                                      logs: await replicas.logFiles).check(idle: idle, coverage: &report.coverage)
        } catch {
            _ = await replicas.stopAll()
            await world.sim.shutdown()
            await world.dropDatabases()
            throw error
        }
        await world.sim.shutdown()
        await world.dropDatabases()
        report.wallSeconds = (ContinuousClock.now - started).inSeconds
        return report
    }

    /// A Job running, a restore or drill under way, a rotation mid-run.
    static func isBusy(_ world: ChaosWorld) -> Bool {
        let jobs = (try? world.sim.store.list("batch/v1", "Job", namespace: ChaosWorld.namespace)) ?? []
        if jobs.contains(where: { $0[path: ["status", "completionTime"]] == nil && ($0[path: ["status", "failed"]]?.intValue ?? 0) == 0 }) {
            return true
        }
        let restores = world.list("RestoreRequest").compactMap { try? $0.decode(RestoreRequest.self) }
        if restores.contains(where: { $0.status?.phase != .succeeded && $0.status?.phase != .failed }) { return true }
        if world.list("DrillRun").compactMap({ try? $0.decode(DrillRun.self) }).contains(where: { $0.status?.phase != .completed }) { return true }
        if let run = world.get("SecretRotation", "api-db", as: SecretRotation.self)?.status?.run, run.finishedAt == nil { return true }
        return false
    }

    /// The API fault mix until the clock stops: 3 % 500, 2 % 429 (Retry-After 1), 1 % 409,
    /// every watch dropped every 15 s, the watch history compacted (410 Gone) every 40 s.
    static func injectFaults(_ sim: KubeSim, clock: ChaosClock) async -> (drops: Int, compactions: Int) {
        sim.faults.injectRate(.internalError, probability: 0.03)
        sim.faults.injectRate(.tooManyRequests(retryAfter: 1), probability: 0.02)
        sim.faults.injectRate(.conflict, probability: 0.01)
        var drops = 0, compactions = 0, second = 0
        while !clock.stopped && !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            second += 1
            if second % 15 == 0 { sim.faults.dropAllWatches(); drops += 1 }
            if second % 40 == 0 { sim.faults.compactHistory(); compactions += 1 }
        }
        return (drops, compactions)
    }

    static func waitUntil(_ timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return await condition()
    }
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
