import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// Restarts, history, shared targets and the catalog switch.
@Suite struct PlannerLifecycleTests {
    @Test func aRunNowJobFinishedBeforeItsStatusWriteIsAdoptedAndRecorded() throws {
        // The operator died after creating the Job and before writing lastManualRun.
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.metadata.annotations = [Backstop.runNowAnnotation: "pre-upgrade"]
        let job = Fx.job(p, .backup, token: "manual/pre-upgrade", created: Fx.hour(1), finished: true,
                         annotations: [Backstop.runNowAnnotation: "pre-upgrade"])
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-ef56"))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK,
                                                  now: Fx.hour(1).addingTimeInterval(90)))
        #expect(plan.status.lastManualRun?.value == "pre-upgrade")
        #expect(plan.status.lastManualRun?.job == job.metadata.name)
        #expect(plan.status.lastManualRun?.result == .succeeded)
        #expect(!plan.createdJobs.contains { $0.metadata.labels?[BackstopLabels.operation] == "backup" })
        #expect(!plan.events.contains { $0.reason == "BackupStarted" })
    }

    @Test func aRunningRunNowJobIsAdoptedWithoutASecondStartEvent() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.metadata.annotations = [Backstop.runNowAnnotation: "v"]
        let job = Fx.job(p, .backup, token: "manual/v", created: Fx.hour(1), annotations: [Backstop.runNowAnnotation: "v"])
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.activeJob?.name == job.metadata.name)
        #expect(!plan.events.contains { $0.reason == "BackupStarted" })
    }

    @Test func historyKeepsTheNewestRecordedJobsAndNeverDeletesUnrecordedOnes() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(10)))
        var jobs = (0..<5).map { i in
            Fx.job(p, .backup, token: UTCTimestamp.compact(Fx.hour(Double(i))), created: Fx.hour(Double(i)), finished: true, recorded: true)
        }
        // The oldest one is finished but not recorded yet: it must survive until it is.
        jobs[0].metadata.annotations?[BackstopLabels.recorded] = nil
        let pods = [Fx.pod(for: jobs[0], exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-0000"))]
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: jobs, pods: pods, secrets: Fx.secretsOK, now: Fx.hour(10).addingTimeInterval(60)))
        let deleted = plan.actions.compactMap { if case .deleteJob(let name, _) = $0 { name } else { nil } }
        #expect(deleted == [jobs[1].metadata.name!])
    }

    @Test func aBackupWaitsWhileAnotherPolicyBacksUpTheSameTarget() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5),
                                                  targetBusyWith: ["other-backup-1234abcd"]))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.lastScheduleTime == Time(Fx.hour(0)))
        let after = try #require(plan.requeueAfter)
        #expect(after <= .seconds(6))
    }

    @Test func withoutTheCatalogSwitchANewPolicyGoesStraightToItsSchedule() {
        let p = Fx.policy(created: Fx.hour(0).addingTimeInterval(-60))
        let on = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(0).addingTimeInterval(1)))
        #expect(on.createdJobs.first?.metadata.labels?[BackstopLabels.operation] == "catalog")
        let off = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(0).addingTimeInterval(1),
                                                 catalogWhenStatusMissing: false))
        #expect(off.createdJobs.first?.metadata.labels?[BackstopLabels.operation] == "backup")
    }

    @Test func aFixedSpecRecoversFromInvalidSpec() {
        var p = Fx.policy(schedule: "61 * * * *", status: Fx.settled(lastSlot: Fx.hour(0)))
        p.status = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1))).status
        p.spec.schedule = "0 * * * *"
        p.metadata.generation = 2
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5)))
        #expect(plan.status.conditions?.find(BackupConditions.ready)?.status == .true)
        #expect(plan.status.observedGeneration == 2)
        #expect(plan.createdJobs.count == 1)
        #expect(plan.events.contains { $0.reason == "Recovered" })
    }
}
