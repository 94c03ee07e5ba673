import BackstopCore
import Foundation
import KubeModel

private typealias Ready = BackupPolicyConditions.Ready
private typealias LastBackupSucceeded = BackupPolicyConditions.LastBackupSucceeded
private typealias MissedSchedule = BackupPolicyConditions.MissedSchedule

/// The BackupPolicy planner: observed state + now → plan. Pure and deterministic, so a
/// reconcile gives the same answer after a crash, on a stale cache or when run twice; Job names
/// derive from the policy and the slot, which makes creating "again" an adoption.
///
/// Order of work for one policy (never two operations at once, `concurrencyPolicy` aside):
/// record finished Jobs → validate → check Secrets → (catalog when status has no artifacts)
/// → prune after the newest successful backup → catalog after the newest prune → run-now →
/// the due schedule slot.
public struct BackupPlanner: Sendable {
    public var builder: AgentJobBuilder
    public var secretRecheck: Duration
    public var historyLimit: Int
    public var resultGrace: TimeInterval

    public init(builder: AgentJobBuilder, secretRecheck: Duration = .seconds(30), historyLimit: Int = 3,
                resultGrace: TimeInterval = 30) {
        self.builder = builder
        self.secretRecheck = secretRecheck
        self.historyLimit = historyLimit
        self.resultGrace = resultGrace
    }

    /// Holds the plan while it is built (keeps the steps below short).
    struct Work {
        var o: BackupObserved
        var plan: BackupPlan
        var conditions: [Condition]
        var now: Time
        var generation: Int64?
        var requeue: [TimeInterval] = []
        var policyName: String { o.policy.metadata.name ?? "" }

        mutating func set<Kind: ConditionKind>(_ kind: Kind.Type, _ status: ConditionStatus, _ reason: Kind.Reason, _ message: String) {
            conditions.set(kind, status, reason, message: message, observedGeneration: generation, now: now)
        }
        mutating func event(_ reason: String, _ message: String, warning: Bool = false) {
            plan.events.append(PlannedEvent(warning: warning, reason: reason, message: message))
        }
    }

    public func plan(_ o: BackupObserved) -> BackupPlan {
        let old = o.policy.status ?? BackupPolicyStatus()
        var w = Work(o: o, plan: BackupPlan(status: old), conditions: old.conditions ?? [], now: Time(o.now),
                     generation: o.policy.metadata.generation)
        w.plan.status.observedGeneration = w.generation
        w.plan.status.source = o.policy.spec.source.summary
        let refs = AgentJobBuilder.secretRefs(o.policy.spec)
        w.plan.referencedSecrets = Array(Set(refs.map(\.name))).sorted()

        recordFinishedJobs(&w)
        let active = o.jobs.filter { !$0.isFinished }.sorted { $0.createdAt < $1.createdAt }
        w.plan.status.activeJob = active.first.map { ActiveJob(name: $0.name, startedAt: $0.metadata.creationTimestamp) }

        let oldReady = old.conditions?.find(Ready.self)
        if let problem = validationProblem(o.policy) {
            w.set(Ready.self, .false, .invalidSpec, problem)
            w.plan.status.nextScheduleTime = nil
            if oldReady?.reason != "InvalidSpec" || oldReady?.message != problem { w.event("InvalidSpec", problem, warning: true) }
            return finish(&w)
        }
        let schedule = try! Schedule(parsing: o.policy.spec.schedule, timeZone: o.policy.spec.timeZone)
        let suspended = o.policy.spec.suspend ?? false
        let slots = SlotPlanner.decide(SlotPlanner.Input(
            schedule: schedule, suspended: suspended, lastSlot: old.lastScheduleTime?.date,
            created: o.policy.metadata.creationTimestamp?.date, runNow: o.policy.metadata.annotations?[Backstop.runNowAnnotation],
            answeredRunNow: w.plan.status.lastManualRun?.value, startingDeadlineSeconds: o.policy.spec.startingDeadlineSeconds,
            now: o.now))
        let next = slots.next
        w.plan.status.nextScheduleTime = next.map { Time($0) }
        if let next { w.requeue.append(next.timeIntervalSince(o.now)) }

        // Secrets: read only when a Job may start, the spec changed, or one was missing.
        switch SecretGate.check(refs, secrets: o.secrets, specChanged: old.observedGeneration != w.generation,
                                lastReadyReason: oldReady?.reason, work: "backup") {
        case .missing(let message):
            w.set(Ready.self, .false, .secretMissing, message)
            if oldReady?.reason != "SecretMissing" || oldReady?.message != message { w.event("SecretMissing", message, warning: true) }
            w.requeue.append(Requeue.seconds(secretRecheck))
            return finish(&w)
        case .read:
            w.plan.wantsSecrets = true
        case .proceed:
            break
        }

        if active.isEmpty {
            startNext(&w, slots: slots, next: next)
        } else {
            replaceIfAsked(&w, active: active, slots: slots)
        }
        if !w.plan.createdJobs.isEmpty, !refs.isEmpty, o.secrets == nil {
            w.plan.secretsMayFollowStart = !w.plan.wantsSecrets
            w.plan.wantsSecrets = true
        }
        staleness(&w)
        readiness(&w, suspended: suspended, next: next, oldReady: oldReady)
        trimHistory(&w)
        return finish(&w)
    }

