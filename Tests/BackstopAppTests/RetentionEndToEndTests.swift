import BackstopApp
import BackstopDemo
import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// Retention end to end: artifacts spanning months (fabricated copies of a real backup, with
/// their manifests) are pruned by the agent Job the operator starts after a backup, to exactly
/// the keep set of BackstopCore's RetentionPlanner, and status reports the prune.
@Suite(.serialized) struct RetentionEndToEndTests {
    static let rules = RetentionRules(keepLast: 2, keepDaily: 4, keepWeekly: 3, keepMonthly: 4)

    @Test func pruneKeepsExactlyThePlannersKeepSet() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await ResilienceTests.createDatabase(pg, rows: 200)
        let e2e = try await E2E.start("retention")
        let ns = "ret"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        let store = try await e2e.volume(ns, "backups")
        var policy = ResilienceTests.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "0 0 1 1 *")
        policy["spec"]?["retention"] = ["keepLast": 2, "keepDaily": 4, "keepWeekly": 3, "keepMonthly": 4]
        // A yearly schedule: the shared policy's staleAfter (1h) would be rejected as shorter than the interval.
        policy[path: ["spec", "verify", "staleAfter"]] = nil
        try e2e.apply(policy)
        let op = try e2e.startOperator()
        defer { Task { await op.kill9(); _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }
        let dir = store.appendingPathComponent("pg/pg")

        // One real backup to copy.
        try await runNow(e2e, ns, "first")
        let first = await e2e.waitFor(ns, "pg") { $0.status?.lastBackup != nil && $0.status?.lastPrune != nil }
        let real = try #require(first?.status?.lastBackup?.id, """
            \(first.map(Demo.summary) ?? "no policy") \(String(describing: first?.status?.conditions))
            jobs: \(e2e.jobs(ns, policy: "pg").map { "\($0["metadata"]?["name"]?.stringValue ?? "") \($0["status"]?.jsonString ?? "")" })
            \(op.output.suffix(3000))
            """)
        let manifestName = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .first { $0.hasPrefix(real) && $0.hasSuffix(ArtifactLayout.manifestSuffix) })
        let manifestBytes = try Data(contentsOf: dir.appendingPathComponent(manifestName))
        let original = try ArtifactManifest.decode(manifestBytes)
        let artifactBytes = try Data(contentsOf: dir.appendingPathComponent(URL(fileURLWithPath: original.key).lastPathComponent))

        // 60 fabricated artifacts over ~7 months, irregularly spaced (several per day at times).
        let layout = try ArtifactLayout(prefix: "pg", policy: "pg")
        var generator = SystemRandomNumberGenerator()
        var offset: TimeInterval = 3600
        for i in 0..<60 {
            offset += Double([1800, 7200, 30_000, 86_400, 200_000, 400_000][i % 6]) + Double(i * 37)
            let id = ArtifactID.generate(at: Date().addingTimeInterval(-offset), using: &generator)
            var m = original
            m.id = id
            m.createdAt = id.time
            m.completedAt = id.time
            m.key = layout.artifactKey(id, fileExtension: original.fileExtension)
            try artifactBytes.write(to: store.appendingPathComponent(m.key))
            try Data(try m.encoded()).write(to: store.appendingPathComponent(layout.manifestKey(id, fileExtension: original.fileExtension)))
        }
        func ids() throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(ArtifactLayout.manifestSuffix) }
                .compactMap { layout.parse(key: "pg/pg/\($0)")?.id.description }
        }
        let before = try ids()
        #expect(before.count >= 61)

        // The next backup is followed by a prune; it leaves exactly the planner's keep set.
        let trigger = Date()
        try await runNow(e2e, ns, "second")
        let pruned = await e2e.waitFor(ns, "pg", timeout: .seconds(90)) {
            ($0.status?.lastPrune?.time?.date ?? .distantPast) >= trigger.addingTimeInterval(-1) && ($0.status?.lastPrune?.deleted ?? 0) > 0
                // …and the catalog Job that follows a prune has refreshed the totals.
                && $0.status?.artifacts?.count == $0.status?.lastPrune?.kept
        }
        let status = try #require(pruned?.status, "\(op.output.suffix(3000))")
        let pruneTime = try #require(status.lastPrune?.time?.date)
        let after = Set(try ids())
        // The planner over everything that existed when the prune ran: before + the new backup.
        let newBackup = try #require(status.lastBackup?.id)
        let universe = Set(before + [newBackup])
        let items = try universe.map { RetentionItem(id: $0, createdAt: try ArtifactID(parsing: $0).time) }
        let plan = RetentionPlanner.plan(items, rules: Self.rules, now: pruneTime)
        let expected = Set(plan.decisions.filter(\.keep).map(\.id))
        #expect(after == expected, "kept \(after.subtracting(expected).sorted()) extra, \(expected.subtracting(after).sorted()) missing")
        let story = e2e.events(ns, about: "pg").map { "\($0["reason"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" }
        let pruneResults = ((try? e2e.sim.store.list("v1", "Pod", namespace: ns)) ?? [])
            .filter { ($0["metadata"]?["name"]?.stringValue ?? "").contains("prune") }
            .map { $0[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "terminated", "message"]]?.stringValue ?? "no message" }
        #expect(status.lastPrune?.deleted == plan.deleteCount, "events: \(story)\nprune results: \(pruneResults)\n\(op.output.suffix(6000))")
        #expect(status.lastPrune?.kept == plan.keptCount)
        #expect(status.artifacts?.count == plan.keptCount, "events: \(story)\n\(op.output.suffix(6000))")
        // Deleted artifacts lose their data file too, not only the manifest.
        let dataFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(ArtifactLayout.manifestSuffix) && !$0.hasPrefix(".") }
        #expect(dataFiles.count == expected.count, "\(dataFiles.count) data files for \(expected.count) kept")
    }

    func runNow(_ e2e: E2E, _ ns: String, _ value: String) async throws {
        _ = try e2e.sim.store.mergePatch(Backstop.apiVersion, "BackupPolicy", namespace: ns, name: "pg",
                                         patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: .string(value)]]])
    }
}
