import DynamicJSON
import Foundation
import HTTP
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Metrics
import Prometheus
import Synchronization
import Testing

@Suite(.serialized) struct EventAndHealthTests {
    @Test func repeatedEventsAreAggregated() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        let cm = try await client.resource(ConfigMap.self, namespace: "default").create(Sim.configMap("ev"))
        let recorder = EventRecorder(client: client, instance: "test-1")
        let run = Task { try await recorder.run() }
        defer { run.cancel() }
        for _ in 0..<3 { recorder.record(cm, type: .warning, reason: "BackupFailed", message: "pg_dump exited 1") }
        recorder.record(cm, reason: "BackupSucceeded", message: "done")
        let events = client.resource(Event.self, namespace: "default")
        #expect(await Sim.eventually {
            let list = (try? await events.list())?.items ?? []
            return list.count == 2 && list.contains { $0.reason == "BackupFailed" && $0.count == 3 }
        })
        let failed = try #require(try await events.list().items.first { $0.reason == "BackupFailed" })
        #expect(failed.involvedObject.uid == cm.metadata.uid && failed.involvedObject.kind == "ConfigMap")
        #expect(failed.type == "Warning" && failed.source?.component == "backstop")
        #expect(failed.firstTimestamp != nil && failed.lastTimestamp != nil)
    }

    @Test func healthReadinessAndMetricsEndpoints() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let ready = Locked(false)
        let server = HealthServer(host: "127.0.0.1", port: 0, registry: registry, logger: Logger(label: "t")) {
            ready.withLock { $0 }
        }
        let run = Task { try await server.run() }
        defer { run.cancel() }
        let port = await server.boundPort()
        let queue = WorkQueue<String>(WorkQueue.Options(name: "metrics-test"), metricsFactory: factory)
        queue.add("a")
        let leadership = Leadership()
        leadership.exportMetric(factory: factory)
        let http = HTTPClient()
        func get(_ path: String) async throws -> (Int, String) {
            let (head, body) = try await http.data(HTTPRequest(url: "http://127.0.0.1:\(port)\(path)"))
            return (head.status, String(decoding: body, as: UTF8.self))
        }
        #expect(try await get("/healthz").0 == 200)
        #expect(try await get("/readyz").0 == 503)
        ready.withLock { $0 = true }
        #expect(try await get("/readyz").0 == 200)
        let (status, text) = try await get("/metrics")
        #expect(status == 200)
        #expect(text.contains("backstop_workqueue_adds_total{name=\"metrics-test\"} 1"))
        #expect(text.contains("backstop_leader_is_leader 0"), "\(text)")
        leadership.set(.leading)
        #expect(try await get("/metrics").1.contains("backstop_leader_is_leader 1"))
        leadership.set(.following(holder: "other"))
        #expect(try await get("/metrics").1.contains("backstop_leader_is_leader 0"))
        #expect(try await get("/nope").0 == 404)
    }
}
