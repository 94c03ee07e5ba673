import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import Postgres
import TestSupport
import Testing

/// A drill's loose ends: a result the policy never heard of (the operator stopped between the
/// two writes), a scratch database an interrupted run of the same drill left, and a drill
/// deleted half-way, which must still clean up before it goes.
@Suite(.serialized) struct DrillRecoveryTests {
    func drills(_ h: ControllerHarness) -> ResourceClient<DrillRun> { h.client.resource(DrillRun.self, namespace: "team") }

    func completed(_ h: ControllerHarness, _ name: String, within seconds: Int = 120) async throws -> DrillRun {
        _ = try await eventually(.seconds(seconds)) { try await drills(h).get(name).status?.phase == .completed }
        return try await drills(h).get(name)
    }

    /// A drill as the operator leaves it when it stops right after writing Completed: finalizer
    /// still on, the policy not told.
    func completedDrill(_ h: ControllerHarness, _ name: String, policy: String, result: DrillResult, finished: Date) async throws {
        _ = try h.sim.store.create(["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun",
                                    "metadata": ["name": .string(name), "namespace": "team", "finalizers": [.string(DrillRunController.finalizer)]],
                                    "spec": ["policyRef": ["name": .string(policy)], "scratch": ["volume": ["claimName": "scratch"]]]])
        var drill = try await drills(h).get(name)
        var status = DrillRunStatus()
        status.phase = .completed
        status.result = result
        status.startedAt = Time(finished.addingTimeInterval(-20))
        status.finishedAt = Time(finished)
        status.message = result == .passed ? "passed: backup b1 restored and verified" : "List failed: ChecksumMismatch: the artifact is damaged"
        status.measured = DrillMeasurements(rtoSeconds: 7, rpoSeconds: 31)
        drill.status = status
        _ = try await drills(h).updateStatus(drill)
    }

