import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// Restores that do not succeed — a wrong password, a failing SQL check, a request deleted
/// mid-Quiesce — still resume the writers with the replicas they had, as the store's history records.
@Suite(.serialized) struct RestoreFailureTests {
    typealias R = RestoreIntegrationTests

    /// The orders database backed up once, and a writer of 3 replicas writing to it.
    func backedUpWithWriter(slowToStop: Bool = false) async throws -> (ControllerHarness, TestServices.Postgres, String) {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.create(BackupIntegrationTests.policy("orders", pg: pg, database: database))
        h.startController()
        try await h.annotate("orders", Backstop.runNowAnnotation, "base")
        #expect(try await eventually(.seconds(90)) { try await h.policy("orders").status?.lastBackup?.verified == true })
        _ = try h.sim.store.create(R.writer(pg, database: database, replicas: 3, slowToStop: slowToStop))
        #expect(try await eventually(.seconds(30)) { try await R.count(pg, database) > 505 }, "the writer writes")
        return (h, pg, database)
    }

    /// The table's identity: `pg_restore --clean` drops and recreates it, so a new oid means it was restored over.
    static func tableOID(_ pg: TestServices.Postgres, _ database: String) async throws -> Int64 {
        let db = try await R.connect(pg, database)
        defer { Task { await db.close() } }
        return try await db.query("SELECT 'entries'::regclass::oid::bigint").first.map { try $0[0, as: Int64.self] } ?? -1
    }

    func expectWriterResumed(_ h: ControllerHarness, _ s: RestoreRequestStatus) async throws {
        #expect(s.savedReplicas == ["Deployment/writer": 3])
        #expect(try FenceHistory.replicaChanges(h.sim.store, workload: "writer") == [3, 0, 3], "stopped once, back to its saved 3")
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["status", "readyReplicas"]] == 3
        })
    }

    @Test func aWrongTargetPasswordFailsTheRestoreLeavesTheTargetAndResumesTheWriter() async throws {
        let (h, pg, database) = try await backedUpWithWriter()
        let wrong = "not-the-password-7f3k"
        try h.secret("wrong-creds", ["password": wrong])
        let oid = try await Self.tableOID(pg, database)
        let rowsBefore = try await R.rows(pg, database)
        _ = try h.sim.store.create(R.restore("wrong-password", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true,
            "target": ["postgres": ["passwordSecretRef": ["name": "wrong-creds", "key": "password"]]],
            "quiesce": [["kind": "Deployment", "name": "writer"]],
        ]))
        let done = try await R().finished(h, "wrong-password", within: 120)
        let s = try #require(done.status)
        #expect(s.phase == .failed, "\(String(describing: s))")
        #expect(s.steps?.map(\.phase) == [.succeeded, .succeeded, .succeeded, .failed, .skipped, .succeeded], "\(String(describing: s.steps))")
        #expect(s.conditions?.first { $0.type == "Failed" }?.reason == "RestoreFailed")
        #expect(s.message?.contains("password authentication failed") == true, "the reason: \(s.message ?? "")")
        let said = [s.message ?? ""] + (s.steps ?? []).compactMap(\.message) + (try h.events(of: "wrong-password")).map(\.message)
        #expect(!said.contains { $0.contains(wrong) }, "the password is never shown")
        // Untouched: the same table, every row it had still there.
        #expect(try await Self.tableOID(pg, database) == oid, "the table was not dropped and recreated")
        #expect(Set(rowsBefore).isSubset(of: Set(try await R.rows(pg, database))))
        try await expectWriterResumed(h, s)
        await h.stop()
    }

    @Test func aFailingSQLCheckAtVerifyFailsTheRestoreAndResumesTheWriter() async throws {
        let (h, _, _) = try await backedUpWithWriter()
        _ = try h.sim.store.create(R.restore("bad-check", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true,
            "quiesce": [["kind": "Deployment", "name": "writer"]],
            "verify": ["sql": [["name": "orders-total", "query": "SELECT count(*) FROM entries", "expect": "499"]]],
        ]))
        let done = try await R().finished(h, "bad-check", within: 120)
        let s = try #require(done.status)
        #expect(s.phase == .failed, "\(String(describing: s))")
        #expect(s.steps?.map(\.phase) == [.succeeded, .succeeded, .succeeded, .succeeded, .failed, .succeeded], "\(String(describing: s.steps))")
        #expect(s.conditions?.first { $0.type == "Failed" }?.reason == "VerifyFailed")
        #expect(s.message?.contains("orders-total") == true && s.message?.contains("500") == true, "names the check and what it got: \(s.message ?? "")")
        try await expectWriterResumed(h, s)
        await h.stop()
    }

    @Test func aRequestDeletedMidQuiesceStaysUntilTheWriterIsBackThenGoes() async throws {
        // The writer ignores SIGTERM, so Quiesce waits out its 4 s grace period: time to delete the request mid-step.
        let (h, pg, database) = try await backedUpWithWriter(slowToStop: true)
        let oid = try await Self.tableOID(pg, database)
        let api = h.client.resource(RestoreRequest.self, namespace: "team")
        _ = try h.sim.store.create(R.restore("leaving", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true,
            "quiesce": [["kind": "Deployment", "name": "writer"]],
        ]))
        #expect(try await eventually(.seconds(60)) {
            let s = try await api.get("leaving").status
            return s?.currentStep == "Quiesce" && s?.savedReplicas == ["Deployment/writer": 3]
        }, "the request is quiescing")
        _ = try await api.delete("leaving")
        #expect(try await eventually(.seconds(60)) {
            (try? h.sim.store.get("backstop.dev/v1alpha1", "RestoreRequest", namespace: "team", name: "leaving")) == nil
        }, "the request goes once the writer is back")
        // From the store's history: deletion asked, then the writer scaled back and ready, then the request gone.
        let requestEvents = try h.sim.store.history("backstop.dev/v1alpha1", "RestoreRequest", namespace: "team", name: "leaving")
        let deleting = try #require(requestEvents.first { $0.object[path: ["metadata", "deletionTimestamp"]] != nil }).resourceVersion
        let gone = try #require(requestEvents.first { $0.type == .deleted }).resourceVersion
        let writerEvents = try h.sim.store.history("apps/v1", "Deployment", namespace: "team", name: "writer")
        let scaledBack = try #require(writerEvents.first { $0.resourceVersion > deleting && $0.object[path: ["spec", "replicas"]] == 3 }).resourceVersion
        let ready = try #require(writerEvents.first { $0.resourceVersion > scaledBack && $0.object[path: ["status", "readyReplicas"]] == 3 }).resourceVersion
        #expect(deleting < scaledBack && scaledBack < ready && ready < gone, "deleting \(deleting), scaled back \(scaledBack), ready \(ready), gone \(gone)")
        #expect(try FenceHistory.replicaChanges(h.sim.store, workload: "writer") == [3, 0, 3])
        let last = try #require(requestEvents.last { $0.type != .deleted }?.object)
        let steps = (last[path: ["status", "steps"]]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? ""):\($0["phase"]?.stringValue ?? "")" }
        #expect(steps.contains("Resume:Succeeded") && steps.contains("Restore:Skipped"), "\(steps)")
        let jobs = try h.sim.store.list("batch/v1", "Job", namespace: "team", labelSelector: "backstop.dev/restore=leaving")
        #expect(!jobs.contains { $0[path: ["metadata", "labels", BackstopLabels.operation]]?.stringValue == "restore" }, "no restore Job was started")
        #expect(try await Self.tableOID(pg, database) == oid, "the database was not restored over")
        await h.stop()
    }
}
