import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import YAML

/// The demo's cleanup act: docs/examples/000-cleanup.yaml (the OpenClaw agent runbook's retention
/// table) applied against a demo database (an `agent_runs` table with a row a day over two years,
/// 365 days kept) and a claim of back-dated report files (90 days; benchmark results 30 days) —
/// first a dry run, then the real run, with what each reported. The example is adapted as the
/// seed's BackupPolicies are: its connection points at the local server and its claims at the
/// demo's; its S3 targets are left out (the demo has no object store).
enum DemoCleanup {
    static let exampleFile = "000-cleanup.yaml"
    static let claim = "demo-reports"
    static let database = "demo_agent_runs"

    /// The example's CleanupPolicy adapted to the demo, and the targets left out; the built-in
    /// equivalent when docs/examples is not at hand.
    static func policy(examples: URL?, namespace: String, postgresPort: Int) -> (policy: JSONValue, leftOut: [String], source: String) {
        let text = examples.flatMap { try? String(contentsOf: $0.appendingPathComponent(exampleFile), encoding: .utf8) }
        let found = text.flatMap { try? YAML.parse($0) }?.first { $0["kind"]?.stringValue == "CleanupPolicy" }
        let example = found ?? builtin
        var targets: [JSONValue] = []
        var leftOut: [String] = []
        for var target in example["spec"]?["targets"]?.arrayValue ?? [] {
            if var sql = target["sql"] {
                sql["connection"] = ["host": "127.0.0.1", "port": .int(Int64(postgresPort)), "database": .string(database),
                                     "user": .string(DemoSeed.demoUser),
                                     "passwordSecretRef": ["name": .string(DemoSeed.secretName), "key": .string(DemoSeed.secretKey)]]
                target["sql"] = sql
            } else if target["volume"] != nil {
                target["volume"]?["claimName"] = .string(claim)
            } else {
                leftOut.append(target["name"]?.stringValue ?? "?")
                continue
            }
            targets.append(target)
        }
        var spec = example["spec"] ?? [:]
        spec["targets"] = .array(targets)
        spec["dryRun"] = true
        spec["notify"] = nil
        spec["jobTemplate"] = nil
        let policy: JSONValue = ["apiVersion": .string(Backstop.apiVersion), "kind": "CleanupPolicy",
                                 "metadata": ["name": example["metadata"]?["name"] ?? "openclaw-retention", "namespace": .string(namespace),
                                              "annotations": .object([Backstop.runNowAnnotation: "preview"])],
                                 "spec": spec]
        return (policy, leftOut, found == nil ? "a built-in copy of docs/examples/\(exampleFile)" : "docs/examples/\(exampleFile)")
    }

    static func run(_ sim: KubeSim, seed: DemoSeed, examples: URL?, postgres: PostgresServer, say: @Sendable (String) -> Void) async throws -> CleanupPolicy? {
        // A database of its own: the restore act rolls the backed-up databases back meanwhile.
        guard let ns = seed.namespaces.contains("openclaw-agent-staging") ? "openclaw-agent-staging" : seed.namespaces.first else { return nil }
        try await postgres.psql("SELECT 'CREATE DATABASE \(database) OWNER \(DemoSeed.demoUser)' "
            + "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '\(database)') \\gexec")
        try await postgres.psql("""
            CREATE TABLE IF NOT EXISTS agent_runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL, output text);
            TRUNCATE agent_runs;
            INSERT INTO agent_runs (created_at, output) SELECT now() - g * interval '1 day' - interval '1 hour', 'run ' || g FROM generate_series(0, 729) g;
            ALTER TABLE agent_runs OWNER TO \(DemoSeed.demoUser);
            """, database: database)
        _ = try sim.store.create(["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": .string(claim), "namespace": .string(ns)],
                                  "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]])
        var directory: String?
        for _ in 0..<100 where directory == nil {
            directory = (try? sim.store.get("v1", "PersistentVolumeClaim", namespace: ns, name: claim))?["metadata"]?["annotations"]?["kube-sim.dev/local-path"]?.stringValue
            if directory == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard let directory else { return nil }
        // Half of benchmark/ is old: within the guard's default of 50 %.
        let files: [(String, Double)] = [("daily-0101.html", 200), ("daily-0601.html", 95), ("daily-1101.html", 20),
                                         ("benchmark/run-a.json", 45), ("benchmark/run-b.json", 31), ("benchmark/run-c.json", 3),
                                         ("benchmark/run-d.json", 10)]
        for (path, days) in files {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data(repeating: 0x2e, count: 2048))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-days * 86400)], ofItemAtPath: url.path)
        }
        let (policy, leftOut, source) = Self.policy(examples: examples, namespace: ns, postgresPort: postgres.port)
        _ = try sim.store.create(policy)
        let name = policy["metadata"]?["name"]?.stringValue ?? ""
        say("Cleanup: CleanupPolicy \(ns)/\(name) from \(source) (the OpenClaw agent runbook's retention table) against \(database).agent_runs "
            + "(730 daily rows) and PVC \(claim) (\(files.count) back-dated report files)"
            + (leftOut.isEmpty ? "" : "; left out (no object store in the demo): \(leftOut.joined(separator: ", "))") + "; first a dry run")
        guard let preview = try await waitForRun(sim, ns, name, "preview") else { return nil }
        say("Cleanup dry run: \(summary(preview))")
        _ = try sim.store.mergePatch(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: name,
                                     patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: "apply"]], "spec": ["dryRun": false]])
        guard let applied = try await waitForRun(sim, ns, name, "apply") else { return preview }
        say("Cleanup real run: \(summary(applied))")
        return applied
    }

    /// Used when docs/examples is not at hand: the example's SQL and volume targets.
    static let builtin: JSONValue = [
        "kind": "CleanupPolicy", "metadata": ["name": "openclaw-retention"],
        "spec": ["schedule": "30 3 * * *", "targets": [
            ["name": "agent-runs", "sql": ["table": "agent_runs", "timestampColumn": "created_at", "maxAge": "365d", "batchSize": 10000, "vacuum": true]],
            ["name": "reports", "volume": ["maxAge": "90d"]],
            ["name": "benchmark-reports", "volume": ["path": "benchmark", "maxAge": "30d"]],
        ]]]

    static func waitForRun(_ sim: KubeSim, _ ns: String, _ name: String, _ value: String) async throws -> CleanupPolicy? {
        while !Task.isCancelled {
            let policy = (try? sim.store.get(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: name)).flatMap { try? $0.decode(CleanupPolicy.self) }
            if let run = policy?.status?.lastManualRun, run.value == value, let result = run.result, result != .running { return policy }
            try await Task.sleep(for: .milliseconds(300))
        }
        return nil
    }

    /// `agent-runs: would delete 365 of 730 rows (…)`, one clause per target.
    static func summary(_ p: CleanupPolicy) -> String {
        let dry = p.status?.lastRunDryRun == true
        let parts = (p.status?.results ?? []).map { r -> String in
            if let error = r.error { return "\(r.target): \(r.reason ?? "failed"): \(error)" }
            let n = (dry ? r.wouldDelete : r.deleted) ?? 0
            let range = [r.oldest, r.newest].compactMap { $0.map { String($0.rfc3339.prefix(10)) } }.joined(separator: "…")
            return "\(r.target): \(dry ? "would delete" : "deleted") \(n) of \(r.total ?? 0)" + (range.isEmpty ? "" : " (\(range))")
        }
        return parts.joined(separator: "; ")
    }
}
