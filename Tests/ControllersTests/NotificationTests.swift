import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The pure parts of `spec.notify`: which transitions become messages (once each), the message
/// a webhook receives, and when a POST is tried again.
@Suite struct NotificationTests {
    static let slot = "20260528T210000Z"
    static let webhook = KubeModel.Notification(webhook: WebhookTarget(urlSecretRef: SecretKeySelector(name: "chat", key: "url")),
                                                events: [.failed, .stale, .verificationFailed])
    static let authFailure = #"{"ok":false,"reason":"AuthenticationFailed","message":"source: password authentication failed for user backup","exitCode":3}"#

    /// One reconcile as the controller runs it: plan, then stage the triggers into the status.
    static func reconcile(_ policy: BackupPolicy, jobs: [Job] = [], pods: [Pod] = [], now: Date) -> BackupPolicyStatus {
        let plan = Fx.planner.plan(BackupObserved(policy: policy, jobs: jobs, pods: pods, secrets: Fx.secretsOK, now: now))
        return NotificationLedger.staging(NotificationTriggers.backupPolicy(old: policy.status, new: plan.status),
                                          targets: policy.spec.notify, uid: policy.metadata.uid!, into: plan.status, now: Time(now))
    }

    static func failedRun(_ p: BackupPolicy, token: String, at hour: Double) -> (Job, Pod) {
        let job = Fx.job(p, .backup, token: token, created: Fx.hour(hour), finished: true, succeeded: false)
        return (job, Fx.pod(for: job, exitCode: 3, message: authFailure))
    }

    @Test func aFailedBackupIsStagedOnceAndAgainOnlyForTheNextFailedRun() throws {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.spec.notify = [Self.webhook]
        let (job, pod) = Self.failedRun(p, token: Self.slot, at: 1)
        let first = Self.reconcile(p, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(60))
        let pending = try #require(first.notifications?.pending)
        #expect(pending.count == 1)
        #expect(pending[0].event == .failed)
        #expect(pending[0].reason == "AuthenticationFailed")
        #expect(pending[0].message.contains("password authentication failed"))
        // Re-planning from the written status (the next reconcile, or after a restart) adds nothing.
        p.status = first
        let again = Self.reconcile(p, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(90))
        #expect(again.notifications == first.notifications)
        // A status write that failed (409) is planned again from the old status: the same id.
        var unwritten = p
        unwritten.status = Fx.settled(lastSlot: Fx.hour(1))
        unwritten.status?.lastScheduleTime = Time(Fx.hour(1))
        let replanned = Self.reconcile(unwritten, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(61))
        #expect(replanned.notifications?.pending?.map(\.id) == pending.map(\.id))
        // The next failed run is its own transition.
        let (job2, pod2) = Self.failedRun(p, token: "20260528T220000Z", at: 2)
        let second = Self.reconcile(p, jobs: [job, job2], pods: [pod, pod2], now: Fx.hour(2).addingTimeInterval(60))
        let ids = second.notifications?.pending?.map(\.id) ?? []
        #expect(ids.count == 2 && Set(ids).count == 2 && ids[0] == pending[0].id, "\(ids)")
    }

    @Test func aHealthyRunStagesNothingUnlessSucceededIsListed() throws {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.spec.notify = [Self.webhook]
        let job = Fx.job(p, .backup, token: Self.slot, created: Fx.hour(1), finished: true)
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-cd34"))
        let healthy = Self.reconcile(p, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(60))
        #expect(healthy.conditions?.find(BackupConditions.lastBackupSucceeded)?.status == .true)
        #expect(healthy.notifications == nil)
        p.spec.notify = [KubeModel.Notification(webhook: Self.webhook.webhook, events: [.succeeded])]
        let told = Self.reconcile(p, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(60))
        #expect(told.notifications?.pending?.map(\.event) == [.succeeded])
        // Without spec.notify nothing is staged at all.
        p.spec.notify = nil
        let (failed, failedPod) = Self.failedRun(p, token: "20260528T220000Z", at: 2)
        #expect(Self.reconcile(p, jobs: [failed], pods: [failedPod], now: Fx.hour(2).addingTimeInterval(60)).notifications == nil)
    }

