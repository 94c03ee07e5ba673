import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Synchronization
import Testing

/// The tiny test controller: copies `data.v` of a ConfigMap into the annotation `seen`.
func markSeen(_ client: KubeClient, _ informer: Informer<ConfigMap>) -> ReconcileFunction {
    { key, _ in
        guard let cm = informer.cache.get(key) else { return .done }
        let v = cm.data?["v"] ?? ""
        if cm.metadata.annotations?["seen"] == v { return .done }
        _ = try await client.resource(ConfigMap.self, namespace: key.namespace)
            .patch(key.name, .merge(["metadata": ["annotations": ["seen": .string(v)]]]))
        return .done
    }
}

@Suite(.serialized) struct ControllerTests {
    /// A kind read only from the cache (`reads`) holds the workers back until its first list:
    /// a slow list must not read as "the object is gone" (the chaos run found a restore failed so).
    @Test func workersWaitForTheFirstListOfAKindTheyOnlyRead() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("primary", data: ["v": "1"])))
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "needed", "namespace": "default"]])
        sim.faults.addLatency(1.5, matching: Faults.Match(method: "GET", pathContains: "/secrets", watch: false))
        let client = try Sim.client(sim, qps: 100, burst: 50)
        let primary = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let secrets = Informer<Secret>(client: client, namespaces: ["default"])
        let sawSecret = Mutex<[Bool]>([])
        let controller = Controller(name: "reads", workers: 1, logger: Logger(label: "t")) { _, _ in
            sawSecret.withLock { $0.append(secrets.cache.get(ObjectKey(namespace: "default", name: "needed")) != nil) }
            return .done
        }
        controller.watches(primary)
        controller.reads(secrets)
        let run = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { try await primary.run() }
                g.addTask { try await secrets.run() }
                g.addTask { try await controller.run() }
            }
        }
        defer { run.cancel() }
        #expect(await Sim.eventually(.seconds(10)) { !sawSecret.withLock { $0 }.isEmpty })
        #expect(sawSecret.withLock { $0 }.allSatisfy { $0 }, "a reconcile ran before the Secret cache was listed")
    }

    @Test func fiveHundredObjectsConvergeUnderFaultsWithinTheQPSBudget() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        for i in 0..<500 { _ = try sim.store.create(JSONValue.encode(Sim.configMap("obj-\(i)", data: ["v": "\(i)"]))) }
        let qps = 100.0, burst = 50
        let client = try Sim.client(sim, qps: qps, burst: burst)
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let controller = Controller(name: "converge", workers: 4, logger: Logger(label: "t"),
                                    reconcile: markSeen(client, informer))
        controller.watches(informer)
        sim.requestLog.clear()
        sim.faults.injectRate(.internalError, probability: 0.10)
        sim.faults.injectRate(.tooManyRequests(retryAfter: 1), probability: 0.05)
        sim.faults.injectRate(.conflict, probability: 0.01)
        let dropper = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                sim.faults.dropAllWatches()
            }
        }
        let run = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { try await informer.run() }
                g.addTask { try await controller.run() }
            }
        }
        defer { run.cancel(); dropper.cancel() }
        let converged = await Sim.eventually(.seconds(90)) {
            let items = (try? sim.store.list("v1", "ConfigMap", namespace: "default")) ?? []
            let seen = items.filter { $0["metadata"]?["annotations"]?["seen"] == $0["data"]?["v"] }
            return seen.count == 500
        }
        #expect(converged)
        sim.faults.clear()

        // Every window of the request log stays within burst + qps × window (small slack for
        // the spread between sending and answering).
        let times = sim.requestLog.entries.map { $0.time.timeIntervalSinceReferenceDate }.sorted()
        #expect(times.count > 500)
        for window in [1.0, 3.0] {
            var lo = 0
            var worst = 0
            for hi in times.indices {
                while times[hi] - times[lo] > window { lo += 1 }
                worst = max(worst, hi - lo + 1)
            }
            let budget = Double(burst) + qps * window
            #expect(Double(worst) <= budget * 1.1 + 2, "window \(window)s: \(worst) requests > budget \(budget)")
        }
        #expect(sim.requestLog.entries.contains { $0.status == 429 } && sim.requestLog.entries.contains { $0.status == 500 })
    }

    @Test func terminalErrorsAreNotRetriedAndErrorsBackOff() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("terminal")))
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("flaky")))
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("later")))
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let log = ReconcileLog()
        let controller = Controller(name: "results", workers: 2, logger: Logger(label: "t")) { key, ctx in
            log.hit(key)
            switch key.name {
            case "terminal": throw TerminalError("spec is wrong")
            case "flaky": if ctx.failures < 3 { throw CancellationErrorStandIn() }; return .done
            default: return log.counts[key, default: 0] < 3 ? .requeue(after: .milliseconds(50)) : .done
            }
        }
        controller.watches(informer)
        let run = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { try await informer.run() }
                g.addTask { try await controller.run() }
            }
        }
        defer { run.cancel() }
        #expect(await Sim.eventually { log.counts[ObjectKey(namespace: "default", name: "flaky")] == 4 })
        #expect(await Sim.eventually { log.counts[ObjectKey(namespace: "default", name: "later")] == 3 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(log.counts[ObjectKey(namespace: "default", name: "terminal")] == 1)
        #expect(log.counts[ObjectKey(namespace: "default", name: "flaky")] == 4)
        #expect(log.counts[ObjectKey(namespace: "default", name: "later")] == 3)
    }
}

struct CancellationErrorStandIn: Error {}

/// `watches(_:where:)`: the objects the predicate refuses cost the controller no reconcile,
/// neither when they change nor when it starts; a change into or out of relevance still counts.
@Suite(.serialized) struct FilteredWatchTests {
    @Test func onlyRelevantObjectsAreReconciled() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("wanted", data: ["drill": "yes"])))
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("other", data: ["v": "1"])))
        let client = try Sim.client(sim, qps: 100, burst: 50)
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let reconciled = Mutex<[String]>([])
        let controller = Controller(name: "filtered", workers: 1, logger: Logger(label: "t")) { key, _ in
            reconciled.withLock { $0.append(key.name) }
            return .done
        }
        controller.watches(informer, where: { $0.data?["drill"] != nil })
        let run = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { try await informer.run() }
                g.addTask { try await controller.run() }
            }
        }
        defer { run.cancel() }
        #expect(await Sim.eventually(.seconds(10)) { reconciled.withLock { $0 } == ["wanted"] })
        let configMaps = client.resource(ConfigMap.self, namespace: "default")
        _ = try await configMaps.patch("other", .merge(["data": ["v": "2"]]))
        // Losing relevance is a change the controller sees (to clean up).
        _ = try await configMaps.patch("wanted", .merge(["data": ["drill": nil]]))
        #expect(await Sim.eventually(.seconds(10)) { reconciled.withLock { $0 }.count == 2 })
        _ = try await configMaps.patch("other", .merge(["data": ["drill": "now"]]))
        #expect(await Sim.eventually(.seconds(10)) { reconciled.withLock { $0 }.count == 3 })
        #expect(reconciled.withLock { $0 } == ["wanted", "wanted", "other"])
    }
}
