import AgentContract
import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The CleanupPolicy planner as tables, without a server: slots and run-now, one run at a
/// time, adoption after a crash, results → status, the guard's failure, bad input.
@Suite struct CleanupPlannerTests {
    static let planner = CleanupPlanner(builder: CleanupJobBuilder(agentImage: "backstop:test"), secretRecheck: .seconds(5),
                                        historyLimit: 2, resultGrace: 30)
    static let secretsOK: [String: SecretState] = ["db-creds": .present(keys: ["password"])]

    static func policy(schedule: String = "0 * * * *", targets: [CleanupTarget]? = nil, annotations: [String: String]? = nil,
                       status: CleanupPolicyStatus? = nil) -> CleanupPolicy {
        let sql = SQLCleanup(connection: PostgresConnection(host: "db", database: "app", user: "app",
                                                            passwordSecretRef: SecretKeySelector(name: "db-creds", key: "password")),
                             table: "agent_runs", timestampColumn: "created_at", maxAge: "365d")
        var meta = ObjectMeta(name: "retention", namespace: "team")
        meta.uid = "uid-retention"
        meta.generation = 1
        meta.creationTimestamp = Time(Fx.t0)
        meta.annotations = annotations
        var spec = CleanupPolicySpec(schedule: schedule, targets: targets ?? [
            CleanupTarget(name: "agent-runs", sql: sql),
            CleanupTarget(name: "reports", volume: VolumeCleanup(claimName: "reports", path: "benchmark", maxAge: "30d")),
        ])
        spec.timeZone = "UTC"
        return CleanupPolicy(metadata: meta, spec: spec, status: status)
    }

    static func agentSpec(_ job: Job) throws -> AgentSpec {
        let text = try #require(job.spec?.template.spec?.containers.first?.env?.first { $0.name == "BACKSTOP_SPEC" }?.value)
        return try JSONDecoder().decode(AgentSpec.self, from: Data(text.replacingOccurrences(of: "$$", with: "$").utf8))
    }

    /// A finished Job of `policy` for `token` whose Pod reports `message`.
    static func finished(_ policy: CleanupPolicy, token: String, created: Date, exitCode: Int32, message: String,
                         annotations: [String: String] = [:]) -> (Job, Pod) {
        let name = CleanupJobBuilder.jobName(policy: policy, token: token)
        var job = planner.builder.job(for: policy, name: name, slotLabel: "x", referenceTime: created, allowances: [:], annotations: annotations)
        job.metadata.uid = "job-\(name)"
        job.metadata.creationTimestamp = Time(created)
        var status = JobStatus()
        status.conditions = [JobCondition(type: exitCode == 0 ? "Complete" : "Failed", status: .true)]
        status.completionTime = Time(created.addingTimeInterval(20))
        job.status = status
        return (job, Fx.pod(for: job, exitCode: exitCode, message: message))
    }

    static let okResult = """
        {"ok":true,"command":"cleanup","exitCode":0,"dryRun":false,"results":[
        {"target":"agent-runs","deleted":365,"total":730,"oldest":"2024-12-01T00:00:00Z","newest":"2025-11-30T00:00:00Z","durationSeconds":1.5},
        {"target":"reports","deleted":2,"bytesFreed":4096,"total":3,"durationSeconds":0.01}]}
        """
    static let guardResult = """
        {"ok":false,"command":"cleanup","exitCode":4,"dryRun":false,"reason":"DeleteLimitExceeded",
        "message":"agent-runs: would delete 200 of 200 rows (100.0%), over maxDeletePercent=50; nothing was deleted.",
        "results":[{"target":"agent-runs","wouldDelete":null,"total":200,"reason":"DeleteLimitExceeded","error":"would delete 200 of 200 rows (100.0%), over maxDeletePercent=50; nothing was deleted."},
        {"target":"reports","deleted":2,"bytesFreed":10,"total":3}]}
        """

