import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// The DrillRun controller on an in-process KubeSim whose Jobs run the real agent against the
/// real PostgreSQL and real claim directories.
@Suite(.serialized) struct DrillIntegrationTests {
    static func drill(_ name: String, _ spec: JSONValue) -> JSONValue {
        ["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun", "metadata": ["name": .string(name), "namespace": "team"], "spec": spec]
    }

    func drill(_ h: ControllerHarness, _ name: String) async throws -> DrillRun {
        try await h.client.resource(DrillRun.self, namespace: "team").get(name)
    }

    func completed(_ h: ControllerHarness, _ name: String, within seconds: Int = 120) async throws -> DrillRun {
        _ = try await eventually(.seconds(seconds)) { try await drill(h, name).status?.phase == .completed }
        return try await drill(h, name)
    }

    static func exists(_ pg: TestServices.Postgres, database: String) async throws -> Bool {
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        defer { Task { await admin.close() } }
        return try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).count == 1
    }

    static func markers(_ pg: TestServices.Postgres, _ database: String) async throws -> Int {
        let db = try await RestoreIntegrationTests.connect(pg, database)
        defer { Task { await db.close() } }
        // -1: no marker table at all (the name is resolved when a query is planned, so ask first).
        guard try await db.query("SELECT to_regclass('backstop.drill_markers')").first?.values.first ?? nil != nil else { return -1 }
        let rows = try await db.query("SELECT count(*) FROM backstop.drill_markers")
        return Int(try rows.first?[0, as: Int64.self] ?? -2)
    }

    @Test func theAgentFSRunbooksQuarterlyDrillPassesWithAFreshBackupAMarkerAndItsIntegrityQueries() async throws {
        let pg = try TestServices.postgres()
        let (admin, name) = try await RestoreIntegrationTests.seedDatabase(pg, prefix: "drill")
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("agentfs", pg: pg, database: name)
        policy.spec.source.postgres?.rowCounts = SeedSchema.tables
        try h.create(policy)
        h.startController()
        // The runbook's drill: marker → backup → pg_restore -l → restore to agentfs_dr_test → check → drop.
        let scratch = "\(name)_dr_test"
        _ = try h.sim.store.create(Self.drill("quarterly", [
            "policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": .string(scratch)]],
            "verify": ["rowCounts": true, "sql": SeedSchema.checks], "objectives": ["rto": "30m", "rpo": "26h"],
        ]))
        let done = try await completed(h, "quarterly", within: 180)
        let s = try #require(done.status)
        #expect(s.result == .passed, "\(String(describing: s))")
        #expect(s.steps?.map(\.name) == ["Validate", "Marker", "Backup", "List", "Restore", "Verify", "Cleanup"])
        #expect(s.steps?.allSatisfy { $0.phase == .succeeded } == true, "\(String(describing: s.steps))")
        // The fresh backup went through the policy: its catalog and status have it.
        let p = try await h.policy("agentfs")
        #expect(s.freshBackup?.result == .succeeded)
        // lastManualRun answers the user's own run-now annotation only, never the drill's token.
        #expect(p.status?.lastManualRun == nil, "\(String(describing: p.status?.lastManualRun))")
        // (In its recent backups: a scheduled slot may have come right after it.)
        let recorded = p.status?.recentBackups?.first { $0.id == s.backup?.id }
        #expect(s.backup?.id != nil && recorded?.job == s.freshBackup?.job, "\(String(describing: s.backup)) vs \(String(describing: p.status?.recentBackups))")
        // The marker was in the restored copy (Verify), and is gone from the source; the scratch database is dropped.
        let verify = try #require(s.steps?.first { $0.name == "Verify" })
        let counts = (verify.message ?? "").split(separator: " ").first?.split(separator: "/").compactMap { Int($0) } ?? []
        #expect(counts.count == 2 && counts[0] == counts[1] && counts[0] >= SeedSchema.tables.count + 4, "row counts, 3 queries and the marker: \(verify)")
        #expect(s.marker?.removed == true && s.marker?.writtenAt != nil)
        #expect(try await Self.markers(pg, name) == 0, "the marker table stays, its row is gone")
        #expect(try await Self.exists(pg, database: scratch) == false, "the scratch database was dropped")
        // Measured and reported.
        let m = try #require(s.measured)
        #expect((m.rtoSeconds ?? -1) >= 0 && (m.rtoSeconds ?? 0) < 120 && m.restoreSeconds != nil)
        #expect((m.rpoSeconds ?? -1) >= 0 && (m.rpoSeconds ?? 99) < 60, "a fresh backup right after the marker: \(m)")
        #expect((m.backupBytes ?? 0) > 1000)
        #expect(s.conditions?.isTrue("Passed") == true && s.conditions?.isTrue("Complete") == true)
        #expect(try await eventually(.seconds(10)) {
            try await drill(h, "quarterly").metadata.finalizers?.contains(DrillRunController.finalizer) != true
        }, "the finalizer goes once the drill is complete")
        #expect(try await eventually(.seconds(10)) {
            let p = try await h.policy("agentfs")
            return p.status?.lastDrill?.name == "quarterly" && p.status?.lastDrill?.result == .passed
                && p.status?.lastDrill?.rtoSeconds == m.rtoSeconds && p.status?.conditions?.isTrue("LastDrillPassed") == true
        })
        let reasons = try h.events(of: "quarterly").map(\.reason)
        for reason in ["MarkerStarted", "BackupSucceeded", "ListSucceeded", "RestoreSucceeded", "VerifySucceeded", "CleanupSucceeded", "DrillPassed"] {
            #expect(reasons.contains(reason), "missing Event \(reason) in \(reasons)")
        }
        // Recorded right after the policy's status: give the scrape a moment.
        _ = try await eventually(.seconds(5)) { (try await h.metricsText()).contains("backstop_drill_total{namespace=\"team\",policy=\"agentfs\",result=\"passed\"}") }
        let metrics = try await h.metricsText()
        #expect(metrics.contains("backstop_drill_total{namespace=\"team\",policy=\"agentfs\",result=\"passed\"} 1"), "\(metrics)")
        #expect(metrics.contains("backstop_drill_rto_seconds{namespace=\"team\",policy=\"agentfs\"} \(m.rtoSeconds ?? -1)"), "\(metrics)")
        #expect(metrics.contains("backstop_drill_rpo_seconds{namespace=\"team\",policy=\"agentfs\"} \(m.rpoSeconds ?? -1)"), "\(metrics)")
        #expect(metrics.contains("backstop_drill_last_success_timestamp_seconds{namespace=\"team\",policy=\"agentfs\"}"))

        // A scratch database that exists and is not the drill's: refused at Validate, before a
        // marker or a backup — and NOT dropped.
        let taken = "\(name)_taken"
        _ = try await admin.execute("CREATE DATABASE \(taken)")
        let someoneElses = try await RestoreIntegrationTests.connect(pg, taken)
        _ = try await someoneElses.executeScript("CREATE TABLE keep (id int); INSERT INTO keep VALUES (1), (2)")
        await someoneElses.close()
        let backupsBefore = try h.jobs(of: "agentfs").filter { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue == "backup" }.count
        _ = try h.sim.store.create(Self.drill("taken", ["policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": .string(taken)]]]))
        let refused = try await completed(h, "taken")
        let validate = refused.status?.steps?.first { $0.name == "Validate" }
        #expect(refused.status?.result == .failed && validate?.phase == .failed, "\(String(describing: refused.status))")
        #expect(validate?.message?.contains("scratch database \(taken) already exists and is not this drill's") == true
                && validate?.message?.contains("name another spec.scratch database") == true, "\(String(describing: validate?.message))")
        #expect(refused.status?.steps?.filter { $0.phase == .skipped }.map(\.name) == ["Marker", "Backup", "List", "Restore", "Verify"])
        #expect(refused.status?.marker == nil && refused.status?.freshBackup == nil)
        #expect(try await Self.markers(pg, name) == 0, "no marker row was written")
        let drillJobs = try h.sim.store.list("batch/v1", "Job", namespace: "team").filter { $0[path: ["metadata", "labels", "backstop.dev/drill"]]?.stringValue == "taken" }
        #expect(drillJobs.compactMap { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue } == ["validate"], "only the probe ran")
        #expect(try h.jobs(of: "agentfs").filter { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue == "backup" }.count == backupsBefore)
        let untouched = try await RestoreIntegrationTests.connect(pg, taken)
        #expect(try await untouched.query("SELECT count(*) FROM keep").first?[0, as: Int64.self] == 2, "someone else's database is left alone")
        await untouched.close()
        // The policy hears of it (after the drill's own status, Events are sent asynchronously).
        #expect(try await eventually(.seconds(10)) {
            try await h.policy("agentfs").status?.conditions?.find("LastDrillPassed")?.status == .false
                && (try h.events(of: "agentfs").contains { $0.type == "Warning" && $0.reason == "DrillFailed" })
        })

        // Objectives: an RPO of 1s against a backup older than that, an RTO of 1s against a
        // restore whose verification takes 3s (a slow check: RTO runs until the data is proven).
        try await Task.sleep(for: .seconds(2))
        _ = try h.sim.store.create(Self.drill("strict", [
            "policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": .string("\(name)_strict")]], "marker": false, "freshBackup": false,
            "objectives": ["rto": "1s", "rpo": "1s"],
            "verify": ["sql": [["name": "slow", "query": "SELECT count(*) FROM pg_sleep(3)", "expect": "1"]]],
        ]))
        let strict = try await completed(h, "strict")
        let why = strict.status?.reasons ?? []
        #expect(strict.status?.result == .failed && why.count == 2, "\(why)")
        #expect(why.contains { $0.hasPrefix("RPO ") && $0.contains("exceeds objective 1s") && $0.contains("restored backup is from") }, "\(why)")
        #expect(why.contains { $0.hasPrefix("RTO ") && $0.contains("exceeds objective 1s") }, "\(why)")
        #expect(strict.status?.steps?.allSatisfy { $0.phase == .succeeded } == true, "every step ran; only the objectives failed")
        #expect(try await Self.exists(pg, database: "\(name)_strict") == false)

        // Bad input: a clear reason at Validate, no Job.
        _ = try h.sim.store.create(Self.drill("onto-source", ["policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": .string(name)]]]))
        _ = try h.sim.store.create(Self.drill("no-policy", ["policyRef": ["name": "nope"], "scratch": ["postgres": ["database": "x"]]]))
        _ = try h.sim.store.create(Self.drill("stale-marker", ["policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": "y"]], "marker": true, "freshBackup": false]))
        for (drillName, text) in [("onto-source", "live source"), ("no-policy", "not found"), ("stale-marker", "freshBackup: true")] {
            let d = try await completed(h, drillName)
            #expect(d.status?.result == .failed && d.status?.message?.contains(text) == true, "\(drillName): \(String(describing: d.status))")
            #expect(d.status?.steps?.first?.phase == .failed)
            #expect(try h.sim.store.list("batch/v1", "Job", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/drill"]]?.stringValue != drillName })
        }
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(taken) WITH (FORCE)")
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.close()
        await h.stop()
    }

    @Test func aCorruptNewestArtifactFailsAtListAndAVolumeDrillLeavesNoTrace() async throws {
        let h = try await ControllerHarness()
        try h.claim("backups")
        try h.claim("data")
        try h.claim("scratch")
        _ = try await eventually { try h.claimDirectory("data") != nil && h.claimDirectory("scratch") != nil }
        let data = try #require(try h.claimDirectory("data"))
        try FileManager.default.createDirectory(atPath: "\(data)/app", withIntermediateDirectories: true)
        for i in 0..<10 { try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: "\(data)/app/\(i).txt")) }
        let policy = BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"),
                                  spec: BackupPolicySpec(schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data", path: "app")),
                                                         destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "vol"))))
        try h.create(policy)
        h.startController()
        _ = try h.sim.store.create(Self.drill("files", ["policyRef": ["name": "files"], "scratch": ["volume": ["claimName": "scratch", "path": "copy"]]]))
        let done = try await completed(h, "files")
        #expect(done.status?.result == .passed, "\(String(describing: done.status))")
        #expect(done.status?.steps?.first { $0.name == "Verify" }?.message == "4/4 checks passed; the marker is in the scratch copy",
                "sha256, size, every file and the marker file in the restored copy")
        Self.expectMeasured(done, freshBackup: true)
        #expect(!FileManager.default.fileExists(atPath: "\(data)/app/.backstop-drill"), "the marker is gone from the source")
        let scratch = try #require(try h.claimDirectory("scratch"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "\(scratch)/copy")) ?? []).isEmpty, "the scratch directory is empty again")

        // Corrupt the newest artifact: a drill of it fails at List, cleans up, and the policy says so.
        let dir = try #require(try h.claimDirectory("backups"))
        let id = try #require(done.status?.backup?.id)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/vol/files").first { $0.hasPrefix(id) && !$0.hasSuffix(".json") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/vol/files/\(file)"))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/vol/files/\(file)"))
        _ = try h.sim.store.create(Self.drill("corrupt", ["policyRef": ["name": "files"], "scratch": ["volume": ["claimName": "scratch", "path": "copy2"]],
                                                           "marker": false, "freshBackup": false]))
        let failed = try await completed(h, "corrupt")
        let f = try #require(failed.status)
        #expect(f.result == .failed && f.reasons?.first?.contains("List failed: ChecksumMismatch") == true, "\(String(describing: f))")
        #expect(f.steps?.map(\.phase) == [.succeeded, .succeeded, .succeeded, .failed, .skipped, .skipped, .succeeded])
        #expect(try await eventually(.seconds(10)) {
            let p = try await h.policy("files")
            return p.status?.conditions?.find("LastDrillPassed")?.status == .false && p.status?.lastDrill?.name == "corrupt"
        })
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "files").contains { $0.type == "Warning" && $0.reason == "DrillFailed" && $0.message.contains("DrillRun corrupt: List failed: ChecksumMismatch") }
        }, "\(String(describing: try? h.events(of: "files")))")

        // No artifact to drill: a policy that has never backed up, without a fresh backup.
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "empty", namespace: "team"),
                                  spec: BackupPolicySpec(schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data", path: "app")),
                                                         destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "none")))))
        _ = try h.sim.store.create(Self.drill("nothing", ["policyRef": ["name": "empty"], "scratch": ["volume": ["claimName": "scratch", "path": "copy3"]],
                                                           "marker": false, "freshBackup": false]))
        let nothing = try await completed(h, "nothing")
        #expect(nothing.status?.result == .failed && nothing.status?.reasons?.first?.contains("List failed: ArtifactNotFound") == true,
                "\(String(describing: nothing.status?.reasons))")
        #expect(nothing.status?.steps?.first { $0.name == "Restore" }?.phase == .skipped)
        await h.stop()
    }

    @Test func aDrillWaitsForARunningRestoreOfItsSourceAndAMarkerWithoutWriteAccessFailsCleanly() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.create(BackupIntegrationTests.policy("orders", pg: pg, database: database))
        h.startController()
        try await h.annotate("orders", Backstop.runNowAnnotation, "base")
        #expect(try await eventually(.seconds(90)) { try await h.policy("orders").status?.lastBackup?.verified == true })
        // A writer that takes 4s to stop: the restore's Quiesce step holds the source that long.
        _ = try h.sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "slow", "namespace": "team"],
            "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "slow"]],
                     "template": ["metadata": ["labels": ["app": "slow"]], "spec": [
                        "terminationGracePeriodSeconds": 4,
                        "containers": [["name": "c", "image": "busybox", "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]]]]]],
        ])
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "slow")[path: ["status", "readyReplicas"]] == 1
        })
        _ = try h.sim.store.create(RestoreIntegrationTests.restore("fenced", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true, "quiesce": [["kind": "Deployment", "name": "slow"]],
        ]))
        _ = try await eventually(.seconds(10)) { try await h.client.resource(RestoreRequest.self, namespace: "team").get("fenced").status?.phase == .quiescing }
        _ = try h.sim.store.create(Self.drill("after-restore", ["policyRef": ["name": "orders"], "scratch": ["postgres": ["database": .string("\(database)_after")]]]))
        let done = try await completed(h, "after-restore", within: 120)
        #expect(done.status?.result == .passed, "\(String(describing: done.status))")
        let restore = try await h.client.resource(RestoreRequest.self, namespace: "team").get("fenced")
        #expect(restore.status?.phase == .succeeded)
        let restoreEnd = try #require(restore.status?.finishedAt?.date)
        let markerStart = try #require(done.status?.steps?.first { $0.name == "Marker" }?.startedAt?.date)
        #expect(markerStart >= restoreEnd, "the drill touched the source only after the restore: marker \(markerStart), restore end \(restoreEnd)")
        #expect(try h.events(of: "after-restore").contains { $0.reason == "ValidateStarted" && $0.message.contains("waiting for RestoreRequest fenced") })

        // The mirror: a restore over the source created while a drill runs waits for the drill.
        // Without a fresh backup or marker: this case is about which of the two goes first.
        _ = try h.sim.store.create(Self.drill("before-restore", ["policyRef": ["name": "orders"], "freshBackup": false, "marker": false,
                                                                 "scratch": ["postgres": ["database": .string("\(database)_before")]]]))
        #expect(try await eventually(.seconds(30)) {
            let s = try await h.client.resource(DrillRun.self, namespace: "team").get("before-restore").status
            return s?.phase == .running && s?.currentStep != "Validate"
        })
        _ = try h.sim.store.create(RestoreIntegrationTests.restore("after-drill", ["policyRef": ["name": "orders"], "allowOverwriteSource": true]))
        let restores = h.client.resource(RestoreRequest.self, namespace: "team")
        let drillFirst = try await completed(h, "before-restore", within: 120)
        #expect(drillFirst.status?.result == .passed, "\(String(describing: drillFirst.status))")
        #expect(try await eventually(.seconds(90)) { try await restores.get("after-drill").status?.phase == .succeeded })
        let drillEnd = try #require(drillFirst.status?.finishedAt?.date)
        let restoreSteps = try await restores.get("after-drill").status?.steps ?? []
        let restoreStart = try #require(restoreSteps.first { $0.name != "Validate" && $0.startedAt != nil }?.startedAt?.date)
        #expect(restoreStart >= drillEnd, "the restore touched the source only after the drill: \(restoreStart) vs \(drillEnd)")
        #expect(try h.events(of: "after-drill").contains { $0.reason == "ValidateStarted" && $0.message.contains("waiting for DrillRun before-restore") })

        // A role that may read but not create: the marker cannot be written, the drill says what to do.
        let (_, readOnly) = try await BackupIntegrationTests.database()
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        let role = "ro_" + UUID().uuidString.prefix(6).lowercased()
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD 'ro-secret'")
        _ = try await admin.execute("REVOKE CREATE ON DATABASE \(readOnly) FROM PUBLIC")
        let ro = try await RestoreIntegrationTests.connect(pg, readOnly)
        _ = try await ro.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        _ = try await ro.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role)")
        await ro.close()
        try h.secret("ro-creds", ["password": "ro-secret"])
        var policy = BackupIntegrationTests.policy("readonly", pg: pg, database: readOnly, secret: "ro-creds")
        policy.spec.source.postgres?.user = role
        try h.create(policy)
        _ = try h.sim.store.create(Self.drill("no-write", ["policyRef": ["name": "readonly"], "scratch": ["postgres": ["database": .string("\(readOnly)_x")]]]))
        let refused = try await completed(h, "no-write")
        #expect(refused.status?.result == .failed, "\(String(describing: refused.status))")
        #expect(refused.status?.steps?.first { $0.name == "Marker" }?.phase == .failed)
        #expect(refused.status?.message?.contains("set marker: false") == true, "\(String(describing: refused.status?.message))")
        #expect(refused.status?.steps?.first { $0.name == "Backup" }?.phase == .skipped, "no backup, no restore")
        #expect(refused.status?.steps?.first { $0.name == "Cleanup" }?.phase == .succeeded)
        #expect(try await Self.markers(pg, readOnly) == -1, "nothing was created in the source")
        #expect(try await Self.exists(pg, database: "\(readOnly)_x") == false)

        // A policy that backs up only some tables would leave a marker out of its backup: by
        // default the drill runs without one; asked for, a marker is refused up front.
        var partial = BackupIntegrationTests.policy("partial", pg: pg, database: readOnly)
        partial.spec.source.postgres?.tables = ["entries"]
        try h.create(partial)
        _ = try h.sim.store.create(Self.drill("partial-marker", ["policyRef": ["name": "partial"], "marker": true,
                                                                 "scratch": ["postgres": ["database": .string("\(readOnly)_m")]]]))
        let refusedMarker = try await completed(h, "partial-marker")
        #expect(refusedMarker.status?.result == .failed)
        #expect(refusedMarker.status?.message?.contains("add backstop.drill_markers to source.postgres.tables, or set marker: false") == true,
                "\(String(describing: refusedMarker.status?.message))")
        #expect(refusedMarker.status?.steps?.first { $0.name == "Validate" }?.phase == .failed)
        _ = try h.sim.store.create(Self.drill("partial", ["policyRef": ["name": "partial"], "scratch": ["postgres": ["database": .string("\(readOnly)_p")]]]))
        let partialDrill = try await completed(h, "partial", within: 120)
        #expect(partialDrill.status?.result == .passed, "\(String(describing: partialDrill.status))")
        let markerStep = partialDrill.status?.steps?.first { $0.name == "Marker" }
        #expect(markerStep?.message?.contains("no marker (the policy backs up only the tables entries") == true, "\(String(describing: markerStep))")
        #expect(partialDrill.status?.marker == nil)
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(readOnly) WITH (FORCE)")
        _ = try? await admin.execute("DROP ROLE IF EXISTS \(role)")
        await admin.close()
        await h.stop()
    }
}
