import BackstopApp
import Foundation
import KubeModel
import Synchronization
import Testing

/// The incident screen across kinds (failing first, with the next action), the `-o json`
/// document scripts read, and `--watch` drawing only when the report changed.
@Suite struct StatusDocumentTests {
    static let now = StatusReportTests.now

    static var snapshot: StatusSnapshot {
        let broken = StatusReportTests.policy("orders", conditions: [
            StatusReportTests.condition("Ready", .false, "BackupFailed", "Last backup failed"),
            StatusReportTests.condition("LastBackupSucceeded", .false, "AuthenticationFailed", "password authentication failed for user \"app\""),
        ], lastSuccess: 2 * 86400)
        var healthy = StatusReportTests.policy("billing", conditions: [StatusReportTests.condition("Ready", .true, "Scheduled")],
                                               lastSuccess: 600, lastVerified: 600, next: 3000, artifacts: 4)
        healthy.status?.retentionPlan = RetentionPlanStatus(nextPruneTime: Time(now.addingTimeInterval(3000)),
                                                            wouldDelete: [PlannedDeletion(id: "20261201T020000Z-aa11", reason: "beyond keepLast 3")])
        healthy.status?.lastDrill = DrillRecord(name: "billing-drill", time: Time(now.addingTimeInterval(-7200)), result: .passed, rtoSeconds: 14, rpoSeconds: 3)
        var restore = RestoreRequest(metadata: ObjectMeta(name: "undo", namespace: "prod"),
                                     spec: RestoreRequestSpec(policyRef: LocalObjectReference(name: "billing")))
        restore.status = RestoreRequestStatus()
        restore.status?.phase = .quiescing
        restore.status?.currentStep = "Quiesce"
        restore.status?.savedReplicas = ["Deployment/api": 3]
        restore.status?.steps = [StepStatus(name: "Quiesce", phase: .running, message: "waiting: Deployment/api: 1 pod(s) left")]
        let rotation = StatusRotationsTests.rotation("db", phase: "Succeeded", lastRotated: 3600, consumers: [("api", true)])
        return StatusSnapshot(namespace: "prod", policies: [healthy, broken], restores: [restore], rotations: [rotation])
    }

    @Test func theDocumentPutsFailingFirstWithReasonAndNextActionAndKeepsItsKeys() throws {
        let doc = StatusDocument(Self.snapshot, now: Self.now)
        #expect(doc.summary == StatusDocument.Summary(failing: 1, running: 1, ok: 2))
        #expect(doc.backupPolicies.map(\.name) == ["orders", "billing"])
        let broken = doc.backupPolicies[0]
        #expect(broken.state == .failing && broken.reason == "AuthenticationFailed")
        #expect(broken.nextAction?.hasPrefix("Fix the credentials in the source's credentials Secret") == true, "\(broken.nextAction ?? "")")
        #expect(broken.nextAction?.contains("kubectl annotate bp -n prod orders backstop.dev/run-now=") == true)
        let billing = doc.backupPolicies[1]
        let drill = try #require(billing.lastDrill)
        #expect(drill.name == "billing-drill" && drill.result == "Passed" && drill.time == "2027-01-15T06:00:00Z")
        #expect(drill.rtoSeconds == 14 && drill.rpoSeconds == 3)
        #expect(billing.retention?.wouldDelete.map { "\($0.id) \($0.reason)" } == ["20261201T020000Z-aa11 beyond keepLast 3"])
        #expect(doc.restoreRequests.first?.step == "Quiesce" && doc.restoreRequests.first?.state == .running)
        #expect(doc.restoreRequests.first?.nextAction?.contains("Deployment/api: 1 pod(s) left") == true)
        #expect(doc.secretRotations.first?.consumers.map { "\($0.kind)/\($0.name) \($0.restartedAt ?? "-") \($0.ready == true)" }
                == ["Deployment/api 2027-01-15T08:00:00Z true"])

