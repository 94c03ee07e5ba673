import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// The BackupPolicy planner's scheduling decisions as one table: policy, running Jobs and the
/// time in; the Jobs created (operation and slot label), Jobs deleted, the slot recorded, the
/// next slot, the Ready and MissedSchedule conditions and the Events out — all compared exactly.
@Suite struct PlannerSlotTableTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        /// nil: a brand-new policy without status.
        var lastSlot: Double? = 0
        var configure: @Sendable (inout BackupPolicy) -> Void = { _ in }
        /// A backup Job of this slot (hours) is still running.
        var runningSlot: Double?
        var targetBusy = false
        var now: Date
        // Expected:
        var created: [String] = []
        var deleted = 0
        var recordedSlot: Double?
        var next: Double?
        var ready = "Scheduled"
        var missed: ConditionStatus?
        var events: [String] = []
        /// Row-specific details (names, messages) beyond the common columns.
        var extra: @Sendable (BackupPlan) -> Void = { _ in }
        var testDescription: String { name }
    }

    static func slot(_ h: Double) -> String { UTCTimestamp.compact(Fx.hour(h)) }

    static let rows: [Row] = [
        Row(name: "a new policy first rediscovers its store", lastSlot: nil, now: Fx.t0.addingTimeInterval(5),
            created: ["catalog/follow-up"], next: 1),
        Row(name: "the due slot starts one backup", now: Fx.hour(1).addingTimeInterval(30),
            created: ["backup/" + slot(1)], recordedSlot: 1, next: 2, events: ["BackupStarted"]),
        Row(name: "between slots nothing starts", lastSlot: 1, now: Fx.hour(1).addingTimeInterval(600),
            recordedSlot: 1, next: 2),
        Row(name: "suspended: no slot and no next", configure: { $0.spec.suspend = true }, now: Fx.hour(3),
            recordedSlot: 0, ready: "Suspended"),
        Row(name: "suspended, run-now still runs", configure: {
                $0.spec.suspend = true
                $0.metadata.annotations = [Backstop.runNowAnnotation: "before-upgrade"]
            }, now: Fx.hour(3), created: ["backup/manual"], recordedSlot: 0, ready: "Suspended", events: ["BackupStarted"]),
        Row(name: "an answered run-now value runs nothing", lastSlot: 1, configure: {
                $0.metadata.annotations = [Backstop.runNowAnnotation: "b"]
                $0.status?.lastManualRun = ManualRun(value: "b")
            }, now: Fx.hour(1).addingTimeInterval(60), recordedSlot: 1, next: 2),
        Row(name: "a new run-now value runs once", lastSlot: 1, configure: {
                $0.metadata.annotations = [Backstop.runNowAnnotation: "a"]
                $0.status?.lastManualRun = ManualRun(value: "b")
            }, now: Fx.hour(1).addingTimeInterval(60), created: ["backup/manual"], recordedSlot: 1, next: 2, events: ["BackupStarted"],
            extra: { plan in
                #expect(plan.createdJobs.first?.metadata.annotations?[Backstop.runNowAnnotation] == "a")
                #expect(plan.status.lastManualRun?.value == "a" && plan.status.lastManualRun?.result == .running)
                #expect(plan.status.lastManualRun?.job == plan.createdJobs.first?.metadata.name)
            }),
        Row(name: "past the starting deadline: skipped and reported", configure: { $0.spec.startingDeadlineSeconds = 600 },
            now: Fx.hour(3).addingTimeInterval(1200), recordedSlot: 3, next: 4, missed: .true, events: ["MissedSchedule"],
            extra: { plan in
                let message = plan.status.conditions?.find(BackupConditions.missedSchedule)?.message ?? ""
                #expect(message.contains("and 2 earlier") && message.contains("startingDeadlineSeconds=600"))
                #expect(plan.events.allSatisfy { $0.warning })
            }),
        Row(name: "after downtime within the deadline: the latest slot runs, the skipped are reported",
            configure: { $0.spec.startingDeadlineSeconds = 600 }, now: Fx.hour(3).addingTimeInterval(60),
            created: ["backup/" + slot(3)], recordedSlot: 3, next: 4, missed: .true, events: ["MissedSchedule", "BackupStarted"]),
        Row(name: "Forbid waits for the running backup", runningSlot: 0, now: Fx.hour(1).addingTimeInterval(5),
            recordedSlot: 0, next: 2),
        Row(name: "Replace stops the running backup for the new slot", configure: { $0.spec.concurrencyPolicy = .replace },
            runningSlot: 0, now: Fx.hour(1).addingTimeInterval(5), created: ["backup/" + slot(1)], deleted: 1, recordedSlot: 1,
            next: 2, events: ["BackupReplaced", "BackupStarted"], extra: { plan in
                let running = AgentJobBuilder.jobName(policy: "pg", operation: .backup, token: PlannerSlotTableTests.slot(0))
                #expect(plan.actions.contains(.deleteJob(name: running, uid: "job-uid-" + running)))
                #expect(plan.createdJobs.first?.metadata.name == AgentJobBuilder.jobName(policy: "pg", operation: .backup, token: PlannerSlotTableTests.slot(1)))
            }),
        Row(name: "another policy's backup of the same target: wait", targetBusy: true, now: Fx.hour(1).addingTimeInterval(30),
            recordedSlot: 0, next: 2, extra: { plan in
                // Asked again soon, not at the next slot: the other backup may end any moment.
                #expect(plan.requeueAfter.map { $0 <= .seconds(6) } == true)
            }),
    ]

    @Test(arguments: rows)
    func plan(_ row: Row) throws {
        var p = Fx.policy(status: row.lastSlot.map { Fx.settled(lastSlot: Fx.hour($0)) })
        row.configure(&p)
        let jobs = row.runningSlot.map { [Fx.job(p, .backup, token: Self.slot($0), created: Fx.hour($0))] } ?? []
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: jobs, secrets: Fx.secretsOK, now: row.now,
                                                  targetBusyWith: row.targetBusy ? ["other"] : []))
        let created = plan.createdJobs.map {
            "\($0.metadata.labels?[BackstopLabels.operation] ?? "?")/\($0.metadata.labels?[BackstopLabels.slot] ?? "?")"
        }
        #expect(created == row.created)
        #expect(plan.actions.filter { if case .deleteJob = $0 { true } else { false } }.count == row.deleted)
        #expect(plan.status.lastScheduleTime == row.recordedSlot.map { Time(Fx.hour($0)) })
        #expect(plan.status.nextScheduleTime == row.next.map { Time(Fx.hour($0)) })
        #expect(plan.status.conditions?.find(BackupConditions.ready)?.reason == row.ready)
        #expect(plan.status.conditions?.find(BackupConditions.missedSchedule)?.status == row.missed)
        #expect(plan.events.map(\.reason) == row.events)
        row.extra(plan)
        // Whatever else happens, a created Job is named after the policy and what it answers.
        for job in plan.createdJobs {
            #expect(job.metadata.name?.hasPrefix("pg-") == true && (job.metadata.name?.count ?? 99) <= 63)
        }
    }
}
