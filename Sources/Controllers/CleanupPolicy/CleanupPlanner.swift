import BackstopCore
import Foundation
import KubeModel

private typealias Ready = CleanupPolicyConditions.Ready
private typealias LastRunSucceeded = CleanupPolicyConditions.LastRunSucceeded

/// The CleanupPolicy planner: observed state + now → plan. Pure and deterministic, like
/// `BackupPlanner`: a run's Job name derives from the policy and its slot (or run-now value),
/// so planning again after a crash or on a stale cache adopts the Job instead of starting a
/// second run for the slot.
///
/// Order of work: record finished Jobs → validate (spec, allow-delete annotation) → check
/// Secrets → with no run active: run-now, else the due slot (`SlotPlanner`) → Ready → history.
/// One run at a time per policy: a slot that falls due during a run starts when it ends
/// (unless `startingDeadlineSeconds` has passed by then).
public struct CleanupPlanner: Sendable {
    public var builder: CleanupJobBuilder
    public var secretRecheck: Duration
    public var historyLimit: Int
    public var resultGrace: TimeInterval

    public init(builder: CleanupJobBuilder, secretRecheck: Duration = .seconds(30), historyLimit: Int = 3, resultGrace: TimeInterval = 30) {
        self.builder = builder
        self.secretRecheck = secretRecheck
        self.historyLimit = historyLimit
        self.resultGrace = resultGrace
    }

    /// Holds the plan while it is built.
    struct Work {
        var o: CleanupObserved
        var plan: CleanupPlan
        var conditions: [Condition]
        var now: Time
        var generation: Int64?
        var requeue: [TimeInterval] = []

        mutating func set<Kind: ConditionKind>(_ kind: Kind.Type, _ status: ConditionStatus, _ reason: Kind.Reason, _ message: String) {
            conditions.set(kind, status, reason, message: message, observedGeneration: generation, now: now)
        }
        mutating func event(_ reason: String, _ message: String, warning: Bool = false) {
            plan.events.append(PlannedEvent(warning: warning, reason: reason, message: message))
        }
    }

    public func plan(_ o: CleanupObserved) -> CleanupPlan {
        let old = o.policy.status ?? CleanupPolicyStatus()
        var w = Work(o: o, plan: CleanupPlan(status: old), conditions: old.conditions ?? [], now: Time(o.now),
                     generation: o.policy.metadata.generation)
        w.plan.status.observedGeneration = w.generation
        let refs = CleanupJobBuilder.secretRefs(o.policy.spec)
        w.plan.referencedSecrets = Array(Set(refs.map(\.name))).sorted()

        recordFinishedJobs(&w)
        let active = o.jobs.filter { !$0.isFinished }.sorted { $0.createdAt < $1.createdAt }
        w.plan.status.activeJob = active.first.map { ActiveJob(name: $0.name, startedAt: $0.metadata.creationTimestamp) }

        let oldReady = old.conditions?.find(Ready.self)
        let allowances: [String: Int64]
        switch validate(o.policy) {
        case .failure(let problem):
            w.set(Ready.self, .false, .invalidSpec, problem.message)
            w.plan.status.nextRunTime = nil
            if oldReady?.reason != "InvalidSpec" || oldReady?.message != problem.message { w.event("InvalidSpec", problem.message, warning: true) }
            return finish(&w)
        case .success(let parsed):
            allowances = spendAcknowledgments(&w, parsed)
        }
        let schedule = try! Schedule(parsing: o.policy.spec.schedule, timeZone: o.policy.spec.timeZone)
        let suspended = o.policy.spec.suspend ?? false
        let slots = SlotPlanner.decide(SlotPlanner.Input(
            schedule: schedule, suspended: suspended, lastSlot: old.lastScheduleTime?.date,
            created: o.policy.metadata.creationTimestamp?.date, runNow: o.policy.metadata.annotations?[Backstop.runNowAnnotation],
            answeredRunNow: w.plan.status.lastManualRun?.value, startingDeadlineSeconds: o.policy.spec.startingDeadlineSeconds,
            now: o.now))
        w.plan.status.nextRunTime = slots.next.map { Time($0) }
        if let next = slots.next { w.requeue.append(next.timeIntervalSince(o.now)) }

        // Secrets: read only when a Job may start, the spec changed, or one was missing.
        switch SecretGate.check(refs, secrets: o.secrets, specChanged: old.observedGeneration != w.generation,
                                lastReadyReason: oldReady?.reason, work: "cleanup") {
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
            startNext(&w, slots: slots, allowances: allowances)
        }
        if !w.plan.createdJobs.isEmpty, !refs.isEmpty, o.secrets == nil { w.plan.wantsSecrets = true }
        readiness(&w, suspended: suspended, next: slots.next, oldReady: oldReady)
        trimHistory(&w)
        return finish(&w)
    }

