import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Reconcile intervals of all instances, to prove no key is reconciled by two at once.
final class IntervalLog: Sendable {
    struct Interval { var who: String; var key: ObjectKey; var start: ContinuousClock.Instant; var end: ContinuousClock.Instant }
    private let state = Mutex<[Interval]>([])
    func add(_ i: Interval) { state.withLock { $0.append(i) } }
    var all: [Interval] { state.withLock { $0 } }
    func overlaps() -> Int {
        let list = all
        var n = 0
        for (i, a) in list.enumerated() {
            for b in list[(i + 1)...] where a.key == b.key && a.who != b.who && a.start < b.end && b.start < a.end { n += 1 }
        }
        return n
    }
}

@Suite(.serialized) struct LeaderElectionTests {
    struct Instance {
        var manager: Manager
        var task: Task<Void, Never>
    }

    func startInstance(_ name: String, sim: KubeSim, intervals: IntervalLog) throws -> Instance {
        let client = try Sim.client(sim)
        let config = LeaderElectionConfig(leaseName: "backstop-test", namespace: "default", identity: name,
                                          leaseDuration: .seconds(3), renewDeadline: .seconds(2), retryPeriod: .milliseconds(500))
        let manager = Manager(client: client, options: ManagerOptions(namespaces: ["default"], leaderElection: config),
                              logger: Logger(label: name))
        let informer = manager.informer(ConfigMap.self)
        let controller = manager.controller(name: "le-\(name)", workers: 2) { key, _ in
            let start = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(30))
            intervals.add(.init(who: name, key: key, start: start, end: .now))
            return .requeue(after: .milliseconds(100))
        }
        controller.watches(informer)
        let services = manager.services.map(\.service)
        let task = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                for s in services { g.addTask { try await s.run() } }
            }
        }
        return Instance(manager: manager, task: task)
    }

    @Test func exactlyOneLeadsAndTheOtherTakesOverAfterACrash() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        for i in 0..<5 { _ = try sim.store.create(JSONValue.encode(Sim.configMap("le-\(i)"))) }
        let intervals = IntervalLog()
        let a = try startInstance("a", sim: sim, intervals: intervals)
        let b = try startInstance("b", sim: sim, intervals: intervals)
        defer { a.task.cancel(); b.task.cancel() }
        #expect(await Sim.eventually { a.manager.leadership.isLeading || b.manager.leadership.isLeading })
        try await Task.sleep(for: .seconds(1.5))
        #expect(a.manager.leadership.isLeading != b.manager.leadership.isLeading, "exactly one leads")
        #expect(a.manager.isReady && b.manager.isReady)
        let (leader, follower) = a.manager.leadership.isLeading ? (a, b) : (b, a)
        #expect(follower.manager.leadership.state == .following(holder: leader.manager.elector!.config.identity))

        // Crash the leader: cancel without releasing the Lease.
        leader.task.cancel()
        let crashed = ContinuousClock.now
        #expect(await Sim.eventually(.seconds(10)) { follower.manager.leadership.isLeading })
        let takeover = ContinuousClock.now - crashed
        // lease duration (3 s) + retry period (0.5 s, +20 % jitter) + 1 s slack for a loaded machine
        #expect(takeover <= .seconds(4.6), "took over after \(takeover)")
        try await Task.sleep(for: .seconds(1))
        #expect(intervals.overlaps() == 0)
        #expect(Set(intervals.all.map(\.who)) == ["a", "b"])
        let lease = try sim.store.get("coordination.k8s.io/v1", "Lease", namespace: "default", name: "backstop-test")
        #expect(lease["spec"]?["holderIdentity"]?.stringValue == follower.manager.elector!.config.identity)
        #expect((lease["spec"]?["leaseTransitions"]?.intValue ?? 0) >= 1)
    }

    /// A renewal the shutdown cancelled may still have reached the server, so the elector's last
    /// copy of the Lease is one version behind: the release must still clear the holder.
    @Test func gracefulShutdownReleasesALeaseWhoseVersionMovedOn() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let config = LeaderElectionConfig(leaseName: "backstop-release", namespace: "default", identity: "solo",
                                          leaseDuration: .seconds(30), renewDeadline: .seconds(20), retryPeriod: .seconds(10))
        let elector = LeaderElector(client: try Sim.client(sim), config: config)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [elector], logger: Logger(label: "release")))
        let run = Task { try await group.run() }
        #expect(await Sim.eventually(.seconds(10)) { elector.leadership.isLeading })
        // The Lease changes behind the elector's back (as an applied-but-cancelled renewal would).
        _ = try sim.store.mergePatch("coordination.k8s.io/v1", "Lease", namespace: "default", name: "backstop-release",
                                     patch: ["metadata": ["annotations": ["test/bumped": "1"]]])
        await group.triggerGracefulShutdown()
        _ = await run.result
        let lease = try sim.store.get("coordination.k8s.io/v1", "Lease", namespace: "default", name: "backstop-release")
        #expect(lease["spec"]?["holderIdentity"]?.stringValue == nil, "the Lease was not released: \(lease)")
    }
}
