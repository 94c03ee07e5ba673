import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Synchronization
import Testing

/// Reconcile counts per key, and the resourceVersion each reconcile saw in the cache.
final class ReconcileLog: Sendable {
    private let state = Mutex<[ObjectKey: Int]>([:])
    func hit(_ key: ObjectKey) { state.withLock { $0[key, default: 0] += 1 } }
    var counts: [ObjectKey: Int] { state.withLock { $0 } }
    func reset() { state.withLock { $0 = [:] } }
}

@Suite(.serialized) struct InformerTests {
    @Test func watchResumesFromLastVersionAfterDrop() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        for i in 0..<3 { _ = try sim.store.create(JSONValue.encode(Sim.configMap("w\(i)"))) }
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let events = Locked<[String]>([])
        informer.addHandler { e in
            switch e {
            case .added(let o): events.withLock { $0.append("add \(o.name)") }
            case .updated(_, let o): events.withLock { $0.append("update \(o.name)") }
            case .deleted(let o): events.withLock { $0.append("delete \(o.name)") }
            case .undecodable: break
            }
        }
        let run = Task { try await informer.run() }
        defer { run.cancel() }
        await informer.waitUntilSynced()
        #expect(informer.cache.count == 3)

        // The informer reports synced after its list; drop the watch only once it is open.
        let watchOpened = await Sim.eventually {
            sim.requestLog.entries.contains { $0.path.hasSuffix("/configmaps") && $0.query["watch"] == "true" }
        }
        #expect(watchOpened)
        try await Task.sleep(for: .milliseconds(200))
        sim.faults.dropAllWatches()
        _ = try sim.store.create(JSONValue.encode(Sim.configMap("w3")))
        #expect(await Sim.eventually { informer.cache.get(namespace: "default", name: "w3") != nil })
        _ = try await client.resource(ConfigMap.self, namespace: "default").patch("w0", .merge(["data": ["k": "v"]]))
        #expect(await Sim.eventually { informer.cache.get(namespace: "default", name: "w0")?.data?["k"] == "v" })