    func finish(_ w: inout Work) -> BackupPlan {
        w.plan.status.conditions = w.conditions
        let s = w.plan.status
        let staleAfter = w.o.policy.spec.verify?.staleAfter.flatMap { try? TimeSpan(parsing: $0) }
        w.plan.metrics.append(.gauges(lastSuccess: s.lastSuccessfulTime?.date, artifacts: s.artifacts?.count,
                                      bytes: s.artifacts?.totalBytes, lastVerified: s.lastVerifiedTime?.date,
                                      staleAfterSeconds: staleAfter.map { Int64($0.seconds) }))
        w.plan.requeueAfter = Requeue.after(w.requeue)
        return w.plan
    }

    /// Folds every finished, not yet recorded Job into status (oldest first).
    func recordFinishedJobs(_ w: inout Work) {
        let finished = w.o.jobs.filter { $0.isFinished && !$0.isRecorded }.sorted { $0.createdAt < $1.createdAt }
        for job in finished {
            guard let result = AgentResultReader.result(of: job, pods: w.o.pods, now: w.o.now, grace: resultGrace) else {
                w.requeue.append(resultGrace)
                continue
            }
            w.plan.actions.append(.markRecorded(name: job.name))
            if alreadyFolded(job, w) { continue }
            var status = w.plan.status
            var events: [PlannedEvent] = []
            switch job.operation {
            case .backup?:
                events = StatusFolding.backup(result, job: job, status: &status, conditions: &w.conditions,
                                              generation: w.generation, now: w.now, metrics: &w.plan.metrics)
            case .prune?:
                events = StatusFolding.prune(result, job: job, status: &status, now: w.now)
            case .catalog?:
                let next = (try? Schedule(parsing: w.o.policy.spec.schedule, timeZone: w.o.policy.spec.timeZone))?
                    .nextFireTime(after: w.o.now)
                events = StatusFolding.catalog(result, job: job, policy: w.o.policy, status: &status, next: next, now: w.now)
            case nil:
                break
            }
            w.plan.status = status
            w.plan.events += events
        }
    }

    /// True when status already holds this Job's result (the status write landed, the
    /// `recorded` annotation did not, or the Job cache is behind): fold nothing twice.
    func alreadyFolded(_ job: Job, _ w: Work) -> Bool {
        switch job.operation {
        case .backup?:
            if w.plan.status.recentBackups?.contains(where: { $0.job == job.name }) ?? false { return true }
            let last = w.conditions.find(LastBackupSucceeded.self)
            return last?.status == .false && (last?.message.hasPrefix("Job \(job.name):") ?? false)
        case .prune?:
            return w.plan.status.lastPrune?.job == job.name
        default:
            return false
        }
    }

    func jobNamed(_ name: String, _ w: Work) -> Job? { w.o.jobs.first { $0.name == name } }

    /// Creates the Job unless one with its deterministic name exists (then it is adopted).
    func start(_ w: inout Work, _ op: BackupOperation, token: String, slot: String, annotations: [String: String] = [:]) -> String {
        let jobName = AgentJobBuilder.jobName(policy: w.policyName, operation: op, token: token)
        if jobNamed(jobName, w) == nil {
            let stamp = [BackstopLabels.createdAt: String(format: "%.6f", w.o.now.timeIntervalSince1970)]
            let job = builder.job(for: w.o.policy, operation: op, name: jobName, slotLabel: slot,
                                  annotations: annotations.merging(stamp) { mine, _ in mine }, inUse: op == .prune ? w.o.inUse : [])
            w.plan.actions.append(.createJob(job))
            w.plan.status.activeJob = ActiveJob(name: jobName, startedAt: w.now)
        }
        return jobName
    }

    /// The newest successful Job of `op`.
    func newestSucceeded(_ op: BackupOperation, _ jobs: [Job]) -> Job? {
        jobs.filter { $0.operation == op && $0.succeeded }.max { $0.createdAt < $1.createdAt }
    }