    func finish(_ w: inout Work) -> CleanupPlan {
        w.plan.status.conditions = w.conditions
        w.plan.metrics.append(.lastSuccess(w.plan.status.lastSuccessfulTime?.date))
        w.plan.requeueAfter = Requeue.after(w.requeue)
        return w.plan
    }

    /// The spec's and the annotation's problems (schedule, semantic checks, allow-delete), or the allowances.
    func validate(_ policy: CleanupPolicy) -> Result<[String: Int64], CleanupSpecProblem> {
        do {
            _ = try Schedule(parsing: policy.spec.schedule, timeZone: policy.spec.timeZone)
        } catch {
            return .failure(CleanupSpecProblem(message: "spec.schedule: \(error.message). Fix the schedule; no cleanup runs until then"))
        }
        let errors = BackstopValidator().validate(policy).filter { $0.severity == .error }
        if !errors.isEmpty {
            return .failure(CleanupSpecProblem(message: errors.prefix(3).map(\.description).joined(separator: "; ")
                + (errors.count > 3 ? " (and \(errors.count - 3) more)" : "") + ". Fix the policy; nothing is deleted until then"))
        }
        return AllowDelete.parse(policy.metadata.annotations?[Backstop.allowDeleteAnnotation], targets: policy.spec.targets.map(\.name))
    }

    /// Folds every finished, not yet recorded Job into status (oldest first, so the newest wins).
    func recordFinishedJobs(_ w: inout Work) {
        let finished = w.o.jobs.filter { $0.isFinished && !$0.isRecorded }.sorted { $0.createdAt < $1.createdAt }
        for job in finished {
            guard let result = AgentResultReader.result(of: job, pods: w.o.pods, now: w.o.now, grace: resultGrace) else {
                w.requeue.append(resultGrace)
                continue
            }
            w.plan.actions.append(.markRecorded(name: job.name))
            // Already in status: the status write landed, the `recorded` mark did not.
            if w.plan.status.lastRunJob == job.name { continue }
            let fold = CleanupResults.fold(result, job: job, policy: w.o.policy, status: &w.plan.status, conditions: &w.conditions,
                                           generation: w.generation, now: w.now)
            w.plan.events += fold.events
            w.plan.metrics += fold.metrics
        }
    }

    func jobNamed(_ name: String, _ w: Work) -> Job? { w.o.jobs.first { $0.name == name } }

    /// Creates the run's Job unless one with its deterministic name exists (then it is adopted).
    /// Returns the name and whether it is new.
    func start(_ w: inout Work, token: String, slotLabel: String, referenceTime: Date, allowances: [String: Int64],
               annotations: [String: String]) -> (name: String, created: Bool) {
        let name = CleanupJobBuilder.jobName(policy: w.o.policy, token: token)
        guard jobNamed(name, w) == nil else { return (name, false) }
        let stamp = [BackstopLabels.createdAt: String(format: "%.6f", w.o.now.timeIntervalSince1970)]
        let job = builder.job(for: w.o.policy, name: name, slotLabel: slotLabel, referenceTime: referenceTime, allowances: allowances,
                              annotations: annotations.merging(stamp) { mine, _ in mine })
        w.plan.actions.append(.createJob(job))
        w.plan.status.activeJob = ActiveJob(name: name, startedAt: w.now)
        return (name, true)
    }

