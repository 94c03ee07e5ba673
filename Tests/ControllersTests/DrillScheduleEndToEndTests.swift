import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// `BackupPolicy.spec.drill` on the wall clock, with the operator as a subprocess on manifests/
/// RBAC: drills are created at their slots, a slot that comes while a restore of the same
/// source runs waits for it, the history limit deletes the older passed drill, and each drill's
/// fresh backup lands in the policy's catalog.
@Suite(.serialized) struct DrillScheduleEndToEndTests {
    static let boundaryTolerance: TimeInterval = 10

    @Test func scheduledDrillsComeOnTimeWaitForARunningRestoreAndKeepTheirHistory() async throws {
        // Start early in a minute, so the first slot comes after the operator is up.
        let second = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        if second > 30 { try await Task.sleep(for: .seconds(61 - second)) }
        let h = try await ControllerHarness(workloads: true)
        try h.claim("backups")
        try h.claim("data")
        try h.claim("scratch")
        _ = try await eventually { try h.claimDirectory("data") != nil }
        let data = try #require(try h.claimDirectory("data"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: "\(data)/a.txt"))
        var spec = BackupPolicySpec(schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
                                    destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "vol")))
        var template = DrillTemplate(scratch: RestoreTarget(volume: VolumeTarget(claimName: "scratch", path: "drill")))
        template.objectives = DrillObjectives(rpo: "1h")
        var schedule = DrillSchedule(schedule: "@every 1m", template: template)
        schedule.historyLimit = 1
        spec.drill = schedule
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "vol", namespace: "team"), spec: spec))
        // A writer that takes 8 s to stop: a restore over the source holds it that long at Quiesce.
        _ = try h.sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "writer", "namespace": "team"],
            "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "writer"]],
                     "template": ["metadata": ["labels": ["app": "writer"]], "spec": [
                        "terminationGracePeriodSeconds": 8,
                        "containers": [["name": "c", "image": "busybox", "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]]]]]],
        ])
        h.startController()
        try await h.annotate("vol", Backstop.runNowAnnotation, "base")
        #expect(try await eventually(.seconds(60)) { try await h.policy("vol").status?.lastBackup?.verified == true })

        func drills() throws -> [DrillRun] {
            try h.sim.store.list("backstop.dev/v1alpha1", "DrillRun", namespace: "team").map { try $0.decode(DrillRun.self) }
        }
        func nextBoundary(after date: Date) -> Date {
            Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        }

        // Slot 1: a drill created within seconds of the minute, run to a pass.
        let first = nextBoundary(after: Date())
        #expect(try await eventually(.seconds(90)) { try drills().count == 1 }, "one drill at the first slot")
        let drill1 = try #require(try drills().first)
        let created1 = try #require(drill1.metadata.creationTimestamp?.date)
        #expect(created1 >= first && created1.timeIntervalSince(first) < Self.boundaryTolerance, "slot \(first), created \(created1)")
        let name1 = try #require(drill1.metadata.name)
        #expect(name1.hasPrefix("vol-drill-"), "named after the policy: \(name1)")
        #expect(try await eventually(.seconds(45)) { try drills().first { $0.metadata.name == name1 }?.status?.result == .passed })
        // Read now: the history limit deletes this drill once the next one passes.
        let backup1 = try #require(try drills().first { $0.metadata.name == name1 }?.status?.backup?.id)

        // Slot 2 comes while a restore of the same source is quiescing its slow writer.
        let slot2 = nextBoundary(after: Date())
        let untilRestore = slot2.timeIntervalSinceNow - 3
        if untilRestore > 0 { try await Task.sleep(for: .seconds(untilRestore)) }
        _ = try h.sim.store.create(RestoreIntegrationTests.restore("over-source", [
            "policyRef": ["name": "vol"], "allowOverwriteSource": true, "quiesce": [["kind": "Deployment", "name": "writer"]],
        ]))
        #expect(try await eventually(.seconds(90)) { try drills().contains { $0.metadata.name != name1 } }, "a drill at the second slot")
        let drill2 = try #require(try drills().first { $0.metadata.name != name1 })
        let created2 = try #require(drill2.metadata.creationTimestamp?.date)
        #expect(created2 >= slot2 && created2.timeIntervalSince(slot2) < Self.boundaryTolerance, "slot \(slot2), created \(created2)")
        let name2 = try #require(drill2.metadata.name)
        #expect(try await eventually(.seconds(90)) { try drills().first { $0.metadata.name == name2 }?.status?.phase == .completed })
        let done2 = try #require(try drills().first { $0.metadata.name == name2 })
        #expect(done2.status?.result == .passed, "\(String(describing: done2.status))")

        let restore = try await h.client.resource(RestoreRequest.self, namespace: "team").get("over-source")
        #expect(restore.status?.phase == .succeeded, "\(String(describing: restore.status))")
        let restoreEnd = try #require(restore.status?.finishedAt?.date)
        let restoreStart = try #require(restore.status?.steps?.first { $0.name == "Quiesce" }?.startedAt?.date)
        #expect(restoreStart < created2 && restoreEnd > created2, "the restore was under way when the slot came: \(restoreStart)–\(restoreEnd), slot drill \(created2)")
        let markerStart = try #require(done2.status?.steps?.first { $0.name == "Marker" }?.startedAt?.date)
        #expect(markerStart >= restoreEnd, "the scheduled drill touched the source only after the restore: \(markerStart) vs \(restoreEnd)")

        // historyLimit 1: the first passed drill is deleted; the policy names the newest.
        let onlyNewest = try await eventually(.seconds(30)) { try drills().map(\.metadata.name) == [name2] }
        let kept = try drills().map(\.metadata.name)
        #expect(onlyNewest, "\(kept)")
        let policy = try await h.policy("vol")
        #expect(policy.status?.lastDrill?.name == name2 && policy.status?.conditions?.isTrue("LastDrillPassed") == true)
        #expect(try h.events(of: "vol").filter { $0.reason == "DrillCreated" }.count == 2)
        // Each drill took its fresh backup through the policy: both in its catalog, beside the first run-now backup.
        let backup2 = try #require(done2.status?.backup?.id)
        let recorded = try await eventually(.seconds(20)) {
            let recent = try await h.policy("vol").status?.recentBackups ?? []
            return recent.count >= 3 && Set([backup1, backup2]).isSubset(of: recent.map(\.id)) && backup1 != backup2
        }
        let recent = try await h.policy("vol").status?.recentBackups
        #expect(recorded, "\(backup1), \(backup2) in \(String(describing: recent))")
        await h.stop()
    }
}
