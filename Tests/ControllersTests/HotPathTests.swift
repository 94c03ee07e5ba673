import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import TestSupport
import Testing

/// The control plane's hot path, asserted from KubeSim's request log: a restart over current
/// statuses costs no write, Event or Secret read; a run-now creates its Job before any other
/// request of its reconcile; a Secret found missing after that create stops the new Job.
@Suite(.serialized) struct HotPathTests {
    /// A cataloged policy (artifact status present: no catalog Job is due) due once a year.
    static func settledPolicy(_ h: ControllerHarness, _ name: String, pg: TestServices.Postgres) throws {
        try h.create(BackupIntegrationTests.policy(name, pg: pg, database: "postgres", schedule: "0 3 1 1 *"))
        var stored = try h.sim.store.get(Backstop.apiVersion, "BackupPolicy", namespace: "team", name: name)
        stored["status"] = ["artifacts": ["count": 0, "totalBytes": 0]]
        _ = try h.sim.store.updateStatus(stored)
    }

    static func reconciles(_ h: ControllerHarness) async throws -> Double {
        (try await h.metricsText()).split(separator: "\n").reduce(0) { sum, line in
            guard line.hasPrefix("backstop_reconcile_total{"), line.contains("controller=\"backuppolicy\""),
                  let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { return sum }
            return sum + value
        }
    }

    static func isReady(_ h: ControllerHarness, _ name: String) async throws -> Bool {
        try await h.policy(name).status?.conditions?.find("Ready")?.status == .true
    }

    @Test func aRestartOverCurrentStatusesWritesNoStatusSendsNoEventAndReadsNoSecret() async throws {
        let pg = try TestServices.postgres()
        let h = try await ControllerHarness(operator: .inProcess)
        try h.secret("db-creds", ["password": pg.password])
        let names = (0..<12).map { "restart-\($0)" }
        for name in names { try Self.settledPolicy(h, name, pg: pg) }
        h.startController()
        #expect(try await eventually {
            for name in names where try await !Self.isReady(h, name) { return false }
            return true
        })
        try await Task.sleep(for: .seconds(1))
        await h.stopController()

        h.sim.requestLog.clear()
        let before = try await Self.reconciles(h)
        h.startController()
        #expect(try await eventually(.seconds(30)) { try await Self.reconciles(h) >= before + Double(names.count) })
        try await Task.sleep(for: .seconds(1))
        let sent = h.sim.requestLog.entries.map { "\($0.method) \($0.path)" }
        #expect(!sent.contains { $0.hasSuffix("/status") }, "status written on restart: \(sent)")
        #expect(!sent.contains { $0.contains("/events") && !$0.hasPrefix("GET") }, "Event sent on restart: \(sent)")
        #expect(!sent.contains { $0.contains("/secrets") }, "Secret read on restart: \(sent)")
        #expect(!sent.contains { $0.contains("/jobs") && !$0.hasPrefix("GET") }, "Job written on restart: \(sent)")
        await h.stop()
    }

    @Test func runNowCreatesTheJobBeforeItReadsSecretsOrWritesStatus() async throws {
        let pg = try TestServices.postgres()
        let h = try await ControllerHarness(operator: .inProcess)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try Self.settledPolicy(h, "now", pg: pg)
        h.startController()
        #expect(try await eventually { try await Self.isReady(h, "now") })
        try await Task.sleep(for: .milliseconds(500))
        h.sim.requestLog.clear()
        // Straight into the store: the log then holds only the operator's requests.
        _ = try h.sim.store.mergePatch(Backstop.apiVersion, "BackupPolicy", namespace: "team", name: "now",
                                       patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: "hot"]]])
        #expect(try await eventually(.seconds(20)) { try await h.policy("now").status?.lastManualRun?.value == "hot" })
        // Not watches, and not this test's own GETs of the policy.
        let sent = h.sim.requestLog.entries.filter { $0.query["watch"] != "true" && $0.query["watch"] != "1" }
            .map { "\($0.method) \($0.path)" }.filter { !($0.hasPrefix("GET") && $0.contains("/backuppolicies/")) }
        let create = try #require(sent.firstIndex { $0.hasPrefix("POST") && $0.hasSuffix("/jobs") }, "\(sent)")
        let secretRead = try #require(sent.firstIndex { $0.hasPrefix("GET") && $0.contains("/secrets/") }, "\(sent)")
        let statusWrite = try #require(sent.firstIndex { $0.hasPrefix("PUT") && $0.hasSuffix("/status") }, "\(sent)")
        #expect(create == 0, "the Job create is the reconcile's first request: \(sent)")
        #expect(create < secretRead && secretRead < statusWrite, "\(sent)")
        #expect(try h.jobs(of: "now").count == 1)
        await h.stop()
    }

    @Test func aSecretFoundMissingAfterTheJobStartedStopsThatJob() async throws {
        let pg = try TestServices.postgres()
        let h = try await ControllerHarness(operator: .inProcess)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try Self.settledPolicy(h, "gone", pg: pg)
        h.startController()
        #expect(try await eventually { try await Self.isReady(h, "gone") })
        _ = try h.sim.store.delete("v1", "Secret", namespace: "team", name: "db-creds")
        try await h.annotate("gone", Backstop.runNowAnnotation, "without-secret")
        #expect(try await eventually(.seconds(20)) {
            try await h.policy("gone").status?.conditions?.find("Ready")?.reason == "SecretMissing"
        })
        #expect(try await eventually(.seconds(20)) { try h.jobs(of: "gone").isEmpty }, "the Job started ahead of the Secret read is deleted")
        #expect(try await h.policy("gone").status?.lastManualRun?.value != "without-secret")
        await h.stop()
    }
}
