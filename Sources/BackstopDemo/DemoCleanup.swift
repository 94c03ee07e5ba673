import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The demo's cleanup act: the OpenClaw agent runbook's retention table as a CleanupPolicy against a
/// demo database (an `agent_runs` table with a row a day over two years, 365 days kept) and a
/// claim of back-dated report files (90 days; benchmark results 30 days) — first a dry run,
/// then the real run, with what each reported.
enum DemoCleanup {
    static let name = "retention"
    static let claim = "demo-reports"

    static func run(_ sim: KubeSim, seed: DemoSeed, postgres: PostgresServer, say: @Sendable (String) -> Void) async throws -> CleanupPolicy? {
        // A database of its own: the restore act rolls the backed-up databases back meanwhile.
        guard let ns = seed.policies.first?["metadata"]?["namespace"]?.stringValue else { return nil }
        let database = "demo_agent_runs"
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
        let files: [(String, Double)] = [("daily-0101.html", 200), ("daily-0601.html", 95), ("daily-1101.html", 20),
                                         ("benchmark/run-a.json", 45), ("benchmark/run-b.json", 31), ("benchmark/run-c.json", 3)]
        for (path, days) in files {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data(repeating: 0x2e, count: 2048))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-days * 86400)], ofItemAtPath: url.path)
        }
        _ = try sim.store.create(["apiVersion": .string(Backstop.apiVersion), "kind": "CleanupPolicy",
                                  "metadata": ["name": .string(name), "namespace": .string(ns), "annotations": .object([Backstop.runNowAnnotation: "preview"])],
                                  "spec": ["schedule": "30 3 * * *", "dryRun": true, "targets": [
                                      ["name": "agent-runs", "maxDeletePercent": 60,
                                       "sql": ["connection": ["host": "127.0.0.1", "port": .int(Int64(postgres.port)), "database": .string(database),
                                                              "user": .string(DemoSeed.demoUser),
                                                              "passwordSecretRef": ["name": .string(DemoSeed.secretName), "key": .string(DemoSeed.secretKey)]],
                                               "table": "agent_runs", "timestampColumn": "created_at", "maxAge": "365d", "batchSize": 100]],
                                      ["name": "reports", "maxDeletePercent": 100, "volume": ["claimName": .string(claim), "include": ["*.html"], "maxAge": "90d"]],
                                      ["name": "benchmark-results", "maxDeletePercent": 100, "volume": ["claimName": .string(claim), "path": "benchmark", "maxAge": "30d"]],
                                  ]]])
        say("Cleanup: CleanupPolicy \(ns)/\(name) (the OpenClaw agent runbook's retention table) against \(database).agent_runs "
            + "(730 daily rows) and PVC \(claim) (\(files.count) back-dated report files); first a dry run")
        guard let preview = try await waitForRun(sim, ns, "preview") else { return nil }
        say("Cleanup dry run: \(summary(preview))")
        _ = try sim.store.mergePatch(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: name,
                                     patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: "apply"]], "spec": ["dryRun": false]])
        guard let applied = try await waitForRun(sim, ns, "apply") else { return preview }
        say("Cleanup real run: \(summary(applied))")
        return applied
    }

    static func waitForRun(_ sim: KubeSim, _ ns: String, _ value: String) async throws -> CleanupPolicy? {
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
