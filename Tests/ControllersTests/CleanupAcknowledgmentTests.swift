import AgentContract
import BackstopCore
import Controllers
import Foundation
import KubeModel
import Testing

/// The allow-delete acknowledgment authorises the run it was given for: once a run deleted
/// under it, it is spent and a leftover annotation authorises nothing more (pure planner).
@Suite struct CleanupAcknowledgmentTests {
    typealias P = CleanupPlannerTests
    static let acknowledgedResult = """
        {"ok":true,"command":"cleanup","exitCode":0,"dryRun":false,"results":[
        {"target":"agent-runs","deleted":200,"total":200,"acknowledged":200},{"target":"reports","deleted":0,"total":3}]}
        """

    static func allowance(_ plan: CleanupPlan) throws -> Int64? {
        try P.agentSpec(try #require(plan.createdJobs.first)).targets?.first?.allowDeleteCount
    }

    @Test func aRunThatDeletedUnderTheAcknowledgmentSpendsIt() throws {
        let annotations = [Backstop.allowDeleteAnnotation: "agent-runs=200", Backstop.runNowAnnotation: "2"]
        var p = P.policy(annotations: annotations)
        let (job, pod) = P.finished(p, token: "manual/2", created: Fx.hour(0.5), exitCode: 0, message: Self.acknowledgedResult,
                                    annotations: [Backstop.runNowAnnotation: "2"])
        let recorded = P.planner.plan(CleanupObserved(policy: p, jobs: [job], pods: [pod], secrets: P.secretsOK, now: Fx.hour(0.6)))
        #expect(recorded.status.allowDeleteUsed == ["agent-runs=200"])

        // The annotation left in place: the next run carries no allowance.
        p.status = recorded.status
        p.metadata.annotations?[Backstop.runNowAnnotation] = "3"
        let next = P.planner.plan(CleanupObserved(policy: p, secrets: P.secretsOK, now: Fx.hour(0.7)))
        #expect(try Self.allowance(next) == nil, "a spent acknowledgment authorises no later run")
        #expect(next.status.allowDeleteUsed == ["agent-runs=200"])

        // A new count is a new acknowledgment; the spent entry is forgotten.
        p.metadata.annotations?[Backstop.allowDeleteAnnotation] = "agent-runs=150"
        p.metadata.annotations?[Backstop.runNowAnnotation] = "4"
        let renewed = P.planner.plan(CleanupObserved(policy: p, secrets: P.secretsOK, now: Fx.hour(0.8)))
        #expect(try Self.allowance(renewed) == 150)
        #expect(renewed.status.allowDeleteUsed == nil)

        // Removing the annotation forgets it too, so the same count can be given again.
        p.metadata.annotations?[Backstop.allowDeleteAnnotation] = nil
        #expect(P.planner.plan(CleanupObserved(policy: p, secrets: P.secretsOK, now: Fx.hour(0.8))).status.allowDeleteUsed == nil)
    }

    @Test func aRefusalWhileTheAnnotationIsSpentSaysSo() throws {
        var spent = CleanupPolicyStatus()
        spent.allowDeleteUsed = ["agent-runs=200"]
        let p = P.policy(annotations: [Backstop.allowDeleteAnnotation: "agent-runs=200"], status: spent)
        let (job, pod) = P.finished(p, token: "t1", created: Fx.hour(1), exitCode: 4, message: P.guardResult)
        let plan = P.planner.plan(CleanupObserved(policy: p, jobs: [job], pods: [pod], secrets: P.secretsOK, now: Fx.hour(1.2)))
        let last = try #require(plan.status.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self))
        #expect(last.reason == "DeleteLimitExceeded")
        #expect(last.message.contains("backstop.dev/allow-delete agent-runs=200 was used by an earlier run"), "\(last.message)")
    }

    @Test func aRunThatStayedWithinItsLimitsDoesNotSpendTheAcknowledgment() throws {
        let p = P.policy(annotations: [Backstop.allowDeleteAnnotation: "agent-runs=200"])
        let (job, pod) = P.finished(p, token: "t1", created: Fx.hour(1), exitCode: 0, message: P.okResult)
        let plan = P.planner.plan(CleanupObserved(policy: p, jobs: [job], pods: [pod], secrets: P.secretsOK, now: Fx.hour(1.2)))
        #expect(plan.status.allowDeleteUsed == nil)
    }
}