    /// run-now first (one run per distinct annotation value, suspended or not), else the due slot.
    func startNext(_ w: inout Work, slots: SlotPlanner.Decision, allowances: [String: Int64]) {
        let dry = w.o.policy.spec.dryRun == true ? "dry run" : "run"
        if let value = slots.runNow {
            let (job, created) = start(&w, token: "manual/" + value, slotLabel: "manual", referenceTime: w.o.now, allowances: allowances,
                                       annotations: [BackstopLabels.runNow: value])
            var run = ManualRun(value: value)
            run.job = job
            run.result = .running
            run.startedAt = w.now
            w.plan.status.lastManualRun = run
            if created { w.event("CleanupStarted", "On-demand cleanup \(dry) (\(Backstop.runNowAnnotation)=\(value)): Job \(job)") }
            return
        }
        guard let due = slots.due else { return }
        w.plan.status.lastScheduleTime = Time(due.slot)
        if case .missed(let slot, let skipped, let deadline) = due {
            w.event("MissedSchedule", "Skipped the slot \(Time(slot).rfc3339)\(skipped > 0 ? " and \(skipped) earlier" : ""): more than "
                    + "startingDeadlineSeconds=\(deadline) late; next at " + (slots.next.map { Time($0).rfc3339 } ?? "never"), warning: true)
            return
        }
        let slotText = UTCTimestamp.compact(due.slot)
        let (job, created) = start(&w, token: slotText, slotLabel: slotText, referenceTime: due.slot, allowances: allowances,
                                   annotations: [BackstopLabels.slotTime: Time(due.slot).rfc3339])
        if created { w.event("CleanupStarted", "Scheduled cleanup \(dry) for \(Time(due.slot).rfc3339): Job \(job)") }
    }

    func readiness(_ w: inout Work, suspended: Bool, next: Date?, oldReady: Condition?) {
        let nextText = next.map { "next run at \(Time($0).rfc3339)" } ?? "no scheduled runs"
        if let last = w.conditions.find(LastRunSucceeded.self), last.status == .false {
            w.set(Ready.self, .false, .lastRunFailed, "Last run failed (\(last.reason)): \(last.message); \(nextText)")
        } else if suspended {
            w.set(Ready.self, .true, .suspended, "spec.suspend is true: no scheduled runs (run-now still works)")
        } else {
            w.set(Ready.self, .true, .scheduled, nextText.prefix(1).uppercased() + nextText.dropFirst())
        }
        if let oldReady, oldReady.status == .false, w.conditions.isTrue(Ready.self), ["InvalidSpec", "SecretMissing"].contains(oldReady.reason) {
            w.event("Recovered", "\(oldReady.reason) resolved; cleanup runs are scheduled again")
        }
    }

    /// The allowances a new run may carry: the annotation's entries no run has deleted under yet.
    /// Spent entries the annotation no longer has are forgotten, so removing the annotation and
    /// setting it again acknowledges the same count anew.
    func spendAcknowledgments(_ w: inout Work, _ parsed: [String: Int64]) -> [String: Int64] {
        let entries = Set(parsed.map { "\($0.key)=\($0.value)" })
        let spent = (w.plan.status.allowDeleteUsed ?? []).filter { entries.contains($0) }
        w.plan.status.allowDeleteUsed = spent.isEmpty ? nil : spent
        return parsed.filter { !spent.contains("\($0.key)=\($0.value)") }
    }

    /// Deletes recorded Jobs beyond the history limit, never the newest.
    func trimHistory(_ w: inout Work) {
        let recorded = Set(w.plan.actions.compactMap { if case .markRecorded(let n) = $0 { n } else { nil } })
        for job in JobHistory.toTrim(w.o.jobs, limit: historyLimit, recordedNow: recorded) {
            w.plan.actions.append(.deleteJob(name: job.name, uid: job.metadata.uid))
        }
    }
}
