import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import TestSupport
import Testing

/// `spec.notify` end to end in process: the BackupPolicy controller on KubeSim, real agent Jobs
/// against the test PostgreSQL, and a local webhook receiver (`http_test_server.py`'s
/// `/webhook/NAME`, which fails the first N requests).
@Suite(.serialized) struct NotificationIntegrationTests {
    struct Received: Decodable {
        var status: Int
        var contentType: String
        var body: String
        var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    static func received(_ server: HTTPTestServer, _ name: String) async throws -> [Received] {
        let (_, bytes) = try await HTTPClient().data(HTTPRequest(url: server.url("/webhook/\(name)")))
        return try JSONDecoder().decode([Received].self, from: Data(bytes))
    }

    static func notify(_ secret: String, _ events: [NotificationEvent]) -> [KubeModel.Notification] {
        [KubeModel.Notification(webhook: WebhookTarget(urlSecretRef: SecretKeySelector(name: secret, key: "url")), events: events)]
    }

    @Test func oneMessagePerFailedRunRetriedAfterA500AndNoneForAHealthyRun() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let server = try await HTTPTestServer.start()
        defer { server.stop() }
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.secret("wrong-creds", ["password": "definitely-not-" + pg.password])
        // The receiver answers 500 to the first request, then 200.
        try h.secret("chat-failing", ["url": server.url("/webhook/failing?fail=1") + "\n"])
        try h.secret("chat-healthy", ["url": server.url("/webhook/healthy")])
        try h.secret("chat-resume", ["url": server.url("/webhook/resume")])
        try h.claim("backups")
        var failing = BackupIntegrationTests.policy("failing", pg: pg, database: database, secret: "wrong-creds")
        failing.spec.notify = Self.notify("chat-failing", [.failed, .stale])
        var healthy = BackupIntegrationTests.policy("healthy", pg: pg, database: database)
        healthy.spec.notify = Self.notify("chat-healthy", [.failed, .stale, .verificationFailed])
        var resume = BackupIntegrationTests.policy("resume", pg: pg, database: database)
        resume.spec.notify = Self.notify("chat-resume", [.failed])
        try h.create(failing)
        try h.create(healthy)
        try h.create(resume)
        // An operator that stopped after staging a message but before delivering it left this.
        var left = try await h.policy("resume")
        var staged = BackupPolicyStatus()
        staged.notifications = NotificationStatus(pending: [PendingNotification(
            id: "failed-00000000000000aa", event: .failed, reason: "AuthenticationFailed",
            message: "Job resume-backup-1: password authentication failed", time: Time(Date()))])
        left.status = staged
        _ = try await h.client.resource(BackupPolicy.self, namespace: "team").updateStatus(left)

