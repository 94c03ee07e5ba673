import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// Scheduling details of the pure planner beyond the table in `PlannerSlotTableTests`: exact
/// requeue, asking for Secrets, adoption, a stable idle status, and names.
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

    @Test func aSettledPolicyStartsItsJobBeforeItsSecretsAreReadAChangedSpecReadsThemFirst() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let now = Fx.hour(1).addingTimeInterval(1)
        let settled = Fx.planner.plan(BackupObserved(policy: p, secrets: nil, now: now))
        #expect(settled.createdJobs.count == 1 && settled.wantsSecrets && settled.secretsMayFollowStart)
        var changed = p
        changed.metadata.generation = 2
        let afterEdit = Fx.planner.plan(BackupObserved(policy: changed, secrets: nil, now: now))
        #expect(afterEdit.wantsSecrets && !afterEdit.secretsMayFollowStart)
        // With the Secrets read, nothing is left to read.
        let checked = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: now))
        #expect(checked.createdJobs.count == 1 && !checked.wantsSecrets && !checked.secretsMayFollowStart)
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
