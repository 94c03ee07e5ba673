import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim
import TestSupport
import Testing

/// Which backup a RestoreRequest restores, through the controller: a selector nothing matches
/// fails before anything is stopped or touched; `before` picks the backup of that time; a
/// finished request goes after `ttlSecondsAfterFinished`; the restore metrics count them all.
@Suite(.serialized) struct RestoreSelectionTests {
    typealias R = RestoreIntegrationTests

    @Test func theSelectorPicksTheBackupOfItsTimeAndOneThatMatchesNothingTouchesNothing() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("orders", pg: pg, database: database)
        policy.spec.retention = RetentionPolicy(keepLast: 5)
        try h.create(policy)
        h.startController()
        // Two backups in different seconds (artifact times have whole seconds): 500 rows, then 510.
        try await h.annotate("orders", Backstop.runNowAnnotation, "first")
        #expect(try await eventually(.seconds(90)) { try await h.policy("orders").status?.lastBackup?.verified == true })
        let first = try #require(try await h.policy("orders").status?.lastBackup?.id)
        try await Task.sleep(for: .milliseconds(1500))
        try await R.execute(pg, database, "INSERT INTO entries SELECT g, 'later' FROM generate_series(501, 510) g")
        try await h.annotate("orders", Backstop.runNowAnnotation, "second")
        #expect(try await eventually(.seconds(90)) {
            let last = try await h.policy("orders").status?.lastBackup
            return last?.id != first && last?.verified == true
        })
        _ = try h.sim.store.create(R.writer(pg, database: database, replicas: 2))
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["status", "readyReplicas"]] == 2
        })
        let oid = try await RestoreFailureTests.tableOID(pg, database)

        // Nothing matches: an id no backup has, a time before every backup.
        let fenced: JSONValue = [["kind": "Deployment", "name": "writer"]]
        _ = try h.sim.store.create(R.restore("no-such-id", ["policyRef": ["name": "orders"], "allowOverwriteSource": true,
                                                           "backup": ["id": "20200101T000000Z-abcd1234"], "quiesce": fenced]))
        _ = try h.sim.store.create(R.restore("too-early", ["policyRef": ["name": "orders"], "allowOverwriteSource": true,
                                                          "backup": ["before": "2000-01-01T00:00:00Z"], "quiesce": fenced]))
        for (name, selector) in [("no-such-id", "id 20200101T000000Z-abcd1234"), ("too-early", "at or before 2000-01-01T00:00:00Z")] {
            let r = try await R().finished(h, name)
            let s = try #require(r.status)
            #expect(s.phase == .failed, "\(name): \(String(describing: s))")
            #expect(s.steps?.map(\.phase) == [.succeeded, .failed, .skipped, .skipped, .skipped, .succeeded], "\(name): \(String(describing: s.steps))")
            #expect(s.conditions?.first { $0.type == "Failed" }?.reason == "SelectFailed")
            let message = s.message ?? ""
            #expect(message.contains("no backup of policy orders matches spec.backup (\(selector))") && message.contains("name an existing id or a later time"),
                    "\(name) says what to fix: \(message)")
            #expect(try h.events(of: name).contains { $0.reason == "SelectFailed" && $0.message.hasPrefix("NoMatchingBackup: ") })
            #expect(s.savedReplicas == nil && s.backup == nil, "\(name): nothing chosen, nothing saved")
            let jobs = try h.sim.store.list("batch/v1", "Job", namespace: "team", labelSelector: "backstop.dev/restore=\(name)")
            #expect(jobs.compactMap { $0[path: ["metadata", "labels", BackstopLabels.operation]]?.stringValue } == ["select"])
        }
        #expect(try FenceHistory.replicaChanges(h.sim.store, workload: "writer") == [2], "the writer was never stopped")
        #expect(try await RestoreFailureTests.tableOID(pg, database) == oid, "the database was not restored over")

        // `before` the first backup's time: the first (500 rows), not the newer one; gone after its TTL.
        let firstTime = try ArtifactID(parsing: first).time
        _ = try h.sim.store.create(R.restore("as-of-first", [
            "policyRef": ["name": "orders"], "mode": "Create", "target": ["postgres": ["database": .string("\(database)_asof")]],
            "backup": ["before": .string(UTCTimestamp.rfc3339(firstTime))], "ttlSecondsAfterFinished": 3,
        ]))
        let asOf = try await R().finished(h, "as-of-first")
        #expect(asOf.status?.phase == .succeeded, "\(String(describing: asOf.status))")
        #expect(asOf.status?.backup?.id == first)
        #expect(try await R.count(pg, "\(database)_asof") == 500)
        let api = h.client.resource(RestoreRequest.self, namespace: "team")
        #expect(try await eventually(.seconds(30)) {
            (try? h.sim.store.get("backstop.dev/v1alpha1", "RestoreRequest", namespace: "team", name: "as-of-first")) == nil
        }, "deleted after ttlSecondsAfterFinished")
        #expect(try await api.get("too-early").status?.phase == .failed, "a request without a TTL stays")

        let metrics = try await h.metricsText()
        #expect(metrics.contains("backstop_restore_total{namespace=\"team\",policy=\"orders\",result=\"failed\"} 2"), "\(metrics)")
        #expect(metrics.contains("backstop_restore_total{namespace=\"team\",policy=\"orders\",result=\"succeeded\"} 1"))
        #expect(metrics.contains("backstop_restore_duration_seconds_count{namespace=\"team\",policy=\"orders\"} 3"),
                "\(metrics.split(separator: "\n").filter { $0.contains("restore") })")
        await h.stop()
    }
}