    @Test func stalenessIsAnnouncedWhenItBeginsNotOnEveryReconcile() throws {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.spec.notify = [Self.webhook]
        p.spec.verify = BackupVerification(staleAfter: "2h")
        p.status?.lastSuccessfulTime = Time(Fx.hour(0))
        let fresh = Self.reconcile(p, now: Fx.hour(1).addingTimeInterval(60))
        #expect(fresh.notifications == nil)
        p.status = fresh
        let stale = Self.reconcile(p, now: Fx.hour(2).addingTimeInterval(60))
        #expect(stale.notifications?.pending?.map(\.event) == [.stale])
        #expect(stale.notifications?.pending?.first?.reason == "BackupStale")
        p.status = stale
        #expect(Self.reconcile(p, now: Fx.hour(3).addingTimeInterval(5)).notifications == stale.notifications)
    }

    @Test func anUnverifiedBackupIsAVerificationFailure() {
        var p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        p.spec.notify = [Self.webhook]
        let job = Fx.job(p, .backup, token: Self.slot, created: Fx.hour(1), finished: true)
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-cd34", verified: false))
        let status = Self.reconcile(p, jobs: [job], pods: [pod], now: Fx.hour(1).addingTimeInterval(60))
        #expect(status.notifications?.pending?.map(\.event) == [.verificationFailed])
    }

    @Test func theLedgerKeepsEachIdOnceSkipsTheLastDeliveredAndStaysBounded() {
        let now = Time(Fx.t0)
        let targets = [Self.webhook]
        func trigger(_ n: Int) -> NotificationTrigger {
            NotificationTrigger(event: .failed, reason: "BackupFailed", message: "run \(n)", token: "job-\(n)")
        }
        let one = NotificationLedger.stage([trigger(1)], targets: targets, uid: "u", into: nil, now: now)
        #expect(NotificationLedger.stage([trigger(1)], targets: targets, uid: "u", into: one, now: now) == one)
        // Another object's identical transition has another id.
        #expect(NotificationLedger.id(uid: "u", event: .failed, token: "job-1") != NotificationLedger.id(uid: "v", event: .failed, token: "job-1"))
        let id = one?.pending?.first?.id ?? ""
        let delivered = NotificationLedger.record(NotificationDelivery(id: id, event: .failed, time: now, result: .delivered, attempts: 2), in: one)
        #expect(delivered.pending == nil)
        #expect(delivered.lastDelivery?.attempts == 2)
        #expect(NotificationLedger.stage([trigger(1)], targets: targets, uid: "u", into: delivered, now: now) == delivered)
        // Events nobody listens to are not staged.
        let unheard = NotificationTrigger(event: .succeeded, reason: "BackupSucceeded", message: "ok", token: "job-9")
        #expect(NotificationLedger.stage([unheard], targets: targets, uid: "u", into: nil, now: now) == nil)
        let many = NotificationLedger.stage((1...15).map(trigger), targets: targets, uid: "u", into: nil, now: now)
        #expect(many?.pending?.count == NotificationLedger.pendingLimit)
        #expect(many?.pending?.last?.message == "run 15")
    }

