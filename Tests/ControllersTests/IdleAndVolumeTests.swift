import Controllers
import Foundation
import KubeModel
import TestSupport
import Testing

/// An idle policy costs no API request (reads come from caches, wake-ups are timers), and a
/// volume source is read from its claim through the same Job shape.
@Suite(.serialized) struct IdleAndVolumeTests {
    @Test func anIdlePolicyMakesNoAPIRequests() async throws {
        let pg = try TestServices.postgres()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("idle", pg: pg, database: "postgres", schedule: "@daily")
        policy.spec.verify?.staleAfter = "30h"
        try h.create(policy)
        h.startController()
        // Settled: the catalog ran and its result is in status.
        #expect(try await eventually { try await h.policy("idle").status?.artifacts?.count == 0 })
        #expect(try await eventually { try h.jobs(of: "idle").allSatisfy { $0["metadata"]?["annotations"]?[BackstopLabels.recorded] == "true" } })
        try await Task.sleep(for: .seconds(1))
        h.sim.requestLog.clear()
        try await Task.sleep(for: .seconds(5))
        // Watches stay open and the leader renews its Lease; nothing else (no GET, LIST, PUT, PATCH, POST) is sent.
        let requests = h.sim.requestLog.entries.filter {
            $0.query["watch"] != "true" && $0.query["watch"] != "1" && !$0.path.hasPrefix("/apis/coordination.k8s.io/")
        }
        #expect(requests.isEmpty, "\(requests.map { "\($0.method) \($0.path)" })")
        await h.stop()
    }

    @Test func aVolumeSourceIsBackedUpFromItsClaim() async throws {
        let h = try await ControllerHarness()
        try h.claim("backups")
        try h.claim("data")
        let bound = try await eventually(.seconds(10)) { try h.claimDirectory("data") != nil }
        #expect(bound)
        let dir = try #require(try h.claimDirectory("data"))
        try FileManager.default.createDirectory(atPath: "\(dir)/app/uploads", withIntermediateDirectories: true)
        try Data(repeating: 7, count: 4096).write(to: URL(fileURLWithPath: "\(dir)/app/uploads/a.bin"))
        var policy = BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(volume: VolumeSource(claimName: "data", path: "app")),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "files"))))
        policy.metadata.annotations = [Backstop.runNowAnnotation: "1"]
        try h.create(policy)
        h.startController()
        let done = try await eventually(.seconds(60)) {
            let result = try await h.policy("files").status?.lastManualRun?.result
            return result != nil && result != .running
        }
        let s = try await h.policy("files").status
        #expect(done)
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s?.conditions))")
        #expect(s?.lastBackup?.verified == true)
        let store = try #require(try h.claimDirectory("backups"))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(store)/files/files")
        #expect(files.contains { $0.hasSuffix(".manifest.json") })
        await h.stop()
    }
}