        h.startController()
        #expect(try await eventually {
            let failingCataloged = try await h.policy("failing").status?.artifacts != nil
            let healthyCataloged = try await h.policy("healthy").status?.artifacts != nil
            return failingCataloged && healthyCataloged
        })

        // Failing transition 1: one message, delivered on the second attempt.
        try await h.annotate("failing", Backstop.runNowAnnotation, "one")
        #expect(try await eventually(.seconds(90)) { try await h.policy("failing").status?.notifications?.lastDelivery != nil })
        let first = try #require(try await h.policy("failing").status?.notifications)
        #expect(first.lastDelivery?.result == .delivered, "\(first)")
        #expect(first.lastDelivery?.attempts == 2)
        #expect(first.lastDelivery?.message == "HTTP 200 after 2 attempts")
        #expect(first.pending == nil)
        // Failing transition 2.
        try await h.annotate("failing", Backstop.runNowAnnotation, "two")
        #expect(try await eventually(.seconds(90)) {
            try await h.policy("failing").status?.notifications?.lastDelivery.map { $0.id != first.lastDelivery?.id } == true
        })
        let second = try #require(try await h.policy("failing").status?.notifications?.lastDelivery)
        #expect(second.attempts == 1 && second.result == .delivered)

        // A healthy run.
        try await h.annotate("healthy", Backstop.runNowAnnotation, "ok")
        #expect(try await eventually(.seconds(90)) { try await h.policy("healthy").status?.lastManualRun?.result == .succeeded })
        #expect(try await eventually(.seconds(30)) { try await h.policy("resume").status?.notifications?.lastDelivery != nil })
        try await Task.sleep(for: .seconds(2))  // room for a wrong delivery to arrive

        let calls = try await Self.received(server, "failing")
        #expect(calls.map(\.status) == [500, 200, 200], "\(calls.map(\.body))")
        let ids = calls.compactMap { $0.json?["id"]?.stringValue }
        #expect(ids.count == 3 && ids[0] == ids[1] && ids[1] != ids[2], "the retry repeats the id; the next run has its own")
        #expect(ids[1] == first.lastDelivery?.id && ids[2] == second.id)
        #expect(calls.allSatisfy { $0.contentType == "application/json" })
        let body = try #require(calls.first?.json)
        #expect(body["kind"]?.stringValue == "BackupPolicy")
        #expect(body["namespace"]?.stringValue == "team" && body["name"]?.stringValue == "failing")
        #expect(body["event"]?.stringValue == "Failed" && body["reason"]?.stringValue == "AuthenticationFailed")
        #expect(body["text"]?.stringValue?.hasPrefix("🚨 BackupPolicy team/failing: backup failed (AuthenticationFailed): Job failing-backup-") == true,
                "\(body["text"]?.stringValue ?? "")")
        // No secret: neither the database password nor the webhook's URL.
        for call in calls {
            #expect(!call.body.contains(pg.password) && !call.body.contains("/webhook/") && !call.body.contains(":\(server.port)"))
        }
        #expect(try await Self.received(server, "healthy").isEmpty, "a healthy run sends nothing")
        // The message staged before the "restart" is delivered once, with its id.
        let resumed = try await Self.received(server, "resume")
        #expect(resumed.compactMap { $0.json?["id"]?.stringValue } == ["failed-00000000000000aa"])
        #expect(try await h.policy("resume").status?.notifications?.pending == nil)

        let status = try #require(try await h.policy("failing").status)
        #expect(!String(describing: status).contains("/webhook/"))
        #expect(try !h.events(of: "failing").contains { $0.reason == "NotificationFailed" })
        let delivered = try await eventually(.seconds(5)) {
            (try await h.metricsText()).contains("backstop_notifications_total{kind=\"BackupPolicy\",event=\"Failed\",result=\"delivered\"} 3")
        }
        let notificationLines = (try await h.metricsText()).split(separator: "\n").filter { $0.contains("notifications") }
        #expect(delivered, "\(notificationLines)")
        await h.stop()
    }

    @Test func aRefusingWebhookIsAFailedDeliveryAndAHangingOneNeverBlocksReconciles() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let server = try await HTTPTestServer.start()
        defer { server.stop() }
        let h = try await ControllerHarness()
        try h.secret("wrong-creds", ["password": "definitely-not-" + pg.password])
        // 404 is permanent: one attempt, no retry.
        try h.secret("chat", ["url": server.url("/webhook/gone?fail=100&status=404")])
        // A receiver that never answers.
        try h.secret("chat-hanging", ["url": server.url("/hang")])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("refused", pg: pg, database: database, secret: "wrong-creds")
        policy.spec.notify = Self.notify("chat", [.failed])
        try h.create(policy)
        var slow = BackupIntegrationTests.policy("slow", pg: pg, database: database, secret: "wrong-creds")
        slow.spec.notify = Self.notify("chat-hanging", [.failed])
        try h.create(slow)
        h.startController()
        #expect(try await eventually { try await h.policy("refused").status?.artifacts != nil })
        #expect(try await eventually { try await h.policy("slow").status?.artifacts != nil })
        try await h.annotate("refused", Backstop.runNowAnnotation, "one")
        // While the first message to the hanging receiver waits, the policy's next run is recorded.
        try await h.annotate("slow", Backstop.runNowAnnotation, "one")
        #expect(try await eventually(.seconds(60)) { try await h.policy("slow").status?.lastManualRun?.result == .failed })
        try await h.annotate("slow", Backstop.runNowAnnotation, "two")
        #expect(try await eventually(.seconds(60)) {
            let s = try await h.policy("slow").status
            return s?.lastManualRun?.value == "two" && s?.lastManualRun?.result == .failed
        })
        let slowStatus = try #require(try await h.policy("slow").status?.notifications)
        #expect(slowStatus.lastDelivery == nil, "the first delivery is still waiting for the receiver")
        #expect(slowStatus.pending?.count == 2)
        #expect(try await eventually(.seconds(90)) { try await h.policy("refused").status?.notifications?.lastDelivery != nil })
        let delivery = try #require(try await h.policy("refused").status?.notifications?.lastDelivery)
        #expect(delivery.result == .failed && delivery.attempts == 1)
        #expect(delivery.message == "HTTP 404 after 1 attempt")
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "refused").contains { $0.type == "Warning" && $0.reason == "NotificationFailed" && !$0.message.contains("/webhook/") }
        })
        #expect(try await Self.received(server, "gone").count == 1)
        #expect(try await eventually(.seconds(5)) {
            (try await h.metricsText()).contains("backstop_notifications_total{kind=\"BackupPolicy\",event=\"Failed\",result=\"failed\"} 1")
        })
        await h.stop()
    }

    /// A drill or restore with its own `notify` uses it; without one, its policy's. Both fail at
    /// Validate here (no agent Job), which is enough to see the verdict announced once.
    @Test func drillsAndRestoresNotifyThroughTheirOwnWebhookOrTheirPolicys() async throws {
        let pg = try TestServices.postgres()
        let server = try await HTTPTestServer.start()
        defer { server.stop() }
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.secret("chat-policy", ["url": server.url("/webhook/policy")])
        try h.secret("chat-own", ["url": server.url("/webhook/own")])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("agentfs", pg: pg, database: "postgres")
        policy.spec.notify = Self.notify("chat-policy", [.drillFailed, .drillPassed, .restoreFailed])
        try h.create(policy)
        h.startController()
        func own(_ event: String) -> JSONValue { [["webhook": ["urlSecretRef": ["name": "chat-own", "key": "url"]], "events": [.string(event)]]] }
        // Through the policy: a marker without a fresh backup is refused at Validate.
        _ = try h.sim.store.create(DrillIntegrationTests.drill("via-policy", [
            "policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": "scratch_a"]], "marker": true, "freshBackup": false]))
        // Its own: a scratch that is the live source is refused at Validate.
        _ = try h.sim.store.create(DrillIntegrationTests.drill("own-hook", [
            "policyRef": ["name": "agentfs"], "scratch": ["postgres": ["database": "postgres"]], "notify": own("DrillFailed")]))
        _ = try h.sim.store.create(["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                                    "metadata": ["name": "no-policy", "namespace": "team"],
                                    "spec": ["policyRef": ["name": "nope"], "allowOverwriteSource": true, "notify": own("RestoreFailed")]])
        func delivered<R: KubeResource & StatusBearing>(_ type: R.Type, _ name: String) async throws -> NotificationDelivery?
        where R.Status: NotifyingStatus {
            try await h.client.resource(R.self, namespace: "team").get(name).status?.notifications?.lastDelivery
        }
        #expect(try await eventually(.seconds(60)) {
            let a = try await delivered(DrillRun.self, "via-policy")
            let b = try await delivered(DrillRun.self, "own-hook")
            let c = try await delivered(RestoreRequest.self, "no-policy")
            return a != nil && b != nil && c != nil
        })
        try await Task.sleep(for: .seconds(1))
        let viaPolicy = try await Self.received(server, "policy").compactMap(\.json)
        #expect(viaPolicy.map { [$0["kind"]?.stringValue, $0["name"]?.stringValue, $0["event"]?.stringValue] } == [["DrillRun", "via-policy", "DrillFailed"]])
        let viaOwn = try await Self.received(server, "own").compactMap(\.json)
        let pairs = Set(viaOwn.map { "\($0["kind"]?.stringValue ?? "") \($0["name"]?.stringValue ?? "") \($0["event"]?.stringValue ?? "")" })
        #expect(viaOwn.count == 2 && pairs == ["DrillRun own-hook DrillFailed", "RestoreRequest no-policy RestoreFailed"], "\(viaOwn)")
        #expect(viaOwn.allSatisfy { $0["text"]?.stringValue?.hasPrefix("🚨 ") == true })
        #expect(try await delivered(DrillRun.self, "via-policy")?.result == .delivered)
        await h.stop()
    }
}
