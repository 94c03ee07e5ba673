import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// Scheduling decisions of the pure planner: slots, run-now, suspend, deadlines, concurrency,
/// adoption and names.
@Suite struct PlannerScheduleTests {
    @Test func aNewPolicyFirstRediscoversItsStoreWithACatalogJob() throws {
        let p = Fx.policy()
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.t0.addingTimeInterval(5)))
        let jobs = plan.createdJobs
        #expect(jobs.count == 1)
        #expect(jobs.first?.metadata.labels?[BackstopLabels.operation] == "catalog")
        #expect(plan.status.observedGeneration == 1)
        #expect(plan.status.conditions?.find("Ready")?.status == .true)
    }

    @Test func theDueSlotGetsOneBackupJobNamedAfterPolicyAndSlot() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let now = Fx.hour(1).addingTimeInterval(30)
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: now))
        let job = try #require(plan.createdJobs.first)
        #expect(plan.createdJobs.count == 1)
        #expect(job.metadata.name == AgentJobBuilder.jobName(policy: "pg", operation: .backup, token: UTCTimestamp.compact(Fx.hour(1))))
        #expect(job.metadata.labels?[BackstopLabels.slot] == UTCTimestamp.compact(Fx.hour(1)))
        #expect(plan.status.lastScheduleTime == Time(Fx.hour(1)))
        #expect(plan.status.nextScheduleTime == Time(Fx.hour(2)))
        #expect(plan.status.activeJob?.name == job.metadata.name)
        #expect(plan.events.contains { $0.reason == "BackupStarted" && !$0.warning })
        // Requeue exactly (plus a hair) until the next slot: no polling.
        let after = try #require(plan.requeueAfter)
        #expect(abs(Double(after.components.seconds) - (3600 - 30)) <= 1)
    }

    @Test func withoutSecretsReadThePlannerAsksForThemBeforeStartingAJob() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: nil, now: Fx.hour(1).addingTimeInterval(1)))
        #expect(plan.wantsSecrets)
        #expect(plan.referencedSecrets == ["db-creds"])
    }

    @Test func anExistingJobForTheSlotIsAdoptedNotDuplicated() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let existing = Fx.job(p, .backup, token: UTCTimestamp.compact(Fx.hour(1)), created: Fx.hour(1))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [existing], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(60)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.activeJob?.name == existing.metadata.name)
    }

    @Test func anIdlePolicyBetweenSlotsPlansNothingAndStatusIsStable() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let now = Fx.hour(1).addingTimeInterval(600)
        let first = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: now))
        #expect(first.createdJobs.isEmpty)
        p.status = first.status
        let second = Fx.planner.plan(BackupObserved(policy: p, secrets: nil, now: now.addingTimeInterval(60)))
        #expect(second.status == first.status)
        #expect(second.actions.isEmpty && second.events.isEmpty && !second.wantsSecrets)
    }

    @Test(arguments: [("a", true), ("b", false)])
    func runNowStartsOneBackupPerDistinctValue(value: String, expectJob: Bool) throws {
        var status = Fx.settled(lastSlot: Fx.hour(1))
        status.lastManualRun = ManualRun(value: "b")
        var p = Fx.policy(status: status)
        p.metadata.annotations = [Backstop.runNowAnnotation: value]
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(60)))
        #expect(plan.createdJobs.count == (expectJob ? 1 : 0))
        if expectJob {
            let job = try #require(plan.createdJobs.first)
            #expect(job.metadata.labels?[BackstopLabels.slot] == "manual")
            #expect(job.metadata.annotations?[Backstop.runNowAnnotation] == value)
            #expect(plan.status.lastManualRun?.value == value)
            #expect(plan.status.lastManualRun?.result == .running)
        }
    }

    @Test func suspendStopsSlotsButRunNowStillRuns() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        p.spec.suspend = true
        let now = Fx.hour(3)
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: now))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.nextScheduleTime == nil)
        #expect(plan.status.conditions?.find("Ready")?.reason == "Suspended")
        p.metadata.annotations = [Backstop.runNowAnnotation: "before-upgrade"]
        #expect(Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: now)).createdJobs.count == 1)
    }

    @Test func slotsPastTheStartingDeadlineAreSkippedAndReported() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        p.spec.startingDeadlineSeconds = 600
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(3).addingTimeInterval(1200)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.lastScheduleTime == Time(Fx.hour(3)))
        let missed = plan.status.conditions?.find(BackupConditions.missedSchedule)
        #expect(missed?.status == .true)
        #expect(missed?.message.contains("2 earlier") == true)
        #expect(plan.events.contains { $0.warning && $0.reason == "MissedSchedule" })
        // Within the deadline the latest slot runs and the skipped ones are still reported.
        let late = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(3).addingTimeInterval(60)))
        #expect(late.createdJobs.count == 1)
        #expect(late.events.contains { $0.reason == "MissedSchedule" })
    }

    @Test func forbidWaitsForTheRunningOperation() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let running = Fx.job(p, .backup, token: UTCTimestamp.compact(Fx.hour(0)), created: Fx.hour(0))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [running], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.lastScheduleTime == Time(Fx.hour(0)))
        #expect(plan.status.activeJob?.name == running.metadata.name)
    }

    @Test func replaceStopsTheRunningBackupForTheNewSlot() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        p.spec.concurrencyPolicy = .replace
        let running = Fx.job(p, .backup, token: UTCTimestamp.compact(Fx.hour(0)), created: Fx.hour(0))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [running], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5)))
        #expect(plan.actions.contains(.deleteJob(name: running.metadata.name!, uid: running.metadata.uid)))
        #expect(plan.createdJobs.count == 1)
        #expect(plan.createdJobs.first?.metadata.name != running.metadata.name)
    }

    @Test(arguments: ["a", "pg", String(repeating: "x", count: 45), "very-long-policy-name-that-is-at-the-limit-of-45"])
    func jobNamesFitSixtyThreeAndDifferPerSlot(policy: String) {
        var names = Set<String>()
        for op in BackupOperation.allCases {
            for slot in 0..<24 {
                let name = AgentJobBuilder.jobName(policy: policy, operation: op, token: UTCTimestamp.compact(Fx.hour(Double(slot))))
                #expect(name.count <= 63)
                #expect(NameRules.dnsSubdomainProblem(name, label: true) == nil)
                names.insert(name)
            }
        }
        #expect(names.count == 3 * 24)
    }
}
