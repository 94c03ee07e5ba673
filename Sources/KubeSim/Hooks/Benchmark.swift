import DynamicJSON
import Foundation
import Synchronization

/// Throughput of the simulator's API layer, measured in-process (request parsing, the full write
/// pipeline, JSON serialisation and watch encoding; no sockets), so operator benchmarks can tell
/// whether the simulator would be their bottleneck.
public enum KubeSimBenchmark {
    public struct Report: Sendable, CustomStringConvertible {
        public var creates: Int
        public var createsPerSecond: Double
        public var listObjects: Int
        public var listSeconds: Double
        public var listBytes: Int
        /// Of `listSeconds`: reading and filtering the store (the rest is JSON serialisation).
        public var listStoreSeconds: Double
        public var watchers: Int
        public var watchEvents: Int
        /// Events delivered and encoded per second, summed over all watchers.
        public var watchEventsPerSecond: Double

        public var description: String {
            String(format: "kube-sim creates: %d in-process POSTs, %.0f creates/s\n", creates, createsPerSecond)
                + String(format: "kube-sim list: %d ConfigMaps in %.1f ms (%d KiB JSON; store read %.1f ms, rest serialisation)\n",
                         listObjects, listSeconds * 1000, listBytes / 1024, listStoreSeconds * 1000)
                + String(format: "kube-sim watch fan-out: %d watchers x %d events, %.0f events/s delivered\n",
                         watchers, watchEvents / max(watchers, 1), watchEventsPerSecond)
        }
    }

    public static func run(creates: Int = 2000, listObjects: Int = 10_000, watchers: Int = 50, watchEvents: Int = 1000) async throws -> Report {
        var options = KubeSimOptions()
        options.tls = false
        options.anonymousUser = UserInfo.admin
        options.controllers = KubeSimOptions.Controllers()
        options.controllers.garbageCollector = false
        options.controllers.namespaces = false
        options.watchHistory = max(10_000, watchEvents * 2)
        let sim = try await KubeSim.start(options)
        defer { Task { await sim.shutdown() } }
        let api = sim.api

        // Creates through the API layer (JSON body → pipeline → 201 JSON).
        var start = Date()
        for i in 0..<creates {
            let body = JSONValue.object(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("c\(i)")],
                                         "data": ["k": .string(String(repeating: "v", count: 64))]]).serialized()
            let req = APIRequest(method: "POST", uri: "/api/v1/namespaces/default/configmaps", headers: [("Content-Type", "application/json")], body: body)
            guard case .data(201, _, _, _) = api.handle(req).0 else { throw KubeAPIError.internalError("create failed") }
        }
        let createSeconds = Date().timeIntervalSince(start)

        // A 10k-object list.
        for i in creates..<listObjects {
            try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("c\(i)"), "namespace": "default"],
                                  "data": ["k": .string(String(repeating: "v", count: 64))]])
        }
        start = Date()
        let (listResponse, _) = api.handle(APIRequest(method: "GET", uri: "/api/v1/namespaces/default/configmaps", headers: [], body: []))
        let listSeconds = Date().timeIntervalSince(start)
        guard case .data(200, _, _, let bytes) = listResponse else { throw KubeAPIError.internalError("list failed") }
        start = Date()
        _ = try sim.store.list("v1", "ConfigMap", namespace: "default")
        let listStoreSeconds = Date().timeIntervalSince(start)

        // Watch fan-out: each watcher encodes every event on its own queue, as an HTTP watch does.
        let received = Atomic<Int>(0)
        let total = watchers * watchEvents
        let done = AsyncStream<Void>.makeStream()
        guard case .watch(let plan) = api.handle(APIRequest(method: "GET", uri: "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(sim.store.resourceVersion)",
                                                            headers: [], body: [])).0 else { throw KubeAPIError.internalError("watch failed") }
        var ids: [Int] = []
        for w in 0..<watchers {
            let queue = DispatchQueue(label: "bench-watch-\(w)")
            if case .success(let r) = plan.register(deliver: { event in
                queue.async {
                    _ = plan.encode(event, first: false)
                    if received.wrappingAdd(1, ordering: .relaxed).newValue == total { done.continuation.yield() }
                }
            }, terminate: {}) { ids.append(r.id) }
        }
        start = Date()
        for i in 0..<watchEvents {
            try sim.store.mergePatch("v1", "ConfigMap", name: "c\(i % listObjects)", patch: ["data": ["n": .string(String(i))]])
        }
        for await _ in done.stream { break }
        let watchSeconds = Date().timeIntervalSince(start)
        for id in ids { sim.store.unsubscribe(id) }
        return Report(creates: creates, createsPerSecond: Double(creates) / createSeconds, listObjects: listObjects,
                      listSeconds: listSeconds, listBytes: bytes.count, listStoreSeconds: listStoreSeconds, watchers: watchers, watchEvents: total,
                      watchEventsPerSecond: Double(total) / watchSeconds)
    }
}
