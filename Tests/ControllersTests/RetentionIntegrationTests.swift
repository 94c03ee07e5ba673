import BackstopCore
import Controllers
import Foundation
import KubeModel
import TestSupport
import Testing

/// With artifacts spanning months already in the store (fabricated manifests), a new policy
/// rediscovers them, and after its next backup the prune Job leaves exactly the retention
/// planner's keep set, which status reports. (12 artifacts: a catalog result must fit the 4 KiB
/// termination message for the preview; larger catalogs report counts without a preview.)
@Suite(.serialized) struct RetentionIntegrationTests {
    @Test func pruningLeavesExactlyThePlannersKeepSet() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        let bound = try await eventually(.seconds(10)) { try h.claimDirectory("backups") != nil }
        #expect(bound)
        let root = try #require(try h.claimDirectory("backups"))
        let layout = try ArtifactLayout(prefix: "ret", policy: "history")
        var items: [RetentionItem] = []
        let now = Date()
        for i in 0..<12 {
            let created = now.addingTimeInterval(-Double(i * 10 + 1) * 86_400)
            let id = ArtifactID.generate(at: created)
            let content = Array("fabricated artifact \(i)".utf8)
            let key = layout.artifactKey(id, fileExtension: "dump")
            let manifest = ArtifactManifest(id: id, policy: "history", key: key, format: "pg_dump-custom", fileExtension: "dump",
                                            createdAt: id.time, completedAt: id.time, sizeBytes: Int64(content.count),
                                            sha256: String(repeating: "0", count: 64), source: SourceIdentity(kind: "postgres"))
            try FileManager.default.createDirectory(atPath: "\(root)/ret/history", withIntermediateDirectories: true)
            try Data(content).write(to: URL(fileURLWithPath: "\(root)/\(key)"))
            try Data(manifest.encoded()).write(to: URL(fileURLWithPath: "\(root)/\(layout.manifestKey(id, fileExtension: "dump"))"))
            items.append(RetentionItem(id: id.description, createdAt: id.time))
        }
        var policy = BackupIntegrationTests.policy("history", pg: pg, database: database, schedule: "@daily")
        policy.spec.destination = BackupDestination(volume: VolumeDestination(claimName: "backups", path: "ret"))
        policy.spec.retention = RetentionPolicy(keepLast: 2, keepDaily: 3, keepMonthly: 3)
        try h.create(policy)
        h.startController()
        // Rediscovered: count, and the dry-run view of what the next prune deletes and why.
        #expect(try await eventually { try await h.policy("history").status?.artifacts?.count == 12 })
        let preview = try #require(try await h.policy("history").status?.retentionPlan)
        #expect((preview.wouldDelete?.count ?? 0) > 0)
        #expect(preview.wouldDelete?.allSatisfy { !$0.reason.isEmpty } == true)

        try await h.annotate("history", Backstop.runNowAnnotation, "now")
        let done = try await eventually(.seconds(90)) {
            let s = try await h.policy("history").status
            return s?.lastManualRun?.result == .succeeded && s?.lastPrune != nil && s?.activeJob == nil
                && s?.artifacts?.count != 13
        }
        #expect(done)
        let s = try #require(try await h.policy("history").status)
        let newest = try #require(s.lastBackup)
        items.append(RetentionItem(id: newest.id, createdAt: try #require(newest.time?.date)))
        let rules = RetentionRules(keepLast: 2, keepDaily: 3, keepMonthly: 3)
        let expected = Set(RetentionPlanner.plan(items, rules: rules, now: Date()).decisions.filter(\.keep).map(\.id))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: "\(root)/ret/history")
            .filter { $0.hasSuffix(ArtifactLayout.manifestSuffix) }
            .map { String($0.prefix { $0 != "." }) })
        #expect(left == expected)
        #expect(s.lastPrune?.kept == expected.count)
        #expect(s.lastPrune?.deleted == items.count - expected.count)
        #expect(s.artifacts?.count == expected.count)
        await h.stop()
    }
}