    @Test func theOtherKindsAnnounceTheirOutcomeOnce() {
        var drill = DrillRunStatus()
        drill.phase = .running
        var done = drill
        done.result = .failed
        done.message = "restore failed: table entries missing"
        #expect(NotificationTriggers.drillRun(old: drill, new: done).map(\.event) == [.drillFailed])
        #expect(NotificationTriggers.drillRun(old: done, new: done).isEmpty)
        var restore = RestoreRequestStatus()
        restore.phase = .verifying
        var restored = restore
        restored.phase = .succeeded
        #expect(NotificationTriggers.restoreRequest(old: restore, new: restored).map(\.event) == [.restoreSucceeded])
        #expect(NotificationTriggers.restoreRequest(old: restored, new: restored).isEmpty)
        var rotation = SecretRotationStatus()
        rotation.phase = "RollingBack"
        var rolledBack = rotation
        rolledBack.phase = "RolledBack"
        #expect(NotificationTriggers.secretRotation(old: rotation, new: rolledBack).map(\.event) == [.rotationRolledBack])
        rolledBack.phase = "Failed"
        #expect(NotificationTriggers.secretRotation(old: rotation, new: rolledBack).map(\.event) == [.rotationFailed])
        var cleanup = CleanupPolicyStatus()
        cleanup.conditions = []
        cleanup.conditions?.set(CleanupPolicyConditions.LastRunSucceeded.self, .false, .deleteLimitExceeded,
                                message: "Job c-1: would delete 90% of agent_runs", observedGeneration: 1, now: Time(Fx.t0))
        let refused = NotificationTriggers.cleanupPolicy(old: CleanupPolicyStatus(), new: cleanup)
        #expect(refused.map(\.event) == [.failed])
        #expect(refused.first?.reason == "DeleteLimitExceeded")
        #expect(NotificationTriggers.cleanupPolicy(old: cleanup, new: cleanup).isEmpty)
    }

    @Test func theMessageHasASlackTextAndStructuredFieldsAndNothingElse() throws {
        let item = PendingNotification(id: "failed-0123456789abcdef", event: .failed, reason: "AuthenticationFailed",
                                       message: "Job orders-backup-1a2b3c4d: source: password authentication failed for user backup",
                                       time: Time(Fx.t0))
        let message = NotificationMessage(kind: "BackupPolicy", namespace: "team", name: "orders", item: item)
        #expect(message.text == "🚨 BackupPolicy team/orders: backup failed (AuthenticationFailed): Job orders-backup-1a2b3c4d: "
                + "source: password authentication failed for user backup. See the conditions and Events: kubectl describe backuppolicy -n team orders")
        let json = try JSONValue.encode(message)
        // No field where a URL, a header or a Secret value could go.
        #expect(Set(json.objectValue?.keys.map { $0 } ?? []) == ["text", "id", "kind", "namespace", "name", "event", "reason", "message", "time", "source"])
        #expect(json["time"]?.stringValue == Time(Fx.t0).rfc3339)
        #expect(!message.text.contains("\n"))
        let good = NotificationMessage(kind: "DrillRun", namespace: "team", name: "q1",
                                       item: PendingNotification(id: "x", event: .drillPassed, reason: "DrillPassed", message: "RTO 12s", time: Time(Fx.t0)))
        #expect(good.text == "✅ DrillRun team/q1: restore drill passed: RTO 12s")
    }

    @Test(arguments: [
        (WebhookRetry.Outcome.status(200, retryAfter: nil), 1, WebhookRetry.Verdict.delivered),
        (.status(204, retryAfter: nil), 1, .delivered),
        (.status(500, retryAfter: nil), 1, .retry(after: .seconds(1))),
        (.status(502, retryAfter: nil), 3, .retry(after: .seconds(4))),
        (.status(429, retryAfter: "7"), 1, .retry(after: .seconds(7))),
        (.status(503, retryAfter: "3600"), 1, .retry(after: .seconds(60))),
        (.status(500, retryAfter: nil), 5, .giveUp),
        (.status(404, retryAfter: nil), 1, .giveUp),
        (.status(400, retryAfter: nil), 1, .giveUp),
        (.status(301, retryAfter: nil), 1, .giveUp),
        (.transport("connection failed", retryable: true), 2, .retry(after: .seconds(2))),
        (.transport("the URL in the Secret is not usable", retryable: false), 1, .giveUp),
    ])
    func retryVerdicts(_ outcome: WebhookRetry.Outcome, attempt: Int, expected: WebhookRetry.Verdict) {
        #expect(WebhookRetry().verdict(outcome, attempt: attempt) == expected)
    }
}
