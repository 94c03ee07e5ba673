import BackstopApp
import Foundation
import KubeModel
import Testing

@Suite struct StatusReportTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(_ name: String, namespace: String = "prod", conditions: [Condition] = [],
                       lastSuccess: TimeInterval? = nil, lastVerified: TimeInterval? = nil, next: TimeInterval? = nil,
                       artifacts: Int? = nil, suspend: Bool? = nil) -> BackupPolicy {
        var spec = BackupPolicySpec(schedule: "@daily",
                                    source: BackupSource(postgres: PostgresSource(host: "db", database: "app", user: "app")),
                                    destination: BackupDestination(volume: VolumeDestination(claimName: "backups")))
        spec.suspend = suspend
        var status = BackupPolicyStatus()
        status.conditions = conditions
        status.lastSuccessfulTime = lastSuccess.map { Time(now.addingTimeInterval(-$0)) }
        status.lastVerifiedTime = lastVerified.map { Time(now.addingTimeInterval(-$0)) }
        status.nextScheduleTime = next.map { Time(now.addingTimeInterval($0)) }
        status.artifacts = artifacts.map { ArtifactSummary(count: $0) }
        return BackupPolicy(metadata: ObjectMeta(name: name, namespace: namespace), spec: spec, status: status)
    }

    static func condition(_ type: String, _ status: ConditionStatus, _ reason: String, _ message: String = "") -> Condition {
        Condition(type: type, status: status, reason: reason, message: message, lastTransitionTime: Time(now))
    }

    @Test func failingPoliciesComeFirstWithTheirReasonInFull() throws {
        let healthy = Self.policy("a-healthy", conditions: [Self.condition("Ready", .true, "BackupSucceeded")],
                                  lastSuccess: 3600, lastVerified: 3600, next: 600, artifacts: 7)
        let failing = Self.policy("z-failing", conditions: [
            Self.condition("Ready", .false, "BackupFailed", "see LastBackupSucceeded"),
            Self.condition("LastBackupSucceeded", .false, "AuthenticationFailed", "password authentication failed for user \"app\""),
        ], lastSuccess: 3 * 86400, artifacts: 2)
        let text = StatusReport.render([healthy, failing], now: Self.now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("NAMESPACE"))
        #expect(lines[1].contains("z-failing") && lines[1].contains("3d ago") && lines[1].contains("AuthenticationFailed"))
        #expect(lines[1].contains("never"))  // never verified
        #expect(lines[2].contains("a-healthy") && lines[2].contains("1h ago") && lines[2].contains("in 10m") && lines[2].contains(" 7 "))
        #expect(text.contains("2 policies, 1 healthy, 1 need attention."))
        #expect(text.contains("prod/z-failing: AuthenticationFailed: password authentication failed for user \"app\""))
        // Columns line up: each name starts under the NAME header.
        let column = lines[0].range(of: "NAME ")!.lowerBound.utf16Offset(in: lines[0])
        #expect(lines[1].range(of: "z-failing")!.lowerBound.utf16Offset(in: lines[1]) == column)
        #expect(lines[2].range(of: "a-healthy")!.lowerBound.utf16Offset(in: lines[2]) == column)
    }

    @Test(arguments: [
        ([("Ready", "False", "SecretMissing")], "SecretMissing"),
        ([("Ready", "False", "BackupStale"), ("Stale", "True", "BackupStale")], "BackupStale"),
        ([("Ready", "True", "Ok"), ("Verified", "False", "ChecksumMismatch")], "ChecksumMismatch"),
        ([("Ready", "False", "BackupFailed"), ("LastBackupSucceeded", "False", "ToolFailed"), ("Stale", "True", "BackupStale")], "ToolFailed"),
        ([("Ready", "True", "Ok"), ("LastBackupSucceeded", "True", "Ok"), ("Stale", "False", "Fresh")], nil),
        ([("Ready", "True", "Ok"), ("LastDrillPassed", "False", "DrillFailed")], "DrillFailed"),
    ] as [([(String, String, String)], String?)])
    func problemPicksTheMostSpecificCondition(conditions: [(String, String, String)], expected: String?) {
        let p = Self.policy("p", conditions: conditions.map { Self.condition($0.0, ConditionStatus(rawValue: $0.1), $0.2) })
        #expect(StatusReport.problem(p).map { String($0.prefix(while: { $0 != ":" })) } == expected)
    }

    @Test func suspendedPolicyIsReported() {
        let p = Self.policy("p", conditions: [Self.condition("Ready", .true, "Ok")], suspend: true)
        #expect(StatusReport.problem(p) == "Suspended: spec.suspend is true")
    }

    @Test(arguments: [(5, "5s"), (119, "119s"), (120, "2m"), (3599, "59m"), (3600, "1h"), (3 * 3600 + 300, "3h5m"),
                      (9 * 3600, "9h"), (50 * 3600, "2d2h"), (4 * 86400 + 7200, "4d")])
    func ageReadsLikeKubectl(seconds: Int, expected: String) {
        #expect(StatusReport.age(Self.now.addingTimeInterval(-Double(seconds)), now: Self.now) == expected)
    }

    @Test func emptyListSaysSo() {
        #expect(StatusReport.render([], now: Self.now) == "No BackupPolicies found.\n")
    }

    @Test func runningRestoresShowTheirStepAndWhatTheyWaitForAndTodaysFailuresTheirReason() {
        func restore(_ name: String, phase: RestorePhase, step: String?, started: TimeInterval, finished: TimeInterval? = nil,
                     running message: String? = nil, failure: String? = nil) -> RestoreRequest {
            var status = RestoreRequestStatus()
            status.phase = phase
            status.currentStep = step
            status.startedAt = Time(Self.now.addingTimeInterval(-started))
            status.finishedAt = finished.map { Time(Self.now.addingTimeInterval(-$0)) }
            status.backup = BackupReference(id: "20261207T020000Z-ab12")
            status.message = failure
            if let message, let step { status.steps = [StepStatus(name: step, phase: .running, message: message)] }
            return RestoreRequest(metadata: ObjectMeta(name: name, namespace: "prod"),
                                  spec: RestoreRequestSpec(policyRef: LocalObjectReference(name: "orders")), status: status)
        }
        let text = StatusReport.renderRestores([
            restore("done", phase: .succeeded, step: "Resume", started: 7200, finished: 7000),
            restore("old-failure", phase: .failed, step: "Select", started: 3 * 86400, finished: 3 * 86400),
            restore("failed", phase: .failed, step: "Select", started: 600, finished: 590, failure: "ChecksumMismatch: sha256 differs"),
            restore("rollback", phase: .quiescing, step: "Quiesce", started: 90, running: "waiting: Deployment/api: 2 pod(s) left"),
        ], now: Self.now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("NAMESPACE") == true)
        #expect(lines[1].contains("rollback") && lines[1].contains("Quiescing") && lines[1].contains("Quiesce")
                && lines[1].contains("90s ago") && lines[1].contains("2 pod(s) left"), "\(text)")
        #expect(lines[2].contains("failed") && lines[2].contains("ChecksumMismatch"))
        #expect(!text.contains("old-failure") && !text.contains("done "))
        #expect(text.contains("1 restore(s) running, 1 failed in the last 24 h."))
        #expect(StatusReport.renderRestores([], now: Self.now).isEmpty)
    }

    @Test func theLastDrillAnswersWhenRestoreWasLastProvedWithItsRTOAndRPO() {
        var proven = Self.policy("orders", conditions: [Self.condition("Ready", .true, "Scheduled")], lastSuccess: 600)
        proven.status?.lastDrill = DrillRecord(name: "orders-drill-1", time: Time(Self.now.addingTimeInterval(-3 * 3600)), result: .passed,
                                               rtoSeconds: 42, rpoSeconds: 5)
        let text = StatusReport.render([proven, Self.policy("never-drilled")], now: Self.now)
        #expect(text.contains("LAST DRILL"))
        #expect(text.contains("Passed 3h ago, RTO 42s, RPO 5s"), "\(text)")

        var running = DrillRun(metadata: ObjectMeta(name: "q1", namespace: "prod"),
                               spec: DrillRunSpec(policyRef: LocalObjectReference(name: "orders"), scratch: RestoreTarget()))
        running.status = DrillRunStatus()
        running.status?.phase = .running
        running.status?.currentStep = "Restore"
        running.status?.steps = [StepStatus(name: "Restore", phase: .running)]
        running.status?.steps?[0].message = "Job q1-restore-1 running"
        var failed = running
        failed.metadata.name = "q0"
        failed.status?.phase = .completed
        failed.status?.result = .failed
        failed.status?.finishedAt = Time(Self.now.addingTimeInterval(-600))
        failed.status?.steps = []
        failed.status?.message = "RPO 1d7h exceeds objective 1d2h"
        var old = failed
        old.metadata.name = "old"
        old.status?.finishedAt = Time(Self.now.addingTimeInterval(-3 * 86400))
        let drills = StatusReport.renderDrills([failed, old, running], now: Self.now)
        let lines = drills.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("NAMESPACE") && lines[0].contains("DRILL"))
        #expect(lines[1].contains("q1") && lines[1].contains("Restore") && lines[1].contains("Job q1-restore-1 running"), "running first: \(drills)")
        #expect(lines[2].contains("q0") && lines[2].contains("Failed") && lines[2].contains("RPO 1d7h exceeds objective 1d2h"))
        #expect(!drills.contains("old"), "failures older than a day are not shown")
        #expect(drills.contains("1 drill(s) running, 1 failed in the last 24 h."))
        #expect(StatusReport.renderDrills([], now: Self.now).isEmpty)
    }

    @Test func cleanupPoliciesShowLastRunDeletedNextAndFailingFirst() {
        func cleanup(_ name: String, deleted: Int64?, dry: Bool = false, failed: String? = nil) -> CleanupPolicy {
            var status = CleanupPolicyStatus()
            status.lastRunTime = Time(Self.now.addingTimeInterval(-3600))
            status.nextRunTime = Time(Self.now.addingTimeInterval(7200))
            status.lastRunDeleted = deleted
            status.lastRunDryRun = dry
            if dry {
                var r = CleanupResult(target: "agent-runs")
                r.wouldDelete = 42
                status.results = [r]
            }
            status.conditions = [Self.condition("Ready", failed == nil ? .true : .false, failed == nil ? "Scheduled" : "LastRunFailed")]
            if let failed { status.conditions?.append(Self.condition("LastRunSucceeded", .false, "DeleteLimitExceeded", failed)) }
            return CleanupPolicy(metadata: ObjectMeta(name: name, namespace: "prod"),
                                 spec: CleanupPolicySpec(schedule: "@daily", targets: [CleanupTarget(name: "agent-runs")]), status: status)
        }
        let text = StatusReport.renderCleanups([
            cleanup("a-fine", deleted: 25), cleanup("b-preview", deleted: 0, dry: true),
            cleanup("z-guarded", deleted: 0, failed: "agent-runs: would delete 200 of 200 rows (100.0%)"),
        ], now: Self.now)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("NAMESPACE") && lines[0].contains("DELETED"))
        #expect(lines[1].contains("z-guarded") && lines[1].contains("DeleteLimitExceeded"), "failing first: \(text)")
        #expect(lines[2].contains("a-fine") && lines[2].contains("1h ago") && lines[2].contains(" 25 ") && lines[2].contains("in 2h"))
        #expect(lines[3].contains("b-preview") && lines[3].contains("would 42"))
        #expect(text.contains("prod/z-guarded: DeleteLimitExceeded: agent-runs: would delete 200 of 200 rows (100.0%)"))
        #expect(StatusReport.renderCleanups([], now: Self.now).isEmpty)
    }
}
