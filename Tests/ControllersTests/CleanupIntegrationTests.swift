import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeClient
import KubeModel
import Postgres
import TestSupport
import Testing

/// CleanupPolicy through the controller, KubeSim's Job runner and the real `backstop agent`,
/// against real PostgreSQL, ClickHouse, S3 (moto) and a claim directory: the preview, exact
/// deletion, batches, the guard and its acknowledgment, and bad input.
@Suite(.serialized) struct CleanupIntegrationTests {
    func connect(_ database: String = "postgres") async throws -> Postgres.PostgresConnection {
        let pg = try TestServices.postgres()
        return try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, database: database, user: pg.user,
                                                                   password: pg.password))
    }

    func count(_ db: Postgres.PostgresConnection, _ sql: String) async throws -> Int64 {
        try await db.query(sql).first?[0, as: Int64.self] ?? -1
    }

    /// A fresh database with `script` run in it.
    func database(_ script: String) async throws -> (String, Postgres.PostgresConnection) {
        let name = "cleanup_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await connect()
        _ = try await admin.execute("CREATE DATABASE \(name)")
        await admin.close()
        let db = try await connect(name)
        _ = try await db.executeScript(script)
        return (name, db)
    }

    func sqlTarget(_ name: String, database: String, table: String, column: String = "created_at", maxAge: String,
                   extra: [String: JSONValue] = [:]) throws -> JSONValue {
        let pg = try TestServices.postgres()
        var sql: [String: JSONValue] = [
            "connection": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(database), "user": .string(pg.user),
                           "passwordSecretRef": ["name": "db-creds", "key": "password"], "sslMode": "disable"],
            "table": .string(table), "timestampColumn": .string(column), "maxAge": .string(maxAge)]
        sql.merge(extra) { $1 }
        return ["name": .string(name), "sql": .object(sql)]
    }

    /// `.inProcess` where the test moves the operator's clock.
    func harness(_ mode: ControllerHarness.Operator = .subprocess) async throws -> ControllerHarness {
        let h = try await ControllerHarness(operator: mode)
        try h.secret("db-creds", ["password": try TestServices.postgres().password])
        return h
    }

    /// Creates the policy (run-now "1" set) and waits for that run to finish.
    func createAndRun(_ h: ControllerHarness, _ name: String, _ spec: JSONValue) async throws -> CleanupPolicyStatus? {
        _ = try await h.client.dynamic(CleanupPolicy.resourceType, namespace: "team").create(
            ["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy",
             "metadata": ["name": .string(name), "namespace": "team", "annotations": .object([Backstop.runNowAnnotation: "1"])],
             "spec": spec])
        return try await waitForRun(h, name, "1")
    }

    func waitForRun(_ h: ControllerHarness, _ name: String, _ value: String) async throws -> CleanupPolicyStatus? {
        let api = h.client.resource(CleanupPolicy.self, namespace: "team")
        _ = try await eventually(.seconds(120)) {
            let run = try await api.get(name).status?.lastManualRun
            return run?.value == value && run?.result != nil && run?.result != .running
        }
        return try await api.get(name).status
    }

    /// Sets annotations (and optionally spec fields) and waits for the run-now `value`.
    func runAgain(_ h: ControllerHarness, _ name: String, _ value: String, annotations: [String: String] = [:],
                  spec: [String: JSONValue] = [:]) async throws -> CleanupPolicyStatus? {
        var all = annotations
        all[Backstop.runNowAnnotation] = value
        var patch: JSONValue = ["metadata": ["annotations": .object(all.mapValues { .string($0) })]]
        if !spec.isEmpty { patch["spec"] = .object(spec) }
        _ = try await h.client.dynamic(CleanupPolicy.resourceType, namespace: "team").patch(name, .merge(patch))
        return try await waitForRun(h, name, value)
    }

    /// The API server's message when it refuses `object` (422), nil when it was accepted.
    func refusal(_ h: ControllerHarness, _ object: JSONValue) async -> String? {
        do {
            _ = try await h.client.dynamic(CleanupPolicy.resourceType, namespace: "team").create(object)
            return nil
        } catch {
            return error.kind == .invalid ? "\(error)" : "not a validation error: \(error)"
        }
    }

    func result(_ s: CleanupPolicyStatus?, _ target: String) -> CleanupResult? { s?.results?.first { $0.target == target } }

    @Test func theGuardRefusesAWholeTableUntilAcknowledgedAndOtherTargetsStillRun() async throws {
        let (dbName, db) = try await database("""
            CREATE TABLE agent_runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
            INSERT INTO agent_runs (created_at) SELECT now() - interval '700 days' - g * interval '1 minute' FROM generate_series(1, 200) g;
            """)
        let h = try await harness()
        let receiver = try await HTTPTestServer.start()
        defer { receiver.stop() }
        try h.secret("chat", ["url": receiver.url("/webhook/cleanup")])
        try h.claim("reports")
        var claimDir: String?
        _ = try await eventually(.seconds(30)) { claimDir = try h.claimDirectory("reports"); return claimDir != nil }
        let old = URL(fileURLWithPath: try #require(claimDir)).appendingPathComponent("old.json")
        _ = FileManager.default.createFile(atPath: old.path, contents: Data("{}".utf8))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-100 * 86400)], ofItemAtPath: old.path)
        h.startController()
        // A wrong cutoff (7d instead of 365d) that would empty the table.
        let refused = try await createAndRun(h, "runs", [
            "schedule": "@daily",
            "targets": [try sqlTarget("agent-runs", database: dbName, table: "agent_runs", maxAge: "7d"),
                        ["name": "reports", "maxDeletePercent": 100, "volume": ["claimName": "reports", "maxAge": "30d"]]],
            "notify": [["webhook": ["urlSecretRef": ["name": "chat", "key": "url"]], "events": ["Failed"]]]])
        let last = refused?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)
        #expect(last?.status == .false && last?.reason == "DeleteLimitExceeded")
        #expect(last?.message.contains("would delete 200 of 200 rows (100.0%), over maxDeletePercent=50; nothing was deleted") == true,
                "\(String(describing: last?.message))")
        #expect(last?.message.contains("backstop.dev/allow-delete=agent-runs=200") == true)
        #expect(refused?.conditions?.find(CleanupPolicyConditions.Ready.self)?.reason == "LastRunFailed")
        #expect(result(refused, "agent-runs")?.reason == "DeleteLimitExceeded")
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 200, "nothing deleted")
        #expect(result(refused, "reports")?.deleted == 1, "a failing target does not stop the others")
        #expect(!FileManager.default.fileExists(atPath: old.path))
        // Events are recorded after the status write, asynchronously.
        #expect(try await eventually(.seconds(10)) { try h.events(of: "runs").contains { $0.type == "Warning" && $0.reason == "DeleteLimitExceeded" } })

        // An acknowledgment of fewer rows than observed is not enough.
        let short = try await runAgain(h, "runs", "2", annotations: [Backstop.allowDeleteAnnotation: "agent-runs=150"])
        #expect(short?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)?.message.contains("The acknowledgment allows only 150") == true)
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 200)

        let acknowledged = try await runAgain(h, "runs", "3", annotations: [Backstop.allowDeleteAnnotation: "agent-runs=200"])
        #expect(acknowledged?.lastManualRun?.result == .succeeded, "\(String(describing: acknowledged?.conditions))")
        #expect(result(acknowledged, "agent-runs")?.deleted == 200)
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 0)
        #expect(acknowledged?.conditions?.find(CleanupPolicyConditions.Ready.self)?.status == .true)
        #expect(acknowledged?.allowDeleteUsed == ["agent-runs=200"])

        // The table fills again under the same wrong cutoff; the annotation is still there but
        // was spent by the run it was given for: refused, nothing deleted, and the message says why.
        _ = try await db.execute("INSERT INTO agent_runs (created_at) SELECT now() - interval '700 days' - g * interval '1 minute' FROM generate_series(1, 150) g")
        let leftover = try await runAgain(h, "runs", "4")
        let spent = leftover?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)
        #expect(spent?.reason == "DeleteLimitExceeded" && spent?.message.contains("agent-runs=200 was used by an earlier run") == true,
                "\(String(describing: spent))")
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 150)

        // Acknowledged by a spec change instead: maxDeletePercent 100 lets the run go ahead.
        let raised = try await runAgain(h, "runs", "5", spec: ["targets": [
            try sqlTarget("agent-runs", database: dbName, table: "agent_runs", maxAge: "7d").merging(["maxDeletePercent": 100]),
            ["name": "reports", "maxDeletePercent": 100, "volume": ["claimName": "reports", "maxAge": "30d"]]]])
        #expect(raised?.lastManualRun?.result == .succeeded && result(raised, "agent-runs")?.deleted == 150, "\(String(describing: raised?.results))")
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 0)
        #expect(raised?.conditions?.find(CleanupPolicyConditions.Ready.self)?.status == .true)
        // spec.notify lists Failed: each refused run is one message (a guard refusal is a failure), the good runs none.
        #expect(try await eventually(.seconds(20)) { try await NotificationIntegrationTests.received(receiver, "cleanup").count >= 3 })
        try await Task.sleep(for: .seconds(1))
        let messages = try await NotificationIntegrationTests.received(receiver, "cleanup").compactMap(\.json)
        #expect(messages.map { $0["event"]?.stringValue } == ["Failed", "Failed", "Failed"], "\(messages)")
        #expect(messages.allSatisfy { $0["reason"]?.stringValue == "DeleteLimitExceeded" && $0["kind"]?.stringValue == "CleanupPolicy" })
        #expect(Set(messages.compactMap { $0["id"]?.stringValue }).count == 3)
        #expect(messages.first?["text"]?.stringValue?.hasPrefix("🚨 CleanupPolicy team/runs: cleanup failed (DeleteLimitExceeded)") == true)
        await db.close()
        await h.stop()
    }

    @Test func badInputGivesClearConditionsAndDeletesNothing() async throws {
        let (dbName, db) = try await database("""
            CREATE TABLE agent_runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL, label text);
            INSERT INTO agent_runs (created_at, label) SELECT now() - g * interval '10 days', 'x' FROM generate_series(1, 100) g;
            """)
        let h = try await harness(.inProcess)
        // A value that cannot turn up by chance: it must appear nowhere but in the Secret.
        let canary = "canary-\(UUID().uuidString)"
        try h.secret("s3-creds", ["AWS_ACCESS_KEY_ID": "AKIA" + canary, "AWS_SECRET_ACCESS_KEY": canary])
        h.startController()
        let s = try await createAndRun(h, "bad", [
            "schedule": "@daily",
            "targets": [
                try sqlTarget("no-table", database: dbName, table: "nope", maxAge: "30d").merging(["maxDeletePercent": 100]),
                try sqlTarget("no-column", database: dbName, table: "agent_runs", column: "finished_at", maxAge: "30d").merging(["maxDeletePercent": 100]),
                try sqlTarget("text-column", database: dbName, table: "agent_runs", column: "label", maxAge: "30d").merging(["maxDeletePercent": 100]),
                ["name": "unreachable", "maxDeletePercent": 100,
                 "s3": ["endpoint": "http://127.0.0.1:1", "bucket": "drop", "credentialsSecretRef": ["name": "s3-creds"], "maxAge": "7d"]],
            ]])
        let reasons = ["no-table", "no-column", "text-column", "unreachable"].map { result(s, $0)?.reason }
        #expect(reasons == ["TableMissing", "ColumnMissing", "NotTimestamp", "StoreUnreachable"], "\(String(describing: s?.results))")
        #expect(result(s, "text-column")?.error?.contains("agent_runs.label is text, not a timestamp or date") == true)
        let last = s?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)
        #expect(last?.status == .false && last?.reason == "TableMissing")
        #expect(last?.message.contains("and 3 more failed targets") == true)
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 100)
        _ = try await eventually(.seconds(10)) { try !h.events(of: "bad").isEmpty }
        let policyJSON = try h.sim.store.get(Backstop.apiVersion, "CleanupPolicy", namespace: "team", name: "bad")
        let surfaces: [(String, [JSONValue])] = [
            ("Events", try h.sim.store.list("v1", "Event", namespace: "team")), ("status", [policyJSON["status"] ?? .null]),
            ("Jobs", try h.sim.store.list("batch/v1", "Job", namespace: "team")), ("Pods", try h.sim.store.list("v1", "Pod", namespace: "team")),
        ]
        for (what, objects) in surfaces {
            #expect(!objects.isEmpty && objects.allSatisfy { !$0.jsonString.contains(canary) }, "the S3 secret value in \(what) (or none to scan)")
        }

        // A non-positive age starts nothing: Ready=False InvalidSpec names the field.
        _ = try await h.client.dynamic(CleanupPolicy.resourceType, namespace: "team").create(
            ["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy", "metadata": ["name": "zero", "namespace": "team"],
             "spec": ["schedule": "@every 1m", "targets": [["name": "r", "volume": ["claimName": "reports", "maxAge": "0d"]]]]])
        let api = h.client.resource(CleanupPolicy.self, namespace: "team")
        _ = try await eventually(.seconds(30)) { try await api.get("zero").status?.conditions?.find(CleanupPolicyConditions.Ready.self) != nil }
        let ready = try await api.get("zero").status?.conditions?.find(CleanupPolicyConditions.Ready.self)
        #expect(ready?.reason == "InvalidSpec" && ready?.message.contains("spec.targets[0].volume.maxAge") == true, "\(String(describing: ready))")
        h.advance(120)
        try await Task.sleep(for: .seconds(2))
        #expect(try h.jobs(of: "zero").isEmpty && (try h.sim.store.list("batch/v1", "Job", namespace: "team")
            .filter { $0["metadata"]?["labels"]?[BackstopLabels.cleanup]?.stringValue == "zero" }.isEmpty))

        // A negative or unparseable age, and a path leaving the claim, are refused by the API server.
        for (field, value, words) in [("maxAge", "-5d", "maxAge"), ("maxAge", "90 days", "maxAge"), ("path", "../etc", "`..` is not allowed")] {
            var volume: [String: JSONValue] = ["claimName": "reports", "maxAge": "30d"]
            volume[field] = .string(value)
            let refusal = await refusal(h, ["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy",
                                             "metadata": ["name": "refused", "namespace": "team"],
                                             "spec": ["schedule": "@daily", "targets": [["name": "r", "volume": .object(volume)]]]])
            #expect(refusal?.contains(words) == true, "\(field)=\(value): \(String(describing: refusal))")
        }
        await db.close()
        await h.stop()
    }
}

extension JSONValue {
    /// The object with `other`'s keys added (test spec building).
    func merging(_ other: [String: JSONValue]) -> JSONValue {
        var object = objectValue ?? [:]
        object.merge(other) { $1 }
        return .object(object)
    }
}
