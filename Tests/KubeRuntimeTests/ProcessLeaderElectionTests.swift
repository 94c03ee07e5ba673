import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Testing

/// Leader election between two real `backstop run` processes (with the hidden test-only
/// ConfigMap controller, which stamps `backstop.dev/reconciled-by` with its identity), and
/// what a leader does when it cannot renew its Lease.
@Suite(.serialized) struct ProcessLeaderElectionTests {
    static let leaseDuration = 3.0
    static let retryPeriod = 0.3

    func startOperator(_ identity: String, sim: KubeSim, dir: URL) throws -> BackstopSubprocess {
        // Each process has its own user, so the request log tells who wrote what.
        let kubeconfig = dir.appendingPathComponent("kubeconfig-\(identity)")
        try sim.writeKubeconfig(to: kubeconfig, user: "operator-\(identity)", groups: ["system:masters"])
        return try BackstopSubprocess(arguments: [
            "run", "--kubeconfig", kubeconfig.path, "--namespaces", "default", "--leader-election-namespace", "default",
            "--identity", identity, "--metrics-address", "127.0.0.1:0", "--log-format", "text", "--log-level", "info",
            "--lease-duration-seconds", "\(Int(Self.leaseDuration))", "--renew-deadline-seconds", "2",
            "--retry-period-milliseconds", "\(Int(Self.retryPeriod * 1000))", "--grace-period", "2",
            "--testing-config-map-controller",
        ], log: dir.appendingPathComponent("\(identity).log"))
    }

    func holder(_ sim: KubeSim) -> String? {
        let lease = try? sim.store.get("coordination.k8s.io/v1", "Lease", namespace: "default", name: "backstop-controller")
        return lease?["spec"]?["holderIdentity"]?.stringValue
    }

    func stampedBy(_ sim: KubeSim, count: Int) -> [String?] {
        (0..<count).map { i in
            let cm = try? sim.store.get("v1", "ConfigMap", namespace: "default", name: "le-\(i)")
            return cm?[path: ["metadata", "annotations", "backstop.dev/reconciled-by"]]?.stringValue
        }
    }

    func configMapPatches(_ sim: KubeSim, by identity: String) -> [RequestLog.Entry] {
        sim.requestLog.matching(method: "PATCH", path: "/configmaps/").filter { $0.user == "operator-\(identity)" }
    }

    @Test func killNineOfTheLeaderProcessHandsOverWithinTheLeaseDuration() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-le-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // `backstop run` also starts the Backstop controllers; their kinds exist on a real cluster.
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        let count = 5
        for i in 0..<count {
            _ = try sim.store.create(JSONValue.encode(Sim.configMap("le-\(i)", labels: ["backstop.dev/test": "true"])))
        }
        let a = try startOperator("a", sim: sim, dir: dir)
        let b = try startOperator("b", sim: sim, dir: dir)
        var survivors = [a, b]
        defer { for p in survivors where p.isRunning { kill(p.pid, SIGKILL) } }