    /// Starts at most one operation; existing Jobs with the planned name are adopted.
    func startNext(_ w: inout Work, slots: SlotPlanner.Decision, next: Date?) {
        let policy = w.o.policy
        let name = w.policyName
        // 1. A CR without artifact status (new, or re-created) rediscovers its store first.
        let initialCatalog = AgentJobBuilder.jobName(policy: name, operation: .catalog, token: policy.metadata.uid ?? "")
        if w.o.catalogWhenStatusMissing, w.plan.status.artifacts == nil, jobNamed(initialCatalog, w) == nil {
            _ = start(&w, .catalog, token: policy.metadata.uid ?? "", slot: "follow-up")
            return
        }
        // 2. Prune after the newest successful backup; 3. catalog after the newest prune.
        if RetentionPreview.rules(policy.spec.retention) != nil, let backup = newestSucceeded(.backup, w.o.jobs),
           jobNamed(AgentJobBuilder.jobName(policy: name, operation: .prune, token: backup.name), w) == nil {
            let job = start(&w, .prune, token: backup.name, slot: "follow-up")
            w.event("PruneStarted", "Applying retention after \(backup.name): Job \(job)")
            return
        }
        if let prune = newestSucceeded(.prune, w.o.jobs),
           jobNamed(AgentJobBuilder.jobName(policy: name, operation: .catalog, token: prune.name), w) == nil {
            _ = start(&w, .catalog, token: prune.name, slot: "follow-up")
            return
        }
        // Backups wait while another policy's backup holds the same target (stores are per policy).
        if !w.o.targetBusyWith.isEmpty {
            if slots.wantsRun { w.requeue.append(5) }
            return
        }
        // 4. run-now: one backup per distinct annotation value, suspended or not.
        if let value = slots.runNow {
            let existed = jobNamed(AgentJobBuilder.jobName(policy: name, operation: .backup, token: "manual/" + value), w) != nil
            let job = start(&w, .backup, token: "manual/" + value, slot: "manual", annotations: [BackstopLabels.runNow: value])
            var run = ManualRun(value: value)
            run.job = job
            run.result = .running
            run.startedAt = w.now
            w.plan.status.lastManualRun = run
            if !existed { w.event("BackupStarted", "On-demand backup (\(Backstop.runNowAnnotation)=\(value)): Job \(job)") }
            return
        }
        // 5. The due slot, unless suspended or past its starting deadline.
        guard let decided = slots.due else { return }
        let due = decided.slot
        let skipped = decided.skipped
        w.plan.status.lastScheduleTime = Time(due)
        let slotText = UTCTimestamp.compact(due)
        if case .missed(_, _, let deadline) = decided {
            let message = "Skipped the slot \(Time(due).rfc3339)\(skipped > 0 ? " and \(skipped) earlier" : ""): more than "
                + "startingDeadlineSeconds=\(deadline) late (operator down or a previous operation ran long); next at "
                + (next.map { Time($0).rfc3339 } ?? "never")
            w.set(MissedSchedule.self, .true, .missedSchedule, message)
            w.event("MissedSchedule", message, warning: true)
            return
        }
        if skipped > 0 {
            let message = "Ran only the latest of \(skipped + 1) due slots (\(Time(due).rfc3339)); \(skipped) earlier slots were skipped"
            w.set(MissedSchedule.self, .true, .missedSchedule, message)
            w.event("MissedSchedule", message, warning: true)
        } else if w.conditions.find(MissedSchedule.self) != nil {
            w.set(MissedSchedule.self, .false, .onSchedule, "the latest slot started on time")
        }
        let existed = jobNamed(AgentJobBuilder.jobName(policy: name, operation: .backup, token: slotText), w) != nil
        let job = start(&w, .backup, token: slotText, slot: slotText, annotations: [BackstopLabels.slotTime: Time(due).rfc3339])
        if !existed { w.event("BackupStarted", "Scheduled backup for \(Time(due).rfc3339): Job \(job)") }
    }

    /// `concurrencyPolicy: Replace`: a due slot or run-now replaces a running backup.
    func replaceIfAsked(_ w: inout Work, active: [Job], slots: SlotPlanner.Decision) {
        guard w.o.policy.spec.concurrencyPolicy == .replace, active.allSatisfy({ $0.operation == .backup }) else { return }
        guard slots.wantsRun else { return }
        for job in active {
            w.plan.actions.append(.deleteJob(name: job.name, uid: job.metadata.uid))
            w.event("BackupReplaced", "concurrencyPolicy=Replace: stopped Job \(job.name) for a newer run", warning: true)
        }
        w.plan.status.activeJob = nil
        var o = w.o
        o.jobs = w.o.jobs.filter { $0.isFinished }
        var inner = w
        inner.o = o
        startNext(&inner, slots: slots, next: nil)
        inner.o = w.o
        w = inner
    }

    /// Deletes recorded Jobs beyond the history limit, never the newest of an operation.
    func trimHistory(_ w: inout Work) {
        let recorded = Set(w.plan.actions.compactMap { if case .markRecorded(let n) = $0 { n } else { nil } })
        for op in BackupOperation.allCases {
            for job in JobHistory.toTrim(w.o.jobs.filter { $0.operation == op }, limit: historyLimit, recordedNow: recorded) {
                w.plan.actions.append(.deleteJob(name: job.name, uid: job.metadata.uid))
            }
        }
    }
}