        let log = sim.requestLog.entries.filter { $0.path.hasSuffix("/configmaps") && $0.method == "GET" }
        let lists = log.filter { $0.query["watch"] == nil }
        let watches = log.filter { $0.query["watch"] == "true" }
        #expect(lists.count == 1, "a dropped watch resumes without a relist")
        #expect(watches.count >= 2)
        #expect(watches.allSatisfy { !($0.query["resourceVersion"] ?? "").isEmpty })
        #expect(events.withLock { $0 }.filter { $0 == "add w3" }.count == 1)
        #expect(events.withLock { $0 }.filter { $0.hasPrefix("add w0") }.count == 1, "no duplicate add after resume")
    }

    @Test func goneForcesRelistWithoutMissedOrDuplicatedReconciles() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        for i in 0..<20 { _ = try sim.store.create(JSONValue.encode(Sim.configMap("g\(i)", data: ["v": "0"]))) }
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let reconciled = ReconcileLog()
        let controller = Controller(name: "gone-test", workers: 2, logger: Logger(label: "t")) { key, _ in
            reconciled.hit(key)
            return .done
        }
        controller.watches(informer)
        let run = Task {
            await withThrowingTaskGroup(of: Void.self) { g in
                g.addTask { try await informer.run() }
                g.addTask { try await controller.run() }
            }
        }
        defer { run.cancel() }
        #expect(await Sim.eventually { reconciled.counts.count == 20 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(reconciled.counts.values.allSatisfy { $0 == 1 })
        reconciled.reset()

        // Keep the watch down while objects change, then expire the history: the reflector
        // must relist and report exactly the changes.
        sim.faults.inject(.serviceUnavailable, count: 3, matching: .init(watch: true))
        sim.faults.dropAllWatches()
        let cms = client.resource(ConfigMap.self, namespace: "default")
        for i in 0..<5 { _ = try await cms.patch("g\(i)", .merge(["data": ["v": "1"]])) }
        try await cms.delete("g19")
        _ = try await cms.create(Sim.configMap("g-new"))
        sim.faults.compactHistory()

        #expect(await Sim.eventually { reconciled.counts.count == 7 })
        try await Task.sleep(for: .milliseconds(500))
        let counts = reconciled.counts
        var expected: [ObjectKey: Int] = [:]
        for name in ["g0", "g1", "g2", "g3", "g4", "g19", "g-new"] { expected[ObjectKey(namespace: "default", name: name)] = 1 }
        #expect(counts == expected)
        #expect(informer.cache.count == 20)
        #expect(informer.cache.get(namespace: "default", name: "g19") == nil)
        let lists = sim.requestLog.entries.filter { $0.path.hasSuffix("/configmaps") && $0.method == "GET" && $0.query["watch"] == nil }
        #expect(lists.count == 2, "one initial list and one relist after 410")
        #expect(sim.requestLog.entries.contains { $0.status == 410 } || lists.count == 2)
    }

    @Test func undecodableObjectIsLoggedOnceAndSkipped() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let logs = CapturedLogs()
        let client = try Sim.client(sim, logger: logs.logger(level: .info))
        // A Secret whose `type` field holds a number cannot decode into Secret (type is a String).
        _ = try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "good", "namespace": "default"]])
        let informer = Informer<StrictConfigMap>(client: client, namespaces: ["default"])
        let run = Task { try await informer.run() }
        defer { run.cancel() }
        await informer.waitUntilSynced()
        _ = try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": ["name": "bad", "namespace": "default"], "data": ["mode": "weird"]])
        _ = try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "later", "namespace": "default"]])
        #expect(await Sim.eventually { informer.cache.get(namespace: "default", name: "later") != nil })
        #expect(informer.cache.get(namespace: "default", name: "good") != nil)
        #expect(informer.cache.undecodable(ObjectKey(namespace: "default", name: "bad")) != nil)
        // A relist meets the same bad object again: still one log line.
        sim.faults.compactHistory()
        sim.faults.dropAllWatches()
        try await Task.sleep(for: .seconds(1))
        let lines = logs.all.filter { $0.contains("does not decode") }
        #expect(lines.count == 1)
        #expect(lines.first?.contains("default/bad") == true)
    }

    @Test func theCacheKeepsNoManagedFields() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        let api = client.resource(ConfigMap.self, namespace: "default")
        _ = try await api.create(Sim.configMap("mf"))
        func serverManagedFields() throws -> Int {
            try sim.store.get("v1", "ConfigMap", namespace: "default", name: "mf")["metadata"]?["managedFields"]?.arrayValue?.count ?? 0
        }
        #expect(try serverManagedFields() > 0, "the server records managedFields")
        let informer = Informer<ConfigMap>(client: client, namespaces: ["default"])
        let run = Task { try await informer.run() }
        defer { run.cancel() }
        await informer.waitUntilSynced()
        #expect(informer.cache.get(namespace: "default", name: "mf")?.metadata.managedFields == nil)
        // Watch events are trimmed too; an update from the cached copy keeps the server's entries.
        _ = try await api.patch("mf", .merge(["data": ["k": "v"]]))
        #expect(await Sim.eventually { informer.cache.get(namespace: "default", name: "mf")?.data?["k"] == "v" })
        let cached = try #require(informer.cache.get(namespace: "default", name: "mf"))
        #expect(cached.metadata.managedFields == nil)
        var changed = cached
        changed.data?["k"] = "w"
        let updated = try await api.update(changed)
        #expect(updated.metadata.managedFields == nil, "decoded objects carry none")
        #expect(try serverManagedFields() > 0, "an update without them keeps the server's entries")
    }

    @Test func cachedPodsKeepMetadataAndStatusButNoSpec() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        try sim.store.create(["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p", "namespace": "default", "labels": ["a": "b"]],
                              "spec": ["containers": [["name": "c", "image": "busybox", "env": [["name": "BIG", "value": .string(String(repeating: "x", count: 4096))]]]]]])
        let informer = Informer<Pod>(client: client, namespaces: ["default"])
        let run = Task { try await informer.run() }
        defer { run.cancel() }
        await informer.waitUntilSynced()
        let cached = try #require(informer.cache.get(namespace: "default", name: "p"))
        #expect(cached.spec == nil && cached.metadata.labels?["a"] == "b" && cached.status?.phase == "Pending")
        let live = try await client.resource(Pod.self, namespace: "default").get("p")
        #expect(live.spec?.containers.first?.name == "c", "the API object itself is whole")
    }
}

/// A ConfigMap whose `data.mode` must be a known value: stands in for a newer server's enum.
struct StrictConfigMap: KubeResource {
    static let resourceType = ConfigMap.resourceType
    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta
    var data: Data?
    struct Data: Codable, Sendable {
        enum Mode: String, Codable, Sendable { case fast, slow }
        var mode: Mode?
    }
}