        #expect(await Sim.eventually(.seconds(30)) { holder(sim) != nil }, "nobody took the lease; a: \(a.output.suffix(2000))")
        let first = try #require(holder(sim))
        let (leader, follower, followerID) = first == "a" ? (a, b, "b") : (b, a, "a")
        #expect(await Sim.eventually(.seconds(20)) { stampedBy(sim, count: count).allSatisfy { $0 == first } },
                "the leader reconciles every object: \(stampedBy(sim, count: count))")
        // Several renew periods with both alive: the lease stays put and the follower writes nothing.
        try await Task.sleep(for: .seconds(2))
        #expect(holder(sim) == first)
        #expect(configMapPatches(sim, by: followerID).isEmpty, "the follower reconciled while the leader was alive")
        #expect(follower.isRunning && leader.isRunning)

        let status = await leader.kill9()
        let killed = ContinuousClock.now
        #expect(status == SIGKILL)
        survivors = [follower]
        #expect(await Sim.eventually(.seconds(15)) { holder(sim) == followerID }, "no takeover: \(follower.output.suffix(2000))")
        let takeover = ContinuousClock.now - killed
        // Lease duration + one retry period (+20 % jitter) + 1 s for a loaded two-core machine.
        #expect(takeover <= .seconds(Self.leaseDuration + Self.retryPeriod * 1.2 + 1), "took over after \(takeover)")
        #expect(await Sim.eventually(.seconds(10)) { stampedBy(sim, count: count).allSatisfy { $0 == followerID } },
                "the new leader reconciles every object: \(stampedBy(sim, count: count))")
        let lease = try sim.store.get("coordination.k8s.io/v1", "Lease", namespace: "default", name: "backstop-controller")
        #expect((lease["spec"]?["leaseTransitions"]?.intValue ?? 0) >= 1)
        #expect(follower.output.contains("became leader"), "\(follower.output.suffix(2000))")

        // Graceful stop of the survivor releases the lease (holder cleared).
        #expect(await follower.terminate() == 0, "\(follower.output.suffix(2000))")
        #expect(holder(sim) == nil)
    }

    @Test func aLeaderThatCannotRenewStopsItsControllersAndRecovers() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        for i in 0..<3 { _ = try sim.store.create(JSONValue.encode(Sim.configMap("lost-\(i)"))) }
        let intervals = IntervalLog()
        let solo = try LeaderElectionTests().startInstance("solo", sim: sim, intervals: intervals)
        defer { solo.task.cancel() }
        #expect(await Sim.eventually { solo.manager.leadership.isLeading && !intervals.all.isEmpty })

        // Every Lease request fails from now on: renewals cannot succeed.
        sim.faults.injectRate(.serviceUnavailable, probability: 1, matching: Faults.Match(pathContains: "/leases"))
        let broken = ContinuousClock.now
        #expect(await Sim.eventually(.seconds(10)) { !solo.manager.leadership.isLeading })
        let lost = ContinuousClock.now
        // The last renew happened at most one retry period before the fault; the deadline is 2 s.
        #expect(lost - broken <= .seconds(2 + 0.5 * 1.2 + 1), "kept leading for \(lost - broken) without a renewal")
        #expect(lost - broken >= .seconds(1), "gave up before the renew deadline: \(lost - broken)")

        // Reconciles in flight (30 ms each) may finish; none may start once leadership is lost.
        try await Task.sleep(for: .seconds(2))
        let startedAfterLoss = intervals.all.filter { $0.start > lost + .milliseconds(50) }
        #expect(startedAfterLoss.isEmpty, "\(startedAfterLoss.count) reconciles started without the lease")

        // The API heals: the instance campaigns again, wins the (expired) lease and resumes work.
        sim.faults.clear()
        #expect(await Sim.eventually(.seconds(10)) { solo.manager.leadership.isLeading })
        let resumed = ContinuousClock.now
        #expect(await Sim.eventually(.seconds(5)) { intervals.all.contains { $0.start > resumed } })
    }

    /// A cluster without the Backstop CRDs: informers keep retrying their 404 lists, yet SIGTERM
    /// still stops the process within the grace period instead of waiting for a sync that never comes.
    @Test func sigtermStopsARunWhoseKindsAreNotServed() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-nocrd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try startOperator("nocrd", sim: sim, dir: dir)
        defer { if run.isRunning { kill(run.pid, SIGKILL) } }
        #expect(await Sim.eventually(.seconds(20)) { holder(sim) == "nocrd" }, "\(run.output.suffix(2000))")
        #expect(await Sim.eventually(.seconds(10)) { run.output.contains("list failed") }, "\(run.output.suffix(2000))")
        let signalled = ContinuousClock.now
        // --grace-period 2: exit well before terminate() escalates to SIGKILL.
        #expect(await run.terminate(grace: .seconds(8)) == 0, "\(run.output.suffix(2000))")
        #expect(ContinuousClock.now - signalled < .seconds(5))
        #expect(holder(sim) == nil, "the Lease was not released")
    }
}
