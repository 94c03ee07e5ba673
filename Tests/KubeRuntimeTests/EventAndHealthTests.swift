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
        let gauges = ObjectGauges()
        let server = HealthServer(host: "127.0.0.1", port: 0, registry: registry, objectGauges: gauges, logger: Logger(label: "t")) {
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
        // Per-object gauges follow the registry's text; a removed object's series are gone.
        gauges.set("backstop_backup_artifacts", labels: [("namespace", "team"), ("policy", "orders")], to: 3)
        let served = try await get("/metrics").1
        #expect(served.contains("# TYPE backstop_backup_artifacts gauge\nbackstop_backup_artifacts{namespace=\"team\",policy=\"orders\"} 3.0\n"), "\(served)")
        #expect(served.contains("backstop_leader_is_leader 0"))
        gauges.remove(labels: [("namespace", "team"), ("policy", "orders")])
        #expect(!(try await get("/metrics").1.contains("backstop_backup_artifacts")))
    }

    @Test func objectGaugesRenderEscapeAndForgetAcrossFamilies() {
        let gauges = ObjectGauges()
        let a = [("namespace", "team"), ("policy", "a")], b = [("namespace", "team"), ("policy", "b")]
        gauges.set("x_seconds", labels: a, to: 1.5)
        gauges.set("x_seconds", labels: b, to: 2)
        gauges.set("y_total", labels: a, to: 7)
        gauges.set("x_seconds", labels: a, to: 4)  // a set replaces, never adds a second series
        gauges.set("z", labels: [("policy", "q\"uote\\back\nline")], to: 0)
        var buffer: [UInt8] = []
        gauges.emit(into: &buffer)
        let lines = String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("# TYPE") } == ["# TYPE x_seconds gauge", "# TYPE y_total gauge", "# TYPE z gauge"])
        #expect(Set(lines.filter { !$0.hasPrefix("#") }) == [
            "x_seconds{namespace=\"team\",policy=\"a\"} 4.0", "x_seconds{namespace=\"team\",policy=\"b\"} 2.0",
            "y_total{namespace=\"team\",policy=\"a\"} 7.0", "z{policy=\"q\\\"uote\\\\back\\nline\"} 0.0",
        ])
        gauges.remove(labels: a)
        #expect(gauges.value("x_seconds", labels: a) == nil && gauges.value("y_total", labels: a) == nil)
        #expect(gauges.value("x_seconds", labels: b) == 2)
        buffer = []
        gauges.emit(into: &buffer)
        #expect(!String(decoding: buffer, as: UTF8.self).contains("y_total"), "an emptied family has no TYPE line")
    }
}
