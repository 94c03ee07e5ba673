import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import Postgres
import TestSupport
import Testing

/// A drill's loose ends: a result the policy never heard of (the operator stopped between the
/// two writes).
@Suite(.serialized) struct DrillRecoveryTests {
    func drills(_ h: ControllerHarness) -> ResourceClient<DrillRun> { h.client.resource(DrillRun.self, namespace: "team") }

    func completed(_ h: ControllerHarness, _ name: String, within seconds: Int = 120) async throws -> DrillRun {
        _ = try await eventually(.seconds(seconds)) { try await drills(h).get(name).status?.phase == .completed }
        return try await drills(h).get(name)
    }

    /// A drill as the operator leaves it when it stops right after writing Completed: finalizer
    /// still on, the policy not told.
    func completedDrill(_ h: ControllerHarness, _ name: String, policy: String, result: DrillResult, finished: Date) async throws {
        _ = try h.sim.store.create(["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun",
                                    "metadata": ["name": .string(name), "namespace": "team", "finalizers": [.string(DrillRunController.finalizer)]],
                                    "spec": ["policyRef": ["name": .string(policy)], "scratch": ["volume": ["claimName": "scratch"]]]])
        var drill = try await drills(h).get(name)
        var status = DrillRunStatus()
        status.phase = .completed
        status.result = result
        status.startedAt = Time(finished.addingTimeInterval(-20))
        status.finishedAt = Time(finished)
        status.message = result == .passed ? "passed: backup b1 restored and verified" : "List failed: ChecksumMismatch: the artifact is damaged"
        status.measured = DrillMeasurements(rtoSeconds: 7, rpoSeconds: 31)
        drill.status = status
        _ = try await drills(h).updateStatus(drill)
    }

    @Test func aCompletedDrillThePolicyDoesNotShowIsRecordedWithItsWarningAndMetrics() async throws {
        let h = try await ControllerHarness()
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "files", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups")))))
        let now = Date()
        // The newest finished drill failed; an older one passed (its late record must not win).
        try await completedDrill(h, "crashed", policy: "files", result: .failed, finished: now.addingTimeInterval(-60))
        try await completedDrill(h, "older", policy: "files", result: .passed, finished: now.addingTimeInterval(-3600))
        #expect(try await h.policy("files").status?.lastDrill == nil)
        h.startController()
        let recorded = try await eventually(.seconds(20)) {
            let p = try await h.policy("files")
            return p.status?.lastDrill?.name == "crashed" && p.status?.lastDrill?.result == .failed
                && p.status?.conditions?.find("LastDrillPassed")?.status == .false
        }
        let policy = try await h.policy("files")
        #expect(recorded, "\(String(describing: policy.status?.lastDrill)) \(String(describing: policy.status?.conditions))")
        #expect(policy.status?.lastDrill?.rpoSeconds == 31 && policy.status?.lastDrill?.rtoSeconds == 7)
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "files").contains { $0.type == "Warning" && $0.reason == "DrillFailed" && $0.message.contains("DrillRun crashed") }
        })
        for name in ["crashed", "older"] {
            #expect(try await eventually(.seconds(10)) { try await drills(h).get(name).metadata.finalizers?.isEmpty ?? true }, "\(name): the finalizer goes")
        }
        _ = try await eventually(.seconds(5)) { try await h.metricsText().contains("backstop_drill_rpo_seconds") }
        let metrics = try await h.metricsText()
        #expect(metrics.contains("backstop_drill_total{namespace=\"team\",policy=\"files\",result=\"failed\"} 1"), "\(metrics)")
        #expect(metrics.contains("backstop_drill_rpo_seconds{namespace=\"team\",policy=\"files\"} 31"), "\(metrics)")
        // Said once: another look at the completed drills writes nothing and warns no more.
        try await h.annotate("files", "test/touch", "1")
        _ = try await drills(h).patch("crashed", .merge(["metadata": ["annotations": ["test/touch": "1"]]]))
        try await Task.sleep(for: .seconds(2))
        #expect(try h.events(of: "files").filter { $0.reason == "DrillFailed" }.count == 1)
        #expect(try await h.policy("files").status?.lastDrill?.name == "crashed")
        await h.stop()
    }
}