        // The keys scripts rely on (docs/incident.md), and the same bytes for the same objects.
        let data = try doc.encoded()
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["apiVersion", "kind", "generatedAt", "namespace", "summary", "backupPolicies", "restoreRequests",
                                     "drillRuns", "secretRotations", "cleanupPolicies"])
        let item = try #require((object["backupPolicies"] as? [[String: Any]])?.first)
        #expect(Set(["namespace", "name", "state", "reason", "message", "nextAction", "source", "lastSuccessfulTime"]).isSubset(of: item.keys))
        #expect(item["state"] as? String == "failing")
        #expect(try StatusDocument(Self.snapshot, now: Self.now).encoded() == data)
    }

    @Test func theScreenStartsWithWhatIsFailingAndTheNextActionThenTheTables() {
        let text = StatusReport.render(Self.snapshot, now: Self.now)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == "1 failing, 1 running, 2 ok.")
        #expect(lines[2] == "FAILING")
        #expect(lines[3] == "  BackupPolicy prod/orders: AuthenticationFailed: password authentication failed for user \"app\"")
        #expect(lines[4].hasPrefix("    next: Fix the credentials"))
        #expect(lines[6].hasPrefix("NAMESPACE") && lines[7].contains("orders"), "\(text)")
        #expect(text.contains("Retention, next deletions:\n  prod/billing at 2027-01-15T08:50:00Z (in 50m) deletes 1:\n    20261201T020000Z-aa11  (beyond keepLast 3)\n"), "\(text)")
        #expect(text.contains("waiting: Deployment/api: 1 pod(s) left") && text.contains("1/1 ready"))
        #expect(text.components(separatedBy: "password authentication failed").count == 2, "the message once, in FAILING: \(text)")

        let calm = StatusReport.render(StatusSnapshot(policies: [StatusReportTests.policy("ok", conditions: [StatusReportTests.condition("Ready", .true, "Scheduled")])]),
                                       now: Self.now)
        #expect(calm.hasPrefix("0 failing, 0 running, 1 ok.\n\nNAMESPACE"), "\(calm)")
    }

    @Test func watchDrawsOnlyWhenTheReportChangesAndSurvivesAFailedRead() async {
        let calls = Mutex(0)
        let frames = Mutex<[String]>([])
        let changed = Self.snapshot
        var fixed = changed
        fixed.restores = []
        let reads: [StatusSnapshot?] = [changed, changed, changed, nil, changed, fixed, fixed]
        let watch = StatusWatch(output: .json, interval: .milliseconds(1), clearScreen: false)
        let clock = Mutex(Self.now)
        let drawn = await watch.run(fetch: {
            let i = calls.withLock { $0 += 1; return $0 - 1 }
            clock.withLock { $0 += 1 }  // time passes: generatedAt changes, the report does not
            guard i < reads.count else { throw CancellationError() }
            guard let snapshot = reads[i] else { throw ReadFailed() }
            return snapshot
        }, write: { text in frames.withLock { $0.append(text) } }, now: { clock.withLock { $0 } })
        let written = frames.withLock { $0 }
        // Drawn: the first read, the error, the same report again once the read works, the change.
        #expect(drawn == 3)
        #expect(written.count == 4, "\(written)")
        #expect(written[1].hasPrefix("backstop status: cannot read the cluster"))
        #expect(written.allSatisfy { $0.hasSuffix("\n") && $0.dropLast().contains("\n") == false }, "one line per frame")
        #expect(written[3].contains("\"restoreRequests\":[]"))
    }

    @Test func watchOnATerminalClearsTheScreenAndSaysWhenItChanged() async {
        let calls = Mutex(0)
        let frames = Mutex<[String]>([])
        let watch = StatusWatch(output: .text, interval: .milliseconds(1), clearScreen: true)
        let drawn = await watch.run(fetch: {
            guard calls.withLock({ $0 += 1; return $0 }) <= 3 else { throw CancellationError() }
            return Self.snapshot
        }, write: { text in frames.withLock { $0.append(text) } }, now: { Self.now })
        let written = frames.withLock { $0 }
        #expect(drawn == 1 && written.count == 1)
        #expect(written.first?.hasPrefix("\u{1B}[H\u{1B}[2Jbackstop status --watch: changed at 2027-01-15T08:00:00Z") == true, "\(written)")
        #expect(written.first?.contains("\n\n1 failing, 1 running, 2 ok.\n") == true)
    }
}

private struct ReadFailed: Error, CustomStringConvertible {
    var description: String { "the API server timed out" }
}