    @Test func aCompletedDrillThePolicyDoesNotShowIsRecordedWithItsWarningAndMetrics() async throws {
        let h = try await ControllerHarness()
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups")))))
        let now = Date()
        // The newest finished drill failed; an older one passed (its late record must not win).
        try await completedDrill(h, "crashed", policy: "files", result: .failed, finished: now.addingTimeInterval(-60))
        try await completedDrill(h, "older", policy: "files", result: .passed, finished: now.addingTimeInterval(-3600))
        #expect(try await h.policy("files").status?.lastDrill == nil)
        h.startController()
        let recorded = try await eventually(.seconds(20)) {
            let p = try await h.policy("files")
            return p.status?.lastDrill?.name == "crashed" && p.status?.lastDrill?.result == .failed
                && p.status?.conditions?.find("LastDrillPassed")?.status == .false
        }
        let policy = try await h.policy("files")
        #expect(recorded, "\(String(describing: policy.status?.lastDrill)) \(String(describing: policy.status?.conditions))")
        #expect(policy.status?.lastDrill?.rpoSeconds == 31 && policy.status?.lastDrill?.rtoSeconds == 7)
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "files").contains { $0.type == "Warning" && $0.reason == "DrillFailed" && $0.message.contains("DrillRun crashed") }
        })
        for name in ["crashed", "older"] {
            #expect(try await eventually(.seconds(10)) { try await drills(h).get(name).metadata.finalizers?.isEmpty ?? true }, "\(name): the finalizer goes")
        }
        _ = try await eventually(.seconds(5)) { try await h.metricsText().contains("backstop_drill_rpo_seconds") }
        let metrics = try await h.metricsText()
        #expect(metrics.contains("backstop_drill_total{namespace=\"team\",policy=\"files\",result=\"failed\"} 1"), "\(metrics)")
        #expect(metrics.contains("backstop_drill_rpo_seconds{namespace=\"team\",policy=\"files\"} 31"), "\(metrics)")
        // Said once: another look at the completed drills writes nothing and warns no more.
        try await h.annotate("files", "test/touch", "1")
        _ = try await drills(h).patch("crashed", .merge(["metadata": ["annotations": ["test/touch": "1"]]]))
        try await Task.sleep(for: .seconds(2))
        #expect(try h.events(of: "files").filter { $0.reason == "DrillFailed" }.count == 1)
        #expect(try await h.policy("files").status?.lastDrill?.name == "crashed")
        await h.stop()
    }

    @Test func aScratchDatabaseThisDrillLeftIsReplacedAndTheDrillPasses() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.create(BackupIntegrationTests.policy("orders", pg: pg, database: database))
        let scratch = "\(database)_left"
        _ = try h.sim.store.create(DrillIntegrationTests.drill("leftover", [
            "policyRef": ["name": "orders"], "scratch": ["postgres": ["database": .string(scratch)]],
            // The leftover's own table is gone from the restored copy: it was dropped, not restored over.
            "verify": ["sql": [["name": "fresh", "query": "SELECT count(*) FROM pg_tables WHERE tablename = 'stale'", "expect": "0"]]],
        ]))
        // As an interrupted run of this very drill leaves it: created and tagged by the restore.
        let uid = try #require(try await drills(h).get("leftover").metadata.uid)
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE DATABASE \(scratch)")
        _ = try await admin.execute("COMMENT ON DATABASE \(scratch) IS 'backstop drill team/leftover \(uid)'")
        let stale = try await RestoreIntegrationTests.connect(pg, scratch)
        _ = try await stale.execute("CREATE TABLE stale (id int)")
        await stale.close()
        h.startController()
        let done = try await completed(h, "leftover", within: 180)
        #expect(done.status?.result == .passed, "\(String(describing: done.status))")
        let validate = done.status?.steps?.first { $0.name == "Validate" }
        #expect(validate?.message?.contains("database \(scratch) is this drill's own, left by an interrupted run") == true, "\(String(describing: validate))")
        #expect(try await DrillIntegrationTests.exists(pg, database: scratch) == false, "dropped again by Cleanup")
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        await admin.close()
        await h.stop()
    }

    @Test func aScratchDirectoryHoldingFilesIsRefusedAtValidateAndLeftAlone() async throws {
        let h = try await ControllerHarness()
        for claim in ["backups", "data", "scratch"] { try h.claim(claim) }
        _ = try await eventually { try h.claimDirectory("data") != nil && h.claimDirectory("scratch") != nil }
        let data = try #require(try h.claimDirectory("data"))
        let scratch = try #require(try h.claimDirectory("scratch"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: "\(data)/a.txt"))
        try FileManager.default.createDirectory(atPath: "\(scratch)/busy", withIntermediateDirectories: true)
        try Data("someone's\n".utf8).write(to: URL(fileURLWithPath: "\(scratch)/busy/notes.txt"))
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "vol")))))
        h.startController()
        _ = try h.sim.store.create(DrillIntegrationTests.drill("busy", ["policyRef": ["name": "files"], "scratch": ["volume": ["claimName": "scratch", "path": "busy"]]]))
        let done = try await completed(h, "busy")
        let validate = done.status?.steps?.first { $0.name == "Validate" }
        #expect(done.status?.result == .failed && validate?.phase == .failed, "\(String(describing: done.status))")
        #expect(validate?.message?.contains("is not empty (1 entries)") == true && validate?.message?.contains("name another spec.scratch path") == true,
                "\(String(describing: validate?.message))")
        #expect(done.status?.marker == nil && !FileManager.default.fileExists(atPath: "\(data)/.backstop-drill"), "no marker written")
        #expect(try h.jobs(of: "files").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue != "backup" }, "no backup taken")
        #expect(try String(contentsOfFile: "\(scratch)/busy/notes.txt", encoding: .utf8) == "someone's\n", "left alone")
        await h.stop()
    }

    @Test func aDrillDeletedAfterItsRestoreRunsCleanupBeforeItsFinalizerGoes() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.create(BackupIntegrationTests.policy("orders", pg: pg, database: database))
        h.startController()
        let scratch = "\(database)_gone"
        _ = try h.sim.store.create(DrillIntegrationTests.drill("deleted", [
            "policyRef": ["name": "orders"], "scratch": ["postgres": ["database": .string(scratch)]],
            "verify": ["sql": [["name": "slow", "query": "SELECT count(*) FROM pg_sleep(30)", "expect": "1"]]],
        ]))
        // Deleted while Verify runs: the marker is in the source, the scratch copy restored.
        #expect(try await eventually(.seconds(120)) { try await drills(h).get("deleted").status?.currentStep == "Verify" })
        #expect(try await DrillIntegrationTests.markers(pg, database) == 1)
        #expect(try await DrillIntegrationTests.exists(pg, database: scratch))
        _ = try await drills(h).delete("deleted")
        let gone = try await eventually(.seconds(90)) {
            do { _ = try await drills(h).get("deleted"); return false } catch let error as KubeError { return error.kind == .notFound }
        }
        #expect(gone, "the finalizer goes once Cleanup has run")
        #expect(try await DrillIntegrationTests.markers(pg, database) == 0, "the marker was removed from the source")
        #expect(try await DrillIntegrationTests.exists(pg, database: scratch) == false, "the scratch database was dropped")
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        await admin.close()
        await h.stop()
    }
}