    @Test func theDueSlotStartsOneJobWhoseSpecCarriesTheSlotAndTheGuard() throws {
        let p = Self.policy()
        let slot = Fx.hour(1)
        let plan = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: slot.addingTimeInterval(3)))
        let job = try #require(plan.createdJobs.first)
        #expect(plan.createdJobs.count == 1)
        #expect(job.metadata.name == CleanupJobBuilder.jobName(policy: p, token: UTCTimestamp.compact(slot)))
        #expect(job.metadata.labels?[BackstopLabels.cleanup] == "retention")
        #expect(plan.status.lastScheduleTime == Time(slot))
        let spec = try Self.agentSpec(job)
        #expect(spec.now == UTCTimestamp.rfc3339(slot), "the cutoff is taken from the slot, so a repeated Job deletes the same set")
        #expect(spec.targets?.map(\.name) == ["agent-runs", "reports"])
        #expect(spec.targets?.first?.maxDeletePercent == CleanupJobBuilder.defaultMaxDeletePercent)
        #expect(spec.targets?.first?.allowDeleteCount == nil)
        #expect(spec.targets?[1].volume?.subPath == "benchmark")
        #expect(plan.events.map(\.reason) == ["CleanupStarted"])
    }

    @Test func theGuardsLimitsReachTheAgentWithTheShareLimitAlwaysOn() throws {
        var counted = CleanupTarget(name: "drop", s3: S3Cleanup(endpoint: "http://minio:9000", bucket: "drop", maxAge: "7d"))
        counted.maxDeleteCount = 1000
        var open = CleanupTarget(name: "exports", s3: S3Cleanup(endpoint: "http://minio:9000", bucket: "exports", maxAge: "90d"))
        open.maxDeletePercent = 100
        let p = Self.policy(targets: [counted, open], annotations: [Backstop.runNowAnnotation: "1"])
        let job = try #require(Self.planner.plan(CleanupObserved(policy: p, now: Fx.hour(0.5))).createdJobs.first)
        let targets = try #require(try Self.agentSpec(job).targets)
        #expect(targets[0].maxDeletePercent == 50 && targets[0].maxDeleteCount == 1000)
        #expect(targets[1].maxDeletePercent == 100 && targets[1].maxDeleteCount == nil)
        #expect(targets[0].s3?.bucket == "drop" && targets[0].s3?.maxAge.seconds == 7 * 86400)
    }

    @Test func beforeTheSlotNothingStartsAndTheNextRunIsShown() {
        let plan = Self.planner.plan(CleanupObserved(policy: Self.policy(), secrets: Self.secretsOK, now: Fx.hour(0.5)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.nextRunTime == Time(Fx.hour(1)))
        #expect(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self)?.reason == "Scheduled")
    }

    /// The operator killed after creating the Job and before the status write: planning again
    /// from the old status finds the Job by its deterministic name and adopts it.
    @Test func aJobCreatedBeforeACrashIsAdoptedNotDuplicated() throws {
        let p = Self.policy()
        let now = Fx.hour(1).addingTimeInterval(3)
        let first = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: now))
        var job = try #require(first.createdJobs.first)
        job.status = JobStatus()
        job.status?.active = 1
        for later in [now, now.addingTimeInterval(30), now.addingTimeInterval(600)] {
            let again = Self.planner.plan(CleanupObserved(policy: p, jobs: [job], secrets: Self.secretsOK, now: later))
            #expect(again.createdJobs.isEmpty)
            #expect(again.status.activeJob?.name == job.metadata.name)
        }
    }

    @Test func oneRunAtATimeARunNowWaitsForTheActiveJob() throws {
        var p = Self.policy(annotations: [Backstop.runNowAnnotation: "now-1"])
        var status = CleanupPolicyStatus()
        status.lastScheduleTime = Time(Fx.hour(1))
        p.status = status
        let (running, _) = Self.finished(p, token: UTCTimestamp.compact(Fx.hour(1)), created: Fx.hour(1), exitCode: 0, message: "")
        var active = running
        active.status = JobStatus()
        active.status?.active = 1
        let busy = Self.planner.plan(CleanupObserved(policy: p, jobs: [active], secrets: Self.secretsOK, now: Fx.hour(1.1)))
        #expect(busy.createdJobs.isEmpty)
        let free = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(1.1)))
        let job = try #require(free.createdJobs.first)
        #expect(job.metadata.name == CleanupJobBuilder.jobName(policy: p, token: "manual/now-1"))
        #expect(free.status.lastManualRun?.value == "now-1")
    }

    @Test func suspendedPoliciesRunOnlyOnDemand() {
        var p = Self.policy()
        p.spec.suspend = true
        let plan = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(5)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self)?.reason == "Suspended")
        p.metadata.annotations = [Backstop.runNowAnnotation: "x"]
        #expect(Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(5))).createdJobs.count == 1)
    }

    @Test func aSlotPastItsStartingDeadlineIsSkippedWithAnEvent() {
        var p = Self.policy()
        p.spec.startingDeadlineSeconds = 60
        var status = CleanupPolicyStatus()
        status.lastScheduleTime = Time(Fx.hour(1))
        p.status = status
        let plan = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(2).addingTimeInterval(600)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.lastScheduleTime == Time(Fx.hour(2)))
        #expect(plan.events.map(\.reason) == ["MissedSchedule"])
    }

    @Test func aFinishedRunIsFoldedOnceIntoStatusMetricsAndEvents() throws {
        var p = Self.policy()
        var answered = CleanupPolicyStatus()
        answered.lastScheduleTime = Time(Fx.hour(1))
        p.status = answered
        let (job, pod) = Self.finished(p, token: "t1", created: Fx.hour(1), exitCode: 0, message: Self.okResult)
        let plan = Self.planner.plan(CleanupObserved(policy: p, jobs: [job], pods: [pod], secrets: Self.secretsOK, now: Fx.hour(1.2)))
        let s = plan.status
        #expect(s.lastRunDeleted == 367)
        #expect(s.lastRunJob == job.metadata.name)
        #expect(s.lastRunTime == Time(Fx.hour(1)))
        #expect(s.lastSuccessfulTime == Time(Fx.hour(1).addingTimeInterval(20)))
        #expect(s.results?.map(\.target) == ["agent-runs", "reports"])
        #expect(s.results?.first?.deleted == 365 && s.results?.first?.total == 730)
        #expect(s.results?.first?.oldest == Time(rfc3339: "2024-12-01T00:00:00Z"))
        #expect(s.results?[1].bytesFreed == 4096)
        let last = try #require(s.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self))
        #expect(last.status == .true && last.reason == "RunSucceeded")
        #expect(last.message.contains("deleted 367 (agent-runs 365, reports 2)"))
        #expect(plan.metrics.contains(.deleted(target: "agent-runs", count: 365)))
        #expect(plan.metrics.contains(.lastSuccess(Fx.hour(1).addingTimeInterval(20))))
        #expect(plan.events.map(\.reason) == ["CleanupSucceeded"])
        #expect(plan.actions.contains(.markRecorded(name: job.metadata.name!)))
        // The status write landed, the `recorded` mark did not: nothing is counted twice.
        var again = p
        again.status = s
        let replay = Self.planner.plan(CleanupObserved(policy: again, jobs: [job], pods: [pod], secrets: Self.secretsOK, now: Fx.hour(1.3)))
        #expect(!replay.metrics.contains { if case .deleted = $0 { true } else { false } })
        #expect(replay.events.isEmpty)
        #expect(replay.actions.contains(.markRecorded(name: job.metadata.name!)))
    }

    @Test func theGuardsRefusalFailsTheRunWithItsNumbersAndOtherTargetsStillReport() throws {
        let p = Self.policy()
        let (job, pod) = Self.finished(p, token: "t1", created: Fx.hour(1), exitCode: 4, message: Self.guardResult)
        let plan = Self.planner.plan(CleanupObserved(policy: p, jobs: [job], pods: [pod], secrets: Self.secretsOK, now: Fx.hour(1.2)))
        let last = try #require(plan.status.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self))
        #expect(last.status == .false && last.reason == "DeleteLimitExceeded")
        #expect(last.message.contains("would delete 200 of 200 rows (100.0%)"))
        let ready = try #require(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self))
        #expect(ready.status == .false && ready.reason == "LastRunFailed")
        #expect(plan.status.results?.first?.reason == "DeleteLimitExceeded")
        #expect(plan.status.results?[1].deleted == 2, "the other target ran")
        #expect(plan.status.lastSuccessfulTime == nil)
        #expect(plan.events.first?.warning == true && plan.events.first?.reason == "DeleteLimitExceeded")
    }

    @Test func theAcknowledgmentReachesTheAgentAsTheTargetsAllowance() throws {
        let p = Self.policy(annotations: [Backstop.allowDeleteAnnotation: "agent-runs=200", Backstop.runNowAnnotation: "2"])
        let job = try #require(Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(0.5))).createdJobs.first)
        let spec = try Self.agentSpec(job)
        #expect(spec.targets?.first?.allowDeleteCount == 200)
        #expect(spec.targets?[1].allowDeleteCount == nil)
    }

    @Test(arguments: [
        ("agent-runs", "is not <target>=<count>"),
        ("agent-runs=lots", "is not <target>=<count>"),
        ("exports=10", "names exports, which is not a target of this policy"),
    ])
    func aMalformedAcknowledgmentIsInvalidAndStartsNothing(value: String, message: String) throws {
        let p = Self.policy(annotations: [Backstop.allowDeleteAnnotation: value, Backstop.runNowAnnotation: "1"])
        let plan = Self.planner.plan(CleanupObserved(policy: p, secrets: Self.secretsOK, now: Fx.hour(1.5)))
        #expect(plan.createdJobs.isEmpty)
        let ready = try #require(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self))
        #expect(ready.reason == "InvalidSpec" && ready.message.contains(message), "\(ready.message)")
    }

    @Test(arguments: [("0d", "would delete everything"), ("-5d", "is not a duration"), ("90 days", "is not a duration")])
    func aBadAgeIsInvalidAndStartsNothing(age: String, message: String) throws {
        let p = Self.policy(targets: [CleanupTarget(name: "reports", volume: VolumeCleanup(claimName: "reports", maxAge: age))],
                            annotations: [Backstop.runNowAnnotation: "1"])
        let plan = Self.planner.plan(CleanupObserved(policy: p, now: Fx.hour(1.5)))
        #expect(plan.createdJobs.isEmpty)
        let ready = try #require(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self))
        #expect(ready.status == .false && ready.reason == "InvalidSpec")
        #expect(ready.message.contains("spec.targets[0].volume.maxAge") && ready.message.contains(message), "\(ready.message)")
        #expect(plan.events.first?.reason == "InvalidSpec")
    }

    @Test func aPathOutsideTheClaimIsInvalid() throws {
        let p = Self.policy(targets: [CleanupTarget(name: "reports", volume: VolumeCleanup(claimName: "reports", path: "../etc", maxAge: "30d"))])
        let plan = Self.planner.plan(CleanupObserved(policy: p, now: Fx.hour(1.5)))
        #expect(plan.createdJobs.isEmpty)
        #expect(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self)?.message.contains("leaves the claim") == true)
    }

    @Test func aMissingSecretStopsRunsUntilItExists() throws {
        let plan = Self.planner.plan(CleanupObserved(policy: Self.policy(), secrets: ["db-creds": .missing], now: Fx.hour(1.1)))
        #expect(plan.createdJobs.isEmpty)
        let ready = try #require(plan.status.conditions?.find(CleanupPolicyConditions.Ready.self))
        #expect(ready.reason == "SecretMissing" && ready.message.contains("Secret db-creds not found"))
        // Without Secrets read, a due slot first asks for them.
        #expect(Self.planner.plan(CleanupObserved(policy: Self.policy(), now: Fx.hour(1.1))).wantsSecrets)
    }

    @Test func historyKeepsTheNewestRecordedJobs() {
        let p = Self.policy()
        var jobs: [Job] = []
        for i in 0..<4 {
            var (job, _) = Self.finished(p, token: "t\(i)", created: Fx.hour(Double(i)), exitCode: 0, message: "")
            job.metadata.annotations = [BackstopLabels.recorded: "true"]
            jobs.append(job)
        }
        var status = CleanupPolicyStatus()
        status.lastScheduleTime = Time(Fx.hour(3))
        var settled = p
        settled.status = status
        let plan = Self.planner.plan(CleanupObserved(policy: settled, jobs: jobs, secrets: Self.secretsOK, now: Fx.hour(3.5)))
        let deleted = plan.actions.compactMap { if case .deleteJob(let name, _) = $0 { name } else { nil } }
        #expect(Set(deleted) == Set(jobs.prefix(2).map { $0.metadata.name! }))
    }
}
