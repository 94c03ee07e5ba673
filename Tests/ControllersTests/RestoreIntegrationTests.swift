import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// The RestoreRequest controller on an in-process KubeSim whose Deployments run real writer
/// processes and whose Jobs run the real agent against the real PostgreSQL.
@Suite(.serialized) struct RestoreIntegrationTests {
    static func connect(_ pg: TestServices.Postgres, _ database: String) async throws -> Postgres.PostgresConnection {
        try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, database: database, user: pg.user, password: pg.password))
    }

    /// A new database holding the AgentFS runbook's schema and data (audit trigger included);
    /// the admin connection stays open for the caller's cleanup.
    static func seedDatabase(_ pg: TestServices.Postgres, prefix: String) async throws -> (Postgres.PostgresConnection, String) {
        let name = prefix + "_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE DATABASE \(name)")
        let db = try await connect(pg, name)
        _ = try await db.executeScript(SeedSchema.sql)
        _ = try await db.execute(SeedSchema.auditTrigger)
        await db.close()
        return (admin, name)
    }

    static func count(_ pg: TestServices.Postgres, _ database: String) async throws -> Int {
        let db = try await connect(pg, database)
        defer { Task { await db.close() } }
        return try await db.query("SELECT count(*)::bigint FROM entries").first.map { Int(try $0[0, as: Int64.self]) } ?? -1
    }

    /// Every row of `entries` as "id|body", in id order; `except` leaves out rows with that body.
    static func rows(_ pg: TestServices.Postgres, _ database: String, except body: String? = nil) async throws -> [String] {
        let db = try await connect(pg, database)
        defer { Task { await db.close() } }
        let filter = body.map { " WHERE body <> '\($0)'" } ?? ""
        return try await db.query("SELECT id::text || '|' || body FROM entries\(filter) ORDER BY id").map { try $0[0, as: String.self] }
    }

    static func execute(_ pg: TestServices.Postgres, _ database: String, _ sql: String) async throws {
        let db = try await connect(pg, database)
        _ = try await db.execute(sql)
        await db.close()
    }

    /// A writer: inserts a row every 100 ms with the password from the Secret, as an app would.
    /// `slowToStop`: the writer ignores SIGTERM (as an app draining its work), so each Pod lingers
    /// its 4 s grace period: a restore that did not wait for the Pods to go would overlap them.
    static func writer(_ pg: TestServices.Postgres, database: String, replicas: Int, slowToStop: Bool = false) -> JSONValue {
        let sql = "INSERT INTO entries SELECT coalesce(max(id), 0) + 1, 'writer' FROM entries"
        let trap = slowToStop ? "trap '' TERM; " : ""
        return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "writer", "namespace": "team"],
                "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": "writer"]],
                         "template": ["metadata": ["labels": ["app": "writer"]], "spec": [
                            "terminationGracePeriodSeconds": .int(slowToStop ? 4 : 2),
                            "containers": [["name": "w", "image": "busybox",
                                            "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "db-creds", "key": "password"]]]],
                                            "command": ["sh", "-c", .string("\(trap)while true; do psql -h \(pg.host) -p \(pg.port) -U \(pg.user) -d \(database) -qc \"\(sql)\" >/dev/null 2>&1; sleep 0.1; done")]]],
                         ]]]]
    }

    static func restore(_ name: String, _ spec: JSONValue) -> JSONValue {
        ["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest", "metadata": ["name": .string(name), "namespace": "team"], "spec": spec]
    }

    func request(_ h: ControllerHarness, _ name: String) async throws -> RestoreRequest {
        try await h.client.resource(RestoreRequest.self, namespace: "team").get(name)
    }

    func finished(_ h: ControllerHarness, _ name: String, within seconds: Int = 90) async throws -> RestoreRequest {
        _ = try await eventually(.seconds(seconds)) {
            let phase = try await request(h, name).status?.phase
            return phase == .succeeded || phase == .failed
        }
        return try await request(h, name)
    }

    @Test func aFencedRestoreOverTheSourceQuiescesTheWriterRestoresVerifiesAndResumesIt() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("orders", pg: pg, database: database)
        policy.spec.retention = RetentionPolicy(keepLast: 5)
        try h.create(policy)
        h.startController()
        try await h.annotate("orders", Backstop.runNowAnnotation, "before-writer")
        #expect(try await eventually(.seconds(90)) { try await h.policy("orders").status?.lastBackup?.verified == true })
        let backedUp = try await Self.count(pg, database)
        #expect(backedUp == 500)
        let backedUpRows = try await Self.rows(pg, database)
        _ = try h.sim.store.create(Self.writer(pg, database: database, replicas: 2, slowToStop: true))
        #expect(try await eventually(.seconds(30)) { try await Self.count(pg, database) > backedUp + 5 }, "the writer writes")
        // The damage a restore undoes: rows deleted, rows changed, rows added beside the writer's.
        try await Self.execute(pg, database, "DELETE FROM entries WHERE id <= 20")
        try await Self.execute(pg, database, "UPDATE entries SET body = 'changed' WHERE id BETWEEN 100 AND 110")
        try await Self.execute(pg, database, "INSERT INTO entries VALUES (100001, 'stray'), (100002, 'stray')")
        #expect(try await Self.rows(pg, database, except: "writer") != backedUpRows)

        // Restore over the live source, the writer fenced.
        let rvBefore = h.sim.store.resourceVersion
        _ = try h.sim.store.create(Self.restore("rollback", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true,
            "quiesce": [["kind": "Deployment", "name": "writer"]],
            "verify": ["rowCounts": true, "sql": [["name": "no-writer-rows", "query": "SELECT count(*) FROM entries WHERE body = 'writer'", "expect": "0"]]],
        ]))
        let done = try await finished(h, "rollback", within: 120)
        let s = try #require(done.status)
        #expect(s.phase == .succeeded, "\(String(describing: s))")
        #expect(s.steps?.map(\.phase) == Array(repeating: StepPhase.succeeded, count: 6), "\(String(describing: s.steps))")
        #expect(s.savedReplicas == ["Deployment/writer": 2])
        #expect(s.backup?.id == (try await h.policy("orders")).status?.lastBackup?.id)
        #expect(s.backup?.sha256?.count == 64)
        #expect(s.conditions?.isTrue("Complete") == true && s.conditions?.isTrue("Ready") == true)
        #expect(done.metadata.finalizers?.contains("backstop.dev/resume-writers") != true, "the finalizer goes once resumed")
        // The writer's processes were gone while the restore Job ran (from the store's history).
        let restoreJob = try #require(s.steps?.first { $0.name == "Restore" }?.job)
        let fence = try FenceHistory(h.sim.store, restoreJob: restoreJob, workload: "writer", podLabel: ("app", "writer"))
        #expect(fence.absentDuringRestore, "no writer Pod may exist while the restore Job runs: \(fence)")
        #expect(fence.replicaChanges == [2, 0, 2], "stopped once, back to its 2 replicas: \(fence.replicaChanges)")
        #expect(try h.sim.store.history("batch/v1", "Job", namespace: "team", name: restoreJob).first!.resourceVersion > rvBefore)
        // The table holds exactly the backed-up rows again: the deleted and changed ones back, the
        // rows written before the request gone (the Verify check saw none); only rows the resumed
        // writer wrote since may be added.
        #expect(try await Self.rows(pg, database, except: "writer") == backedUpRows, "the rows are the backup's")
        // Resumed with the replicas it had, and writing again.
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["status", "readyReplicas"]] == 2
        })
        let reasons = try h.events(of: "rollback").map(\.reason)
        for reason in ["QuiesceStarted", "RestoreSucceeded", "VerifySucceeded", "ResumeSucceeded"] {
            #expect(reasons.contains(reason), "missing Event \(reason) in \(reasons)")
        }
        #expect((try await h.metricsText()).contains("backstop_restore_total{namespace=\"team\",policy=\"orders\",result=\"succeeded\"} 1"))

        // Into a new database: no fence needed, the source untouched.
        let copy = "\(database)_copy"
        _ = try h.sim.store.create(Self.restore("copy", [
            "policyRef": ["name": "orders"], "mode": "Create", "target": ["postgres": ["database": .string(copy)]],
        ]))
        let copied = try await finished(h, "copy")
        #expect(copied.status?.phase == .succeeded, "\(String(describing: copied.status))")
        #expect(try await Self.count(pg, copy) == 500)

        // A corrupt artifact fails at Select, before anything is touched, and the writer comes back all the same.
        let dir = try #require(try h.claimDirectory("backups"))
        let id = try #require(s.backup?.id)
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/pg/orders").first { $0.hasPrefix(id) && !$0.hasSuffix(".json") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/pg/orders/\(file)"))
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: "\(dir)/pg/orders/\(file)"))
        let writtenBefore = try await Self.count(pg, database)
        _ = try h.sim.store.create(Self.restore("corrupt", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true, "backup": ["id": .string(id)],
            "quiesce": [["kind": "Deployment", "name": "writer"]],
        ]))
        let failed = try await finished(h, "corrupt")
        let f = try #require(failed.status)
        #expect(f.phase == .failed && f.message?.contains("ChecksumMismatch") == true, "\(String(describing: f))")
        #expect(f.steps?.map(\.phase) == [.succeeded, .failed, .skipped, .skipped, .skipped, .succeeded])
        #expect(try await Self.count(pg, database) >= writtenBefore, "the database was not restored over")
        #expect(try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["spec", "replicas"]] == 2)

        // Bad input: a clear reason, nothing touched.
        // Without a target the schema itself refuses the request (422, tested with the API); a
        // target that names the live source is caught here.
        _ = try h.sim.store.create(Self.restore("no-opt-in", ["policyRef": ["name": "orders"], "target": ["postgres": ["database": .string(database)]]]))
        _ = try h.sim.store.create(Self.restore("no-policy", ["policyRef": ["name": "nope"], "allowOverwriteSource": true]))
        _ = try h.sim.store.create(Self.restore("no-workload", ["policyRef": ["name": "orders"], "allowOverwriteSource": true,
                                                                 "quiesce": [["kind": "Deployment", "name": "ghost"]]]))
        for (name, reason) in [("no-opt-in", "allowOverwriteSource"), ("no-policy", "not found"), ("no-workload", "Deployment/ghost")] {
            let r = try await finished(h, name)
            #expect(r.status?.phase == .failed && r.status?.message?.contains(reason) == true, "\(name): \(String(describing: r.status))")
            #expect(r.status?.steps?.first?.phase == .failed)
            #expect(try h.jobs(of: "orders").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/restore"]]?.stringValue != name })
        }
        await h.stop()
    }

    /// Every regular file under `root` (relative path → contents).
    static func files(under root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let walker = FileManager.default.enumerator(atPath: root)
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory), !isDirectory.boolValue {
                out[path] = try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
            }
        }
        return out
    }

    @Test func aVolumeRestoreEmptiesAndRefillsTheDirectoryWhileItsWriterIsStopped() async throws {
        let h = try await ControllerHarness(workloads: true)
        try h.claim("backups")
        try h.claim("data")
        _ = try await eventually { try h.claimDirectory("data") != nil }
        let data = try #require(try h.claimDirectory("data"))
        try FileManager.default.createDirectory(atPath: "\(data)/app/docs", withIntermediateDirectories: true)
        for i in 0..<20 { try Data("file \(i)\n".utf8).write(to: URL(fileURLWithPath: "\(data)/app/docs/\(i).txt")) }
        let backedUp = try Self.files(under: "\(data)/app")
        #expect(backedUp.count == 20)
        let policy = BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"),
                                  spec: BackupPolicySpec(schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data", path: "app")),
                                                         destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "vol"))))
        try h.create(policy)
        h.startController()
        try await h.annotate("files", Backstop.runNowAnnotation, "first")
        #expect(try await eventually(.seconds(60)) { try await h.policy("files").status?.lastBackup?.verified == true })
        // A writer that keeps adding files to the claim (as the app whose data it is), each named
        // by the nanosecond it was written, so files written before the restore are told apart. It
        // ignores SIGTERM, so its Pods linger 3 s: the restore must wait them out.
        _ = try h.sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "app", "namespace": "team"],
            "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "app"]],
                     "template": ["metadata": ["labels": ["app": "app"]], "spec": [
                        "terminationGracePeriodSeconds": 3,
                        "volumes": [["name": "data", "persistentVolumeClaim": ["claimName": "data"]]],
                        "containers": [["name": "c", "image": "busybox", "volumeMounts": [["name": "data", "mountPath": "/data"]],
                                        "command": ["sh", "-c", "trap '' TERM; while true; do echo x > /data/app/new-$(date +%s%N).txt; sleep 0.1; done"]]]]]],
        ])
        let writing = try await eventually(.seconds(30)) { try Self.files(under: "\(data)/app").count > 25 }
        #expect(writing, "the writer writes")
        // The damage: a file gone, one changed, one added beside the writer's.
        try FileManager.default.removeItem(atPath: "\(data)/app/docs/3.txt")
        try Data("changed\n".utf8).write(to: URL(fileURLWithPath: "\(data)/app/docs/5.txt"))
        try Data("stray\n".utf8).write(to: URL(fileURLWithPath: "\(data)/app/docs/stray.txt"))
        _ = try h.sim.store.create(Self.restore("files-back", [
            "policyRef": ["name": "files"], "allowOverwriteSource": true, "quiesce": [["kind": "Deployment", "name": "app"]],
        ]))
        let done = try await finished(h, "files-back")
        let s = try #require(done.status)
        #expect(s.phase == .succeeded, "\(String(describing: s))")
        #expect(s.savedReplicas == ["Deployment/app": 2])
        let restoreJob = try #require(s.steps?.first { $0.name == "Restore" }?.job)
        let fence = try FenceHistory(h.sim.store, restoreJob: restoreJob, workload: "app", podLabel: ("app", "app"))
        #expect(fence.absentDuringRestore, "no writer Pod may exist while the restore Job runs: \(fence)")
        #expect(fence.replicaChanges == [2, 0, 2], "\(fence.replicaChanges)")
        // The directory is the backup's file set with its contents; of the writer's files only
        // those written after Resume started remain (the resumed writer's).
        let resumed = try #require(s.steps?.first { $0.name == "Resume" }?.startedAt?.date)
        let now = try Self.files(under: "\(data)/app")
        let writerFiles = now.keys.filter { $0.hasPrefix("new-") }
        let writtenBefore = writerFiles.filter { name in
            let nanos = Double(name.dropFirst(4).dropLast(4)) ?? 0
            return nanos / 1e9 < resumed.timeIntervalSince1970
        }
        #expect(now.filter { !$0.key.hasPrefix("new-") } == backedUp, "exactly the backup's files and contents")
        #expect(writtenBefore.isEmpty, "files the writer added after the backup are gone: \(writtenBefore.sorted().prefix(3))")
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "app")[path: ["status", "readyReplicas"]] == 2
        })
        await h.stop()
    }

    @Test func theAgentFSRunbooksDatabaseRestoredIntoANewDatabasePassesItsIntegrityQueries() async throws {
        let pg = try TestServices.postgres()
        let (admin, name) = try await Self.seedDatabase(pg, prefix: "seed")
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("agentfs", pg: pg, database: name)
        policy.spec.source.postgres?.rowCounts = SeedSchema.tables
        policy.spec.source.postgres?.guards = [TriggerGuard(trigger: "prevent_audit_mutation", table: "agent_audit_log")]
        try h.create(policy)
        h.startController()
        try await h.annotate("agentfs", Backstop.runNowAnnotation, "before-restore")
        #expect(try await eventually(.seconds(90)) { try await h.policy("agentfs").status?.lastBackup?.verified == true })
        _ = try h.sim.store.create(Self.restore("dr", [
            "policyRef": ["name": "agentfs"], "mode": "Create", "target": ["postgres": ["database": .string("\(name)_dr")]],
            "backup": ["verifiedOnly": true], "verify": ["rowCounts": true, "sql": SeedSchema.checks],
        ]))
        let done = try await finished(h, "dr")
        #expect(done.status?.phase == .succeeded, "\(String(describing: done.status))")
        let verify = done.status?.steps?.first { $0.name == "Verify" }
        // The artifact's sha256 and size, a row count per table and the three queries: all passed.
        let counts = (verify?.message ?? "").split(separator: " ").first?.split(separator: "/").compactMap { Int($0) } ?? []
        #expect(counts.count == 2 && counts[0] == counts[1] && counts[0] >= SeedSchema.tables.count + 3, "\(String(describing: verify))")
        let restored = try await Self.connect(pg, "\(name)_dr")
        let orphans = try await restored.query("SELECT count(*) FROM entries e LEFT JOIN entry_versions ev ON e.latest_version_id = ev.id WHERE ev.id IS NULL")
        #expect(try orphans.first?[0, as: Int64.self] == 0)
        await restored.close()
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(name)_dr WITH (FORCE)")
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await admin.close()
        await h.stop()
    }
}

