import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// Restarts, history and the catalog switch as one table: what the planner observes in; the Jobs
/// created (by operation), the Jobs deleted (by name), the adopted Job and the status fields out.
/// Waiting for another policy's backup of the same target is the last row of `PlannerSlotTableTests`.
@Suite struct PlannerLifecycleTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var observed: @Sendable () -> BackupObserved
        // Expected:
        /// Operation labels of the created Jobs, compared exactly (a recorded backup result is followed by a prune).
        var created: [String] = []
        /// Names of the deleted Jobs, compared exactly.
        var deleted: [String] = []
        /// The Job recorded as active; nil: not checked.
        var activeJob: String?
        /// lastManualRun's value, Job and result; nil: not checked.
        var manualRun: (value: String, job: String, result: OperationResult)?
        /// The Ready condition's status and observedGeneration; nil: not checked.
        var ready: ConditionStatus?
        var observedGeneration: Int64?
        var eventsIncluded: [String] = []
        var eventsExcluded: [String] = []
        var testDescription: String { name }
    }

    static func jobName(_ op: BackupOperation, _ token: String) -> String {
        AgentJobBuilder.jobName(policy: "pg", operation: op, token: token)
    }

    static func slot(_ h: Double) -> String { UTCTimestamp.compact(Fx.hour(h)) }

    static let cases: [Case] = [
        // The operator died after creating the Job and before writing lastManualRun.
        Case(name: "a run-now Job finished before its status write is adopted and recorded", observed: {
                var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
                p.metadata.annotations = [Backstop.runNowAnnotation: "pre-upgrade"]
                let job = Fx.job(p, .backup, token: "manual/pre-upgrade", created: Fx.hour(1), finished: true,
                                 annotations: [Backstop.runNowAnnotation: "pre-upgrade"])
                let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-ef56"))
                return BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK,
                                      now: Fx.hour(1).addingTimeInterval(90))
            },
            created: ["prune"], manualRun: ("pre-upgrade", jobName(.backup, "manual/pre-upgrade"), .succeeded),
            eventsExcluded: ["BackupStarted"]),
        Case(name: "a running run-now Job is adopted without a second start Event", observed: {
                var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
                p.metadata.annotations = [Backstop.runNowAnnotation: "v"]
                let job = Fx.job(p, .backup, token: "manual/v", created: Fx.hour(1), annotations: [Backstop.runNowAnnotation: "v"])
                return BackupObserved(policy: p, jobs: [job], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5))
            },
            activeJob: jobName(.backup, "manual/v"), eventsExcluded: ["BackupStarted"]),
        // History keeps 3: of five finished Jobs the oldest is not recorded yet and must survive
        // until it is, so only the second oldest goes.
        Case(name: "history keeps the newest recorded Jobs and never deletes unrecorded ones", observed: {
                let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(10)))
                var jobs = (0..<5).map { i in
                    Fx.job(p, .backup, token: PlannerLifecycleTests.slot(Double(i)), created: Fx.hour(Double(i)), finished: true, recorded: true)
                }
                jobs[0].metadata.annotations?[BackstopLabels.recorded] = nil
                let pods = [Fx.pod(for: jobs[0], exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-0000"))]
                return BackupObserved(policy: p, jobs: jobs, pods: pods, secrets: Fx.secretsOK, now: Fx.hour(10).addingTimeInterval(60))
            },
            created: ["prune"], deleted: [jobName(.backup, slot(1))]),
        Case(name: "with the catalog switch a new policy first rediscovers its store", observed: {
                BackupObserved(policy: Fx.policy(created: Fx.hour(0).addingTimeInterval(-60)), secrets: Fx.secretsOK,
                               now: Fx.hour(0).addingTimeInterval(1))
            },
            created: ["catalog"]),
        Case(name: "without the catalog switch a new policy goes straight to its schedule", observed: {
                BackupObserved(policy: Fx.policy(created: Fx.hour(0).addingTimeInterval(-60)), secrets: Fx.secretsOK,
                               now: Fx.hour(0).addingTimeInterval(1), catalogWhenStatusMissing: false)
            },
            created: ["backup"]),
        Case(name: "a fixed spec recovers from InvalidSpec", observed: {
                var p = Fx.policy(schedule: "61 * * * *", status: Fx.settled(lastSlot: Fx.hour(0)))
                p.status = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1))).status
                p.spec.schedule = "0 * * * *"
                p.metadata.generation = 2
                return BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(5))
            },
            created: ["backup"], ready: .true, observedGeneration: 2, eventsIncluded: ["Recovered"]),
    ]

    @Test(arguments: cases)
    func plan(_ c: Case) {
        let plan = Fx.planner.plan(c.observed())
        #expect(plan.createdJobs.map { $0.metadata.labels?[BackstopLabels.operation] ?? "?" } == c.created)
        #expect(plan.actions.compactMap { if case .deleteJob(let name, _) = $0 { name } else { nil } } == c.deleted)
        if let active = c.activeJob { #expect(plan.status.activeJob?.name == active) }
        if let run = c.manualRun {
            #expect(plan.status.lastManualRun?.value == run.value)
            #expect(plan.status.lastManualRun?.job == run.job)
            #expect(plan.status.lastManualRun?.result == run.result)
        }
        if let ready = c.ready { #expect(plan.status.conditions?.find(BackupConditions.ready)?.status == ready) }
        if let generation = c.observedGeneration { #expect(plan.status.observedGeneration == generation) }
        let reasons = plan.events.map(\.reason)
        for reason in c.eventsIncluded { #expect(reasons.contains(reason)) }
        for reason in c.eventsExcluded { #expect(!reasons.contains(reason)) }
    }
}
