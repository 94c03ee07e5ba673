import Agent
import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// Status, conditions, Events and metrics from finished Jobs; validation, Secrets, staleness
/// and the retention preview.
@Suite struct PlannerResultTests {
    let slot = UTCTimestamp.compact(Fx.hour(1))

    @Test func aSuccessfulBackupIsRecordedAndFollowedByAPruneJob() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let job = Fx.job(p, .backup, token: slot, created: Fx.hour(1), finished: true)
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-ab12"))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK,
                                                  now: Fx.hour(1).addingTimeInterval(60)))
        let s = plan.status
        #expect(s.lastBackup?.id == "20260528T210005Z-ab12")
        #expect(s.lastBackup?.verified == true)
        #expect(s.lastBackup?.job == job.metadata.name)
        #expect(s.lastSuccessfulTime != nil && s.lastVerifiedTime == s.lastSuccessfulTime)
        #expect(s.artifacts?.count == 1 && s.artifacts?.totalBytes == 4096)
        #expect(s.recentBackups?.count == 1)
        #expect(s.conditions?.find(BackupConditions.lastBackupSucceeded)?.status == .true)
        #expect(s.conditions?.find(BackupConditions.verified)?.status == .true)
        #expect(s.conditions?.find(BackupConditions.ready)?.status == .true)
        #expect(plan.actions.contains(.markRecorded(name: job.metadata.name!)))
        #expect(plan.events.contains { $0.reason == "BackupSucceeded" && !$0.warning })
        #expect(plan.metrics.contains(.backupSucceeded(durationSeconds: 2.5)))
        let prune = try #require(plan.createdJobs.first)
        #expect(prune.metadata.labels?[BackstopLabels.operation] == "prune")
        #expect(prune.spec?.template.spec?.containers.first?.args?.prefix(2) == ["agent", "prune"])
        // Recording twice (the annotation write lagging behind status) changes nothing.
        var p2 = p
        p2.status = s
        let again = Fx.planner.plan(BackupObserved(policy: p2, jobs: [job], pods: [pod], secrets: Fx.secretsOK,
                                                   now: Fx.hour(1).addingTimeInterval(61)))
        #expect(again.status.artifacts?.count == 1)
        #expect(!again.events.contains { $0.reason == "BackupSucceeded" })
        #expect(!again.metrics.contains(.backupSucceeded(durationSeconds: 2.5)))
    }

    @Test func aSecondPruneFinishingInTheSameSecondIsStillRecorded() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let pruneResult = { (deleted: Int, kept: Int) in
            #"{"command":"prune","ok":true,"exitCode":0,"deleted":\#(deleted),"kept":\#(kept),"wouldDelete":[]}"#
        }
        // Both Jobs carry the same completionTime (to the second).
        let first = Fx.job(p, .prune, token: "pg-backup-a", created: Fx.hour(1), finished: true)
        let second = Fx.job(p, .prune, token: "pg-backup-b", created: Fx.hour(1), finished: true)
        #expect(first.status?.completionTime == second.status?.completionTime)
        let now = Fx.hour(1).addingTimeInterval(60)
        let afterFirst = Fx.planner.plan(BackupObserved(policy: p, jobs: [first], pods: [Fx.pod(for: first, exitCode: 0, message: pruneResult(0, 1))],
                                                        secrets: Fx.secretsOK, now: now))
        #expect(afterFirst.status.lastPrune?.deleted == 0)
        #expect(afterFirst.status.lastPrune?.job == first.metadata.name)
        var p2 = p
        p2.status = afterFirst.status
        var recordedFirst = first
        recordedFirst.metadata.annotations = (first.metadata.annotations ?? [:]).merging([BackstopLabels.recorded: "true"]) { $1 }
        let afterSecond = Fx.planner.plan(BackupObserved(
            policy: p2, jobs: [recordedFirst, second],
            pods: [Fx.pod(for: first, exitCode: 0, message: pruneResult(0, 1)), Fx.pod(for: second, exitCode: 0, message: pruneResult(54, 8))],
            secrets: Fx.secretsOK, now: now))
        #expect(afterSecond.status.lastPrune?.deleted == 54)
        #expect(afterSecond.status.lastPrune?.kept == 8)
        #expect(afterSecond.status.lastPrune?.job == second.metadata.name)
        #expect(afterSecond.events.contains { $0.reason == "Pruned" && $0.message.hasPrefix("Deleted 54") })
    }

    @Test func theNewestBackupWithinOneSecondStillGetsItsPrune() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let second = Fx.hour(1)
        func stamp(_ offset: Double) -> [String: String] {
            [BackstopLabels.createdAt: String(format: "%.6f", second.timeIntervalSince1970 + offset)]
        }
        // Two run-now backups created in the same second (same creationTimestamp); the older one
        // is recorded and already pruned, the newer one is not.
        let older = Fx.job(p, .backup, token: "manual/a", created: second, finished: true, recorded: true, annotations: stamp(0.1))
        let newer = Fx.job(p, .backup, token: "manual/b", created: second, finished: true, recorded: true, annotations: stamp(0.6))
        let olderPrune = Fx.job(p, .prune, token: older.metadata.name!, created: second, finished: true, recorded: true, annotations: stamp(0.3))
        for jobs in [[older, newer, olderPrune], [newer, older, olderPrune], [olderPrune, newer, older]] {
            let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: jobs, pods: [], secrets: Fx.secretsOK,
                                                      now: second.addingTimeInterval(5), catalogWhenStatusMissing: false))
            let prune = try #require(plan.createdJobs.first, "no prune for the newer backup")
            #expect(prune.metadata.labels?[BackstopLabels.operation] == "prune")
            #expect(prune.metadata.name == AgentJobBuilder.jobName(policy: "pg", operation: .prune, token: newer.metadata.name!))
            #expect(prune.metadata.annotations?[BackstopLabels.createdAt].flatMap(Double.init) != nil)
        }
    }

    /// A failed backup, by what the agent wrote: the condition reasons, Ready, the Event and
    /// the failure metric, and no prune after it.
    struct Failure: CustomTestStringConvertible, Sendable {
        var name: String
        var exitCode: Int32
        var message: String
        var reason: String
        var messagePart: String
        /// Integrity failures also turn Verified false with the same reason.
        var verifiedFalse = false
        var testDescription: String { name }
    }

    static let failures: [Failure] = [
        Failure(name: "wrong password", exitCode: 3,
                message: #"{"ok":false,"reason":"AuthenticationFailed","message":"source: password authentication failed for user backup","exitCode":3}"#,
                reason: "AuthenticationFailed", messagePart: "password authentication failed"),
        Failure(name: "artifact below minSizeBytes", exitCode: 5,
                message: #"{"ok":false,"reason":"ArtifactTooSmall","message":"artifact is 12 bytes, below minSizeBytes 1024","exitCode":5}"#,
                reason: "ArtifactTooSmall", messagePart: "below minSizeBytes", verifiedFalse: true),
        Failure(name: "checksum mismatch after upload", exitCode: 5,
                message: #"{"ok":false,"reason":"ChecksumMismatch","message":"sha256 of the stored object differs","exitCode":5}"#,
                reason: "ChecksumMismatch", messagePart: "sha256 of the stored object differs", verifiedFalse: true),
        Failure(name: "a log tail instead of JSON (FallbackToLogsOnError)", exitCode: 1,
                message: "starting\npg_dump: error: connection to server refused\n",
                reason: "AgentFailed", messagePart: "exit code 1: pg_dump: error: connection to server refused"),
    ]

    @Test(arguments: failures)
    func aFailedBackupCarriesTheAgentsReason(_ f: Failure) throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let job = Fx.job(p, .backup, token: slot, created: Fx.hour(1), finished: true, succeeded: f.exitCode == 0)
        let pod = Fx.pod(for: job, exitCode: f.exitCode, message: f.message)
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK,
                                                  now: Fx.hour(1).addingTimeInterval(60)))
        let last = try #require(plan.status.conditions?.find(BackupConditions.lastBackupSucceeded))
        #expect(last.status == .false)
        #expect(last.reason == f.reason)
        #expect(last.message.contains(f.messagePart), "\(last.message)")
        let verified = plan.status.conditions?.find(BackupConditions.verified)
        #expect(f.verifiedFalse ? verified?.status == .false && verified?.reason == f.reason : verified == nil)
        #expect(plan.status.conditions?.find(BackupConditions.ready)?.reason == "BackupFailed")
        #expect(plan.events.map(\.reason) == ["BackupFailed"])
        #expect(plan.events.allSatisfy { $0.warning && $0.message.contains(f.reason) })
        #expect(plan.metrics.contains(.backupFailed(durationSeconds: nil)))
        #expect(plan.actions.contains(.markRecorded(name: job.metadata.name!)))
        #expect(plan.createdJobs.isEmpty)  // no prune after a failure
    }

    @Test func aFinishedJobWaitsBrieflyForItsPodThenReportsTheJobCondition() {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        var job = Fx.job(p, .backup, token: slot, created: Fx.hour(1), finished: true, succeeded: false)
        job.status?.conditions = [JobCondition(type: "Failed", status: .true, reason: "DeadlineExceeded", message: "Job was active longer than specified deadline")]
        let early = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(25)))
        #expect(!early.actions.contains(.markRecorded(name: job.metadata.name!)))
        let late = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(120)))
        #expect(late.status.conditions?.find(BackupConditions.lastBackupSucceeded)?.reason == "DeadlineExceeded")
    }

    @Test func aRunNowResultIsRecordedInLastManualRun() {
        var status = Fx.settled(lastSlot: Fx.hour(1))
        var run = ManualRun(value: "v1")
        run.result = .running
        status.lastManualRun = run
        var p = Fx.policy(status: status)
        p.metadata.annotations = [Backstop.runNowAnnotation: "v1"]
        let job = Fx.job(p, .backup, token: "manual/v1", created: Fx.hour(1), finished: true,
                         annotations: [Backstop.runNowAnnotation: "v1"])
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-cd34"))
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(30)))
        #expect(plan.status.lastManualRun?.result == .succeeded)
        #expect(plan.status.lastManualRun?.finishedAt != nil)
    }

    /// A prune keeps what unfinished restores and drills have chosen (keepLast 1 would delete it
    /// the moment the next scheduled backup lands).
    @Test func aPruneCarriesTheArtifactsRunningRestoresAndDrillsUse() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(1)))
        let job = Fx.job(p, .backup, token: slot, created: Fx.hour(1), finished: true)
        let pod = Fx.pod(for: job, exitCode: 0, message: Fx.backupResult(id: "20260528T210005Z-ab12"))
        var observed = BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK, now: Fx.hour(1).addingTimeInterval(60))
        observed.inUse = ["20260527T210005Z-0001"]
        let prune = try #require(Fx.planner.plan(observed).createdJobs.first)
        #expect(prune.metadata.labels?[BackstopLabels.operation] == "prune")
        #expect(try CleanupPlannerTests.agentSpec(prune).inUse == ["20260527T210005Z-0001"])
        observed.inUse = []
        let plain = try #require(Fx.planner.plan(observed).createdJobs.first)
        #expect(try CleanupPlannerTests.agentSpec(plain).inUse == nil)
    }

    /// Found by the chaos run: a drill's fresh backup (the drill's own run-now token) must not
    /// replace the user's answered run-now, or that value runs again once its Job is trimmed.
    @Test func aDrillsFreshBackupLeavesTheUsersAnsweredRunNowAlone() {
        var status = Fx.settled(lastSlot: Fx.hour(1))
        var run = ManualRun(value: "v1")
        run.result = .succeeded
        run.finishedAt = Time(Fx.hour(1))
        status.lastManualRun = run
        var p = Fx.policy(status: status)
        p.metadata.annotations = [Backstop.runNowAnnotation: "v1"]
        var drillBackup = Fx.job(p, .backup, token: "drill/d1", created: Fx.hour(1).addingTimeInterval(60), finished: true,
                                 annotations: [BackstopLabels.runNow: "drill-d1-token"])
        drillBackup.metadata.labels?[BackstopLabels.drill] = "d1"
        let pod = Fx.pod(for: drillBackup, exitCode: 0, message: Fx.backupResult(id: "20260528T210105Z-ef56"))
        // The user's v1 Job is gone (trimmed): only the drill's backup is left.
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [drillBackup], pods: [pod], secrets: Fx.secretsOK,
                                                  now: Fx.hour(1).addingTimeInterval(120)))
        #expect(plan.status.lastBackup?.id == "20260528T210105Z-ef56")
        #expect(plan.status.lastManualRun == run)
        #expect(!plan.createdJobs.contains { $0.metadata.annotations?[BackstopLabels.runNow] == "v1" })
    }

    @Test(arguments: ["61 * * * *", "@every 10s"])
    func anInvalidScheduleGivesReadyFalseAndNoJob(schedule: String) {
        let p = Fx.policy(schedule: schedule, status: Fx.settled(lastSlot: Fx.hour(0)))
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(5)))
        let ready = plan.status.conditions?.find(BackupConditions.ready)
        #expect(ready?.status == .false && ready?.reason == "InvalidSpec")
        #expect(ready?.message.contains("spec.schedule") == true)
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.events.contains { $0.warning && $0.reason == "InvalidSpec" })
    }

    @Test func aMissingSecretOrKeyGivesReadyFalseNoJobAndRecovers() throws {
        let p = Fx.policy(status: Fx.settled(lastSlot: Fx.hour(0)))
        let now = Fx.hour(1).addingTimeInterval(10)
        for (secrets, text) in [(["db-creds": SecretState.missing], "Secret db-creds not found"),
                                (["db-creds": .present(keys: ["user"])], "Secret db-creds has no key password")] {
            let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: secrets, now: now))
            let ready = try #require(plan.status.conditions?.find(BackupConditions.ready))
            #expect(ready.status == .false && ready.reason == "SecretMissing" && ready.message.contains(text))
            #expect(plan.createdJobs.isEmpty)
            #expect(plan.events.contains { $0.warning && $0.reason == "SecretMissing" })
            #expect(plan.requeueAfter != nil && plan.requeueAfter! <= .seconds(6))
            // The value of a Secret never reaches status or Events (only names and keys do).
            #expect(!ready.message.contains("hunter2"))
        }
        var broken = p
        broken.status = Fx.planner.plan(BackupObserved(policy: p, secrets: ["db-creds": .missing], now: now)).status
        #expect(Fx.planner.plan(BackupObserved(policy: broken, secrets: nil, now: now)).wantsSecrets)
        let fixed = Fx.planner.plan(BackupObserved(policy: broken, secrets: Fx.secretsOK, now: now))
        #expect(fixed.createdJobs.count == 1)
        #expect(fixed.status.conditions?.find(BackupConditions.ready)?.status == .true)
        #expect(fixed.events.contains { $0.reason == "Recovered" })
    }

    @Test func staleAfterWithoutSuccessTurnsReadyFalse() {
        var status = Fx.settled(lastSlot: Fx.hour(0))
        status.lastSuccessfulTime = Time(Fx.hour(-30))
        var p = Fx.policy(status: status)
        p.spec.verify = BackupVerification(staleAfter: "26h")
        let plan = Fx.planner.plan(BackupObserved(policy: p, secrets: Fx.secretsOK, now: Fx.hour(0).addingTimeInterval(60)))
        #expect(plan.status.conditions?.find(BackupConditions.stale)?.status == .true)
        #expect(plan.status.conditions?.find(BackupConditions.ready)?.reason == "BackupStale")
        #expect(plan.events.contains { $0.warning && $0.reason == "BackupStale" })
        var fresh = p
        fresh.status?.lastSuccessfulTime = Time(Fx.hour(-1))
        let ok = Fx.planner.plan(BackupObserved(policy: fresh, secrets: Fx.secretsOK, now: Fx.hour(0).addingTimeInterval(60)))
        #expect(ok.status.conditions?.find(BackupConditions.stale)?.status == .false)
    }

    @Test func aCatalogResultGivesArtifactTotalsAndTheRetentionPreview() throws {
        let p = Fx.policy(retention: RetentionPolicy(keepLast: 2), status: nil)
        let job = Fx.job(p, .catalog, token: p.metadata.uid!, created: Fx.t0, finished: true)
        let artifacts: [JSONValue] = (0..<4).map { i in
            let t = Time(Fx.hour(Double(-24 * i)))
            return ["id": .string("\(UTCTimestamp.compact(t.date))-000\(i)"), "createdAt": .string(t.rfc3339), "sizeBytes": 100,
                    "verified": true, "pinned": false]
        }
        let message = JSONValue.object(["ok": true, "count": 4, "totalBytes": 400, "artifacts": .array(artifacts),
                                        "location": "volume"]).jsonString
        let pod = Fx.pod(for: job, exitCode: 0, message: message)
        let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [pod], secrets: Fx.secretsOK, now: Fx.t0.addingTimeInterval(30)))
        #expect(plan.status.artifacts?.count == 4 && plan.status.artifacts?.totalBytes == 400)
        #expect(plan.status.lastSuccessfulTime == Time(Fx.hour(0)))
        let preview = try #require(plan.status.retentionPlan)
        // keepLast 2 after the next backup keeps it and the newest existing one: 3 would go.
        #expect(preview.wouldDelete?.count == 3)
        #expect(preview.wouldDelete?.allSatisfy { $0.reason.contains("no rule keeps it") } == true)
        #expect(plan.events.contains { $0.reason == "CatalogRefreshed" })
        // A truncated result (list dropped to fit 4 KiB) keeps totals but gives no preview.
        let truncated = JSONValue.object(["ok": true, "count": 400, "totalBytes": 40000, "truncated": true, "location": "volume",
                                          "newest": "20260528T200000Z-abcd1234", "oldest": "20250101T000000Z-abcd1234"]).jsonString
        let big = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [Fx.pod(for: job, exitCode: 0, message: truncated)],
                                                 secrets: Fx.secretsOK, now: Fx.t0.addingTimeInterval(30)))
        #expect(big.status.artifacts?.count == 400)
        #expect(big.status.retentionPlan == nil)
        #expect(big.status.artifacts?.newest == Time(rfc3339: "2026-05-28T20:00:00Z"))
        #expect(big.status.lastSuccessfulTime == Time(rfc3339: "2026-05-28T20:00:00Z"))
    }

    /// 150 daily artifacts: the agent's termination message drops the full list to fit 4 KiB but
    /// keeps the bare ids, and the preview computed from them matches the planner on the full list.
    @Test func aCatalogTooLargeForTheTerminationMessageStillGivesTheRetentionPreview() throws {
        let p = Fx.policy(retention: RetentionPolicy(keepLast: 3, keepDaily: 7, keepMonthly: 2), status: nil)
        let job = Fx.job(p, .catalog, token: p.metadata.uid!, created: Fx.t0, finished: true)
        let times = (0..<150).map { Time(Fx.hour(Double(-24 * $0))) }
        let ids = times.enumerated().map { i, t in "\(UTCTimestamp.compact(t.date))-\(String(format: "%04d", i))" }
        let artifacts: [JSONValue] = zip(ids, times).map { id, t in
            ["id": .string(id), "createdAt": .string(t.rfc3339), "sizeBytes": 100, "verified": true, "pinned": false,
             "sha256": .string(String(repeating: "a", count: 64)), "key": .string("backups/x/\(id).dump")]
        }
        let full: JSONValue = ["command": "catalog", "ok": true, "exitCode": 0, "count": 150, "totalBytes": 15000,
                               "artifacts": .array(artifacts), "ids": .array(ids.map { .string($0) }), "location": "volume"]
        let message = AgentMain.terminationMessage(full)
        #expect(message.count <= AgentMain.terminationLogLimit)
        let sent = try JSONValue(parsing: message)
        #expect(sent["artifacts"] == nil && sent["ids"]?.arrayValue?.count == 150)

        func preview(_ text: String) throws -> [String] {
            let plan = Fx.planner.plan(BackupObserved(policy: p, jobs: [job], pods: [Fx.pod(for: job, exitCode: 0, message: text)],
                                                      secrets: Fx.secretsOK, now: Fx.t0.addingTimeInterval(30)))
            return try #require(plan.status.retentionPlan?.wouldDelete).map(\.id)
        }
        let fromIDs = try preview(sent.jsonString)
        #expect(fromIDs.count == 20)  // the preview lists at most 20
        #expect(fromIDs == (try preview(full.jsonString)))
    }
}
