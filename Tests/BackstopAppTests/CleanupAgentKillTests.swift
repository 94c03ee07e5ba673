import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// `kill -9` of the cleanup agent (the Pod's process, not the operator) part-way through its
/// batched DELETE, with the operator a subprocess bound to manifests/ RBAC: the run is recorded
/// as failed, the batches that committed stay deleted, and the next run deletes exactly the rest.
@Suite(.serialized) struct CleanupAgentKillTests {
    @Test func aRunWhoseAgentIsKilledMidBatchIsRepeatedSafely() async throws {
        let pg = try TestServices.postgres()
        let server = PostgresServer(host: pg.host, port: pg.port, user: pg.user, password: pg.password, bindir: pg.bindir)
        let db = "e2e_cagent_\(UUID().uuidString.prefix(6).lowercased())"
        try await server.psql("CREATE DATABASE \(db)")
        try await server.psql("""
            CREATE TABLE runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
            CREATE INDEX ON runs (created_at);
            INSERT INTO runs (created_at) SELECT now() - interval '400 days' - g * interval '1 second' FROM generate_series(1, 200000) g;
            INSERT INTO runs (created_at) SELECT now() - interval '1 day' FROM generate_series(1, 1000) g;
            """, database: db)
        let e2e = try await E2E.start("cagent")
        let ns = "cagent"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        defer { Task { _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }
        let op = try e2e.startOperator(name: "cagent")
        defer { Task { await op.kill9() } }
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy",
                       "metadata": ["name": "runs", "namespace": .string(ns), "annotations": [Backstop.runNowAnnotation: "1"]],
                       "spec": ["schedule": "@daily", "targets": [[
                           "name": "runs", "maxDeletePercent": 100,
                           "sql": ["connection": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(db),
                                                  "user": .string(pg.user), "passwordSecretRef": ["name": "db", "key": "password"], "sslMode": "disable"],
                                   "table": "runs", "timestampColumn": "created_at", "maxAge": "365d", "batchSize": 100]]]]])
        func count() async throws -> Int {
            Int(try await server.psql("SELECT count(*) FROM runs", database: db).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        func policy() -> CleanupPolicy? {
            (try? e2e.sim.store.get(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: "runs")).flatMap { try? $0.decode(CleanupPolicy.self) }
        }
        // The agent's process id, from its running Pod (KubeSim's containerID is kube-sim://<pid>).
        func agentPid() -> Int32? {
            let pods = (try? e2e.sim.store.list("v1", "Pod", namespace: ns, labelSelector: "backstop.dev/cleanup=runs")) ?? []
            for pod in pods {
                guard pod[path: ["status", "containerStatuses"]]?[0]?["state"]?["running"] != nil,
                      let id = pod[path: ["status", "containerStatuses"]]?[0]?["containerID"]?.stringValue,
                      id.hasPrefix("kube-sim://"), let pid = Int32(id.dropFirst("kube-sim://".count)) else { continue }
                return pid
            }
            return nil
        }
        var pid: Int32?
        #expect(await eventually(.seconds(60)) { pid = agentPid(); return pid != nil }, "no running agent Pod")
        let started = Date()
        while try await count() > 150_000, Date().timeIntervalSince(started) < 120 { try await Task.sleep(for: .milliseconds(20)) }
        let before = try await count()
        try #require(before < 200_000 + 1000 && before > 1000, "the agent deleted nothing or everything before the kill: \(before) rows")
        kill(try #require(pid), SIGKILL)

        // The operator records the run as failed; the committed batches stay deleted.
        #expect(await eventually(.seconds(60)) { policy()?.status?.lastManualRun?.result == .failed },
                "the killed run was not recorded as failed: \(String(describing: policy()?.status))\n\(op.output.suffix(3000))")
        let failed = policy()?.status
        #expect(failed?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)?.status == .false)
        #expect(failed?.conditions?.find(CleanupPolicyConditions.Ready.self)?.reason == "LastRunFailed")
        var left = try await count()
        while true {  // the server may still finish the batch in flight when its client died
            try await Task.sleep(for: .milliseconds(300))
            let now = try await count()
            if now == left { break }
            left = now
        }
        #expect(left < 200_000 + 1000 && left > 1000, "killed with \(left) rows left")

        // The next run deletes exactly the rest, and its status says so.
        _ = try e2e.sim.store.mergePatch(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: "runs",
                                         patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: "2"]]])
        #expect(await eventually(.seconds(120)) {
            let run = policy()?.status?.lastManualRun
            return run?.value == "2" && (run?.result == .succeeded || run?.result == .failed)
        })
        let s = policy()?.status
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s))")
        #expect(s?.results?.first?.deleted == Int64(left - 1000) && s?.lastRunDeleted == Int64(left - 1000),
                "the repeat deletes exactly what was left (\(left - 1000)): \(String(describing: s?.results))")
        #expect(try await count() == 1000, "the new rows are untouched")
        #expect(s?.conditions?.find(CleanupPolicyConditions.Ready.self)?.status == .true)
        #expect(op.isRunning, "the operator was not the process killed")
    }
}
