import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// Scheduling details of the pure planner beyond the table in `PlannerSlotTableTests`, as a table:
/// exact requeue, asking for Secrets, adoption and the status of a new policy. Columns left nil
/// are not checked for that case.
@Suite struct PlannerScheduleTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        /// nil: a brand-new policy without status.
        var lastSlot: Double? = 0
        var generation: Int64 = 1
        /// false: the Secrets have not been read yet.
        var secretsRead = true
        /// A backup Job of this slot (hours) already exists.
        var existingSlot: Double?
        var now: Date
        // Expected:
        /// Operation/slot labels of the created Jobs, compared exactly.
        var created: [String]?
        var activeJob: String?
        var wantsSecrets = false
        var secretsMayFollowStart = false
        var referencedSecrets: [String]?
        var ready: ConditionStatus?
        var observedGeneration: Int64?
        var recordedSlot: Double?
        var next: Double?
        /// Seconds until the planner asks to be called again, within one second.
        var requeueAbout: Double?
        var events: [String]?
        var extra: @Sendable (BackupPlan) -> Void = { _ in }
        var testDescription: String { name }
    }

    static func slot(_ h: Double) -> String { UTCTimestamp.compact(Fx.hour(h)) }
    static func backupJob(_ h: Double) -> String { AgentJobBuilder.jobName(policy: "pg", operation: .backup, token: slot(h)) }

    static let cases: [Case] = [
        Case(name: "a new policy first rediscovers its store with a catalog Job", lastSlot: nil, now: Fx.t0.addingTimeInterval(5),
             created: ["catalog/follow-up"], ready: .true, observedGeneration: 1),
        // Requeue exactly (plus a hair) until the next slot: no polling.
        Case(name: "the due slot gets one backup Job named after policy and slot", now: Fx.hour(1).addingTimeInterval(30),
             created: ["backup/" + slot(1)], activeJob: backupJob(1), recordedSlot: 1, next: 2, requeueAbout: 3600 - 30,
             events: ["BackupStarted"], extra: { plan in
                 #expect(plan.createdJobs.first?.metadata.name == PlannerScheduleTests.backupJob(1))
                 #expect(plan.events.allSatisfy { !$0.warning })
             }),
        // A settled policy's Secrets were fine last time: its Job starts and the planner asks for them after.
        Case(name: "without Secrets read a settled policy starts its Job and asks for them", secretsRead: false,
             now: Fx.hour(1).addingTimeInterval(1), created: ["backup/" + slot(1)], wantsSecrets: true, secretsMayFollowStart: true,
             referencedSecrets: ["db-creds"]),
        Case(name: "a changed spec reads its Secrets before starting", generation: 2, secretsRead: false,
             now: Fx.hour(1).addingTimeInterval(1), wantsSecrets: true, secretsMayFollowStart: false),
        Case(name: "with the Secrets read nothing is left to read", now: Fx.hour(1).addingTimeInterval(1),
             created: ["backup/" + slot(1)], wantsSecrets: false, secretsMayFollowStart: false),
        Case(name: "an existing Job for the slot is adopted, not duplicated", existingSlot: 1, now: Fx.hour(1).addingTimeInterval(60),
             created: [], activeJob: backupJob(1)),
    ]

    @Test(arguments: cases)
    func plan(_ c: Case) throws {
        var p = Fx.policy(status: c.lastSlot.map { Fx.settled(lastSlot: Fx.hour($0)) })
        p.metadata.generation = c.generation
        let jobs = c.existingSlot.map { [Fx.job(p, .backup, token: Self.slot($0), created: Fx.hour($0))] } ?? []
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: jobs, secrets: c.secretsRead ? Fx.secretsOK : nil, now: c.now))
        if let created = c.created {
            #expect(plan.createdJobs.map {
                "\($0.metadata.labels?[BackstopLabels.operation] ?? "?")/\($0.metadata.labels?[BackstopLabels.slot] ?? "?")"
            } == created)
        }
        if let active = c.activeJob { #expect(plan.status.activeJob?.name == active) }
        #expect(plan.wantsSecrets == c.wantsSecrets)
        #expect(plan.secretsMayFollowStart == c.secretsMayFollowStart)
        if let secrets = c.referencedSecrets { #expect(plan.referencedSecrets == secrets) }
        if let ready = c.ready { #expect(plan.status.conditions?.find(BackupConditions.ready)?.status == ready) }
        if let generation = c.observedGeneration { #expect(plan.status.observedGeneration == generation) }
        if let recorded = c.recordedSlot { #expect(plan.status.lastScheduleTime == Time(Fx.hour(recorded))) }
        if let next = c.next { #expect(plan.status.nextScheduleTime == Time(Fx.hour(next))) }
        if let seconds = c.requeueAbout {
            let after = try #require(plan.requeueAfter)
            #expect(abs(Double(after.components.seconds) - seconds) <= 1)
        }
        if let events = c.events { #expect(plan.events.map(\.reason) == events) }
        c.extra(plan)
    }

    /// Two plans in a row, the second fed the first's status: a table row would need a second
    /// observation, so this stays on its own.
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
