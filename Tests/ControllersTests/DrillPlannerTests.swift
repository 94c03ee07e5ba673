import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// The drill's pure parts: the schedule of a policy's drills, and the measurements and
/// objectives that decide a drill's verdict.
struct DrillPlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(schedule: String = "@every 1h", historyLimit: Int? = nil, suspend: Bool? = nil) -> BackupPolicy {
        var spec = BackupPolicySpec(schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
                                    destination: BackupDestination(volume: VolumeDestination(claimName: "backups")))
        var drill = DrillSchedule(schedule: schedule, template: DrillTemplate(scratch: RestoreTarget(volume: VolumeTarget(claimName: "scratch"))))
        drill.historyLimit = historyLimit
        drill.suspend = suspend
        spec.drill = drill
        var meta = ObjectMeta(name: "vol", namespace: "team")
        meta.uid = "u-1"
        meta.creationTimestamp = Time(t0)
        return BackupPolicy(metadata: meta, spec: spec)
    }

    static func drill(_ name: String, slot: Date, result: DrillResult?, finished: Date? = nil) -> DrillRun {
        var meta = ObjectMeta(name: name, namespace: "team")
        meta.labels = [DrillScheduleController.scheduledLabel: "vol"]
        meta.annotations = ["backstop.dev/slot-time": UTCTimestamp.rfc3339(slot)]
        var status = DrillRunStatus()
        status.phase = result == nil ? .running : .completed
        status.result = result
        status.finishedAt = finished.map(Time.init)
        return DrillRun(metadata: meta, spec: DrillRunSpec(policyRef: LocalObjectReference(name: "vol"), scratch: RestoreTarget()), status: status)
    }

    @Test func aDueSlotCreatesOneDeterministicallyNamedDrillOwnedByThePolicy() throws {
        let plan = DrillScheduleController.plan(policy: Self.policy(), drills: [], now: Self.t0.addingTimeInterval(3700))
        let created = try #require(plan.create)
        #expect(created.metadata.name?.hasPrefix("vol-drill-") == true)
        #expect(created.metadata.ownerReferences?.first?.uid == "u-1")
        #expect(created.spec.policyRef.name == "vol")
        let again = DrillScheduleController.plan(policy: Self.policy(), drills: [], now: Self.t0.addingTimeInterval(3700))
        #expect(again.create?.metadata.name == created.metadata.name, "a repeated create adopts")
        #expect(plan.next != nil)
    }

    @Test(arguments: [
        // (seconds after creation, existing drills' slots (nil result: running), expect a create)
        (100.0, [Double](), false),          // no slot yet
        (3700, [], true),                     // the first slot is due
        (3700, [3600], false),                // answered
        (7300, [3600], true),                 // the next one
    ])
    func slots(_ after: Double, _ slots: [Double], _ expectCreate: Bool) {
        let drills = slots.enumerated().map { Self.drill("d\($0.offset)", slot: Self.t0.addingTimeInterval($0.element), result: .passed) }
        let plan = DrillScheduleController.plan(policy: Self.policy(), drills: drills, now: Self.t0.addingTimeInterval(after))
        #expect((plan.create != nil) == expectCreate)
    }

    @Test func aRunningDrillHoldsBackTheNextAndSuspendStopsThem() {
        let running = [Self.drill("d0", slot: Self.t0.addingTimeInterval(3600), result: nil)]
        let plan = DrillScheduleController.plan(policy: Self.policy(), drills: running, now: Self.t0.addingTimeInterval(7300))
        #expect(plan.create == nil && plan.waiting?.contains("d0") == true)
        #expect(DrillScheduleController.plan(policy: Self.policy(suspend: true), drills: [], now: Self.t0.addingTimeInterval(3700)).create == nil)
    }

    @Test func historyKeepsTheNewestPassedAndFailedDrillsSeparately() {
        var drills: [DrillRun] = []
        for i in 0..<4 {
            let at = Self.t0.addingTimeInterval(Double(i) * 3600)
            drills.append(Self.drill("p\(i)", slot: at, result: .passed, finished: at.addingTimeInterval(60)))
        }
        for i in 0..<2 {
            let at = Self.t0.addingTimeInterval(Double(i) * 3600 + 1800)
            drills.append(Self.drill("f\(i)", slot: at, result: .failed, finished: at.addingTimeInterval(100)))
        }
        let plan = DrillScheduleController.plan(policy: Self.policy(historyLimit: 1), drills: drills, now: Self.t0.addingTimeInterval(4 * 3600 - 10))
        #expect(Set(plan.delete) == ["p0", "p1", "p2", "f0"])
    }

    @Test func passedAndFailedHistoryLimitsKeepTheirOwnCountsWithHistoryLimitAsTheirDefault() {
        var drills: [DrillRun] = []
        for i in 0..<5 {
            let at = Self.t0.addingTimeInterval(Double(i) * 3600)
            drills.append(Self.drill("p\(i)", slot: at, result: .passed, finished: at.addingTimeInterval(60)))
            drills.append(Self.drill("f\(i)", slot: at.addingTimeInterval(1800), result: .failed, finished: at.addingTimeInterval(1900)))
        }
        func deleted(historyLimit: Int? = nil, passed: Int? = nil, failed: Int? = nil) -> Set<String> {
            var policy = Self.policy(historyLimit: historyLimit)
            policy.spec.drill?.passedHistoryLimit = passed
            policy.spec.drill?.failedHistoryLimit = failed
            return Set(DrillScheduleController.plan(policy: policy, drills: drills, now: Self.t0.addingTimeInterval(5 * 3600 - 10)).delete)
        }
        #expect(deleted(passed: 2, failed: 4) == ["p0", "p1", "p2", "f0"], "the newest 2 passed and 4 failed stay")
        #expect(deleted(historyLimit: 1, failed: 0) == ["p0", "p1", "p2", "p3", "f0", "f1", "f2", "f3", "f4"], "historyLimit for passed, none failed kept")
        #expect(deleted(historyLimit: 4, passed: 1) == ["p0", "p1", "p2", "p3", "f0"])
        #expect(deleted() == ["p0", "p1", "f0", "f1"], "3 of each by default")
    }

    /// The policy's record of a completed drill, as `policyLacksResult` judges it.
    static func completed(_ name: String, _ result: DrillResult, finished: Double) -> DrillRun {
        var drill = Self.drill(name, slot: t0, result: result, finished: t0.addingTimeInterval(finished))
        drill.metadata.labels = nil
        return drill
    }

    static func showing(_ name: String, _ result: DrillResult, at: Double, condition: ConditionStatus?) -> BackupPolicy {
        var policy = Self.policy()
        var status = BackupPolicyStatus()
        status.lastDrill = DrillRecord(name: name, time: Time(t0.addingTimeInterval(at)), result: result)
        if let condition {
            var conditions: [Condition] = []
            conditions.set(type: "LastDrillPassed", status: condition, reason: "R", message: "", observedGeneration: nil, now: Time(t0))
            status.conditions = conditions
        }
        policy.status = status
        return policy
    }

    @Test func aCompletedDrillIsRecordedAgainOnlyWhileThePolicyDoesNotShowItOrANewerOne() {
        let failed = Self.completed("d2", .failed, finished: 200)
        #expect(DrillPlanner.policyLacksResult(of: failed, policy: Self.policy()), "no drill recorded at all")
        #expect(DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d1", .passed, at: 100, condition: .true)), "an older drill shown")
        #expect(!DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d2", .failed, at: 200, condition: .false)), "shown")
        #expect(DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d2", .failed, at: 200, condition: nil)), "shown without its condition")
        #expect(DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d2", .passed, at: 200, condition: .true)), "shown with another result")
        #expect(!DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d3", .passed, at: 300, condition: .true)), "a newer drill shown")
        // Two drills finishing in the same second: the one shown stays, so they never take turns.
        #expect(!DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d3", .passed, at: 200, condition: .true)))
        #expect(!DrillPlanner.policyLacksResult(of: failed, policy: Self.showing("d1", .passed, at: 200, condition: .true)))
        #expect(!DrillPlanner.policyLacksResult(of: Self.drill("r", slot: Self.t0, result: nil), policy: Self.policy()), "a running drill is not recorded")
    }

    @Test func cleanupNeverEmptiesAScratchTargetTheRestoreRefusedAsOccupied() throws {
        var drill = Self.drill("d", slot: Self.t0, result: nil)
        drill.metadata.uid = "0b7e2a55-7c1f-4d43-9a0e-1f2a3b4c5d6e"
        drill.spec.scratch = RestoreTarget(volume: VolumeTarget(claimName: "scratch", path: "busy"))
        let planner = DrillPlanner(agentImage: "backstop:test")
        let restoreJob = try #require(planner.jobName(.restore, of: drill))
        var status = DrillRunStatus()
        // As status still says in the reconcile that reads the restore's refusal: Restore running.
        status.steps = [StepStatus(name: "Validate", phase: .succeeded), StepStatus(name: "Restore", phase: .running)]
        func cleanup(_ result: AgentResult) -> DrillVerdict {
            planner.decide(.cleanup, DrillObserved(drill: drill, policy: Self.policy(), results: [restoreJob: result], now: Self.t0), status: status)
        }
        #expect(cleanup(AgentResult(ok: false, reason: "TargetExists", message: "scratch directory busy is not empty"))
                == .succeeded(job: nil, message: "nothing to clean up"), "someone else's files stay")
        guard case .running(let actions, _) = cleanup(AgentResult(ok: false, reason: "RestoreFailed", message: "tar failed")) else {
            Issue.record("a restore that failed half-way leaves files to empty")
            return
        }
        #expect(actions.count == 1)
    }

    @Test func aFreshBackupThePolicyRecordedIsNotTakenAgainWhenItsJobIsGone() {
        var drill = Self.drill("d", slot: Self.t0, result: nil)
        drill.metadata.uid = "5c1d9e2a-0f3b-4a7c-8d6e-2b4a6c8e0f12"
        var policy = Self.policy()
        let name = DrillPlanner.backupJobName(drill, policy: policy)
        let planner = DrillPlanner(agentImage: "backstop:test")
        func backup() -> DrillVerdict {
            planner.decide(.backup, DrillObserved(drill: drill, policy: policy, now: Self.t0), status: DrillRunStatus())
        }
        guard case .running(let actions, _) = backup(), actions.count == 1 else {
            Issue.record("no Job and no record: the backup Job is created")
            return
        }
        // The Job finished, the policy recorded its backup, then the Job was trimmed before the drill read it.
        var record = BackupRecord(id: "20261207T120000Z-aaaa", time: Time(Self.t0))
        record.job = name
        var status = BackupPolicyStatus()
        status.recentBackups = [BackupRecord(id: "older"), record]
        policy.status = status
        #expect(backup() == .succeeded(job: name, message: "backup 20261207T120000Z-aaaa taken by Job \(name) (as the policy recorded it)"))
    }

    static func step(_ name: String, _ start: Double, _ end: Double, _ phase: StepPhase = .succeeded) -> StepStatus {
        var s = StepStatus(name: name, phase: phase)
        s.startedAt = Time(t0.addingTimeInterval(start))
        s.finishedAt = Time(t0.addingTimeInterval(end))
        return s
    }

    @Test func rtoIsRestorePlusVerifyAndRpoIsTheMarkerToBackupGapOrTheBackupsAge() {
        var status = DrillRunStatus()
        status.startedAt = Time(Self.t0)
        status.steps = [Self.step("Restore", 10, 40), Self.step("Verify", 41, 50)]
        status.backup = BackupReference(id: "x", time: Time(Self.t0.addingTimeInterval(5)), sizeBytes: 123)
        status.marker = DrillMarker(id: "m", writtenAt: Time(Self.t0.addingTimeInterval(2)))
        var spec = DrillRunSpec(policyRef: LocalObjectReference(name: "p"), scratch: RestoreTarget())
        let fresh = DrillMeasurement.measure(status, spec: spec)
        #expect(fresh.rtoSeconds == 39 && fresh.restoreSeconds == 30 && fresh.rpoSeconds == 3 && fresh.backupBytes == 123)
        spec.freshBackup = false
        spec.marker = false
        status.backup?.time = Time(Self.t0.addingTimeInterval(-31 * 3600))
        let old = DrillMeasurement.measure(status, spec: spec)
        #expect(old.rpoSeconds == 31 * 3600)
        let reasons = DrillMeasurement.missedObjectives(old, objectives: DrillObjectives(rto: "30s", rpo: "26h"), backupTime: status.backup?.time?.date)
        #expect(reasons.count == 2)
        #expect(reasons.contains { $0.hasPrefix("RPO 1d7h exceeds objective 1d2h: the restored backup is from ") }, "\(reasons)")
        #expect(reasons.contains { $0.hasPrefix("RTO 39s exceeds objective 30s") }, "\(reasons)")
        #expect(DrillMeasurement.missedObjectives(old, objectives: DrillObjectives(rto: "1m", rpo: "2d"), backupTime: nil).isEmpty)
        // A failed restore: no RTO, and an RTO objective says it was not measured.
        status.steps = [Self.step("Restore", 10, 40, .failed)]
        let failed = DrillMeasurement.measure(status, spec: spec)
        #expect(failed.rtoSeconds == nil)
        #expect(DrillMeasurement.missedObjectives(failed, objectives: DrillObjectives(rto: "1m"), backupTime: nil).first?.contains("not measured") == true)
    }
}
