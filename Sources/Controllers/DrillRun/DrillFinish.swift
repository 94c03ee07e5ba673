import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Metrics

/// The end of a drill: measurements, verdict, conditions, the closing Event and metrics, and
/// the policy's `lastDrill` / `LastDrillPassed`.
extension DrillReconciler {
    func finish(_ drill: inout DrillRun, status: DrillRunStatus, machine: StepMachine<DrillStep>,
                outcome: StepMachine<DrillStep>.Outcome, now: Date, _ api: ResourceClient<DrillRun>) async throws {
        var status = status
        status.steps = machine.progress
        status.currentStep = machine.currentStep?.rawValue
        status.finishedAt = Time(now)
        status.phase = .completed
        let measured = DrillMeasurement.measure(status, spec: drill.spec)
        status.measured = measured
        var reasons: [String] = []
        switch outcome {
        case .succeeded: break
        case .failed(let step, let message): reasons.append("\(step.rawValue) failed: \(message)")
        case .cancelled(let reason): reasons.append("cancelled: \(reason)")
        }
        // A failed always-step (cleanup) after an earlier failure is still worth its own line.
        if case .failed(let step, _) = outcome, step != .cleanup,
           let cleanup = machine.progress.first(where: { $0.name == DrillStep.cleanup.rawValue }), cleanup.phase == .failed {
            reasons.append("Cleanup failed too: \(cleanup.message ?? "see the Cleanup step")")
        }
        reasons += DrillMeasurement.missedObjectives(measured, objectives: drill.spec.objectives, backupTime: status.backup?.time?.date)
        let passed = reasons.isEmpty
        status.result = passed ? .passed : .failed
        status.reasons = reasons.isEmpty ? nil : reasons
        let summary = Self.summary(measured)
        status.message = passed ? "passed: backup \(status.backup?.id ?? "?") restored and verified; \(summary)" : reasons.joined(separator: "; ")
        let generation = drill.metadata.generation
        var conditions = status.conditions ?? []
        let time = Time(now)
        let reason: DrillRunConditions.Outcome = passed ? .drillPassed : .drillFailed
        conditions.set(DrillRunConditions.Complete.self, .true, reason, message: status.message ?? "", observedGeneration: generation, now: time)
        conditions.set(DrillRunConditions.Passed.self, passed ? .true : .false, reason, message: status.message ?? "", observedGeneration: generation, now: time)
        conditions.set(DrillRunConditions.Ready.self, passed ? .true : .false, reason, message: status.message ?? "", observedGeneration: generation, now: time)
        status.conditions = conditions
        status = NotificationLedger.staging(NotificationTriggers.drillRun(old: drill.status, new: status),
                                            targets: notifyTargets(drill), uid: drill.metadata.uid ?? "", into: status, now: time)
        try await StatusWriter(client: client).write(&drill, status: status)
        notifier.submit(drill, targets: notifyTargets(drill))
        event(drill, warning: !passed, reason: reason.rawValue, message: status.message ?? reason.rawValue)
        // Metrics after the policy's record: when that write fails, the retry for the completed
        // drill (`recordIfThePolicyLacksIt`) records both, and never the metrics twice.
        try await recordOnPolicy(drill, now: now)
        recordMetrics(drill, passed: passed, measured: measured, now: now)
        if drill.metadata.finalizers?.contains(DrillRunController.finalizer) == true { try await removeFinalizer(drill, api) }
    }

    static func summary(_ m: DrillMeasurements) -> String {
        [m.rtoSeconds.map { "RTO \($0)s" }, m.rpoSeconds.map { "RPO \($0)s" }, m.backupBytes.map { "\($0) bytes" }]
            .compactMap { $0 }.joined(separator: ", ")
    }

    func recordMetrics(_ drill: DrillRun, passed: Bool, measured: DrillMeasurements, now: Date) {
        let dims = MetricDimensions.of(namespace: drill.metadata.namespace ?? "", "policy", drill.spec.policyRef.name)
        Counter(label: "backstop_drill_total", dimensions: dims + [("result", passed ? "passed" : "failed")], factory: factory).increment()
        if passed {
            Gauge(label: "backstop_drill_last_success_timestamp_seconds", dimensions: dims, factory: factory).record(now.timeIntervalSince1970)
        }
        if let rto = measured.rtoSeconds { Gauge(label: "backstop_drill_rto_seconds", dimensions: dims, factory: factory).record(Double(rto)) }
        if let rpo = measured.rpoSeconds { Gauge(label: "backstop_drill_rpo_seconds", dimensions: dims, factory: factory).record(Double(rpo)) }
    }

    /// A completed drill whose result the policy does not show yet — the operator stopped, or
    /// the policy's write failed, after the drill's own status said Completed — is recorded
    /// now (with its Warning Event and metrics). Checked against the informer's policy first,
    /// so completed drills cost no request once the policy shows them.
    func recordIfThePolicyLacksIt(_ drill: DrillRun, now: Date) async throws {
        guard let policy = policies.cache.get(namespace: drill.metadata.namespace ?? "", name: drill.spec.policyRef.name),
              DrillPlanner.policyLacksResult(of: drill, policy: policy) else { return }
        guard try await recordOnPolicy(drill, now: now, late: true), let status = drill.status else { return }
        recordMetrics(drill, passed: status.result == .passed, measured: status.measured ?? DrillMeasurements(), now: now)
    }

    /// The policy's status shows its newest finished drill; an older drill finishing late
    /// (an operator restart) does not replace a newer one. `late`: a record retried for a drill
    /// completed earlier, which also leaves alone a drill of the same second (times have whole
    /// seconds: the one just finished is the newer). True when it wrote the policy.
    @discardableResult
    func recordOnPolicy(_ drill: DrillRun, now: Date, late: Bool = false) async throws -> Bool {
        let ns = drill.metadata.namespace ?? ""
        let api = client.resource(BackupPolicy.self, namespace: ns)
        for _ in 0..<5 {
            var policy: BackupPolicy
            do { policy = try await api.get(drill.spec.policyRef.name) } catch {
                if error.kind == .notFound { return false }
                throw error
            }
            var status = policy.status ?? BackupPolicyStatus()
            let finished = drill.status?.finishedAt ?? Time(now)
            if let last = status.lastDrill, DrillPlanner.supersedes(last, name: drill.metadata.name ?? "", finished: finished.date, orTies: late) { return false }
            let passed = drill.status?.result == .passed
            let record = DrillRecord(name: drill.metadata.name ?? "", time: finished, result: drill.status?.result,
                                     rtoSeconds: drill.status?.measured?.rtoSeconds, rpoSeconds: drill.status?.measured?.rpoSeconds,
                                     message: drill.status?.message.map { String($0.prefix(1024)) })
            status.lastDrill = record
            var conditions = status.conditions ?? []
            conditions.set(BackupPolicyConditions.LastDrillPassed.self, passed ? .true : .false, passed ? .drillPassed : .drillFailed,
                           message: "DrillRun \(drill.metadata.name ?? ""): \(record.message ?? "")",
                           observedGeneration: policy.metadata.generation, now: Time(now))
            status.conditions = conditions
            guard policy.status != status else { return false }
            policy.status = status
            do {
                _ = try await api.updateStatus(policy)
                if !passed {
                    recorder.record(policy, type: .warning, reason: DrillRunConditions.Outcome.drillFailed.rawValue, message: "DrillRun \(drill.metadata.name ?? ""): \(record.message ?? "")")
                }
                return true
            } catch {
                if error.kind != .conflict { throw error }
            }
        }
        return false
    }
}

extension DrillPlanner {
    /// Whether a completed drill's result is missing from its policy's status: the policy shows
    /// no drill, an older one, or this one with another result or without its condition.
    public static func policyLacksResult(of drill: DrillRun, policy: BackupPolicy) -> Bool {
        guard let status = drill.status, status.phase == .completed, let finished = status.finishedAt?.date, let name = drill.metadata.name
        else { return false }
        guard let last = policy.status?.lastDrill else { return true }
        if last.name == name {
            let shown = policy.status?.conditions?.find(BackupPolicyConditions.LastDrillPassed.self)?.status
            return last.result != status.result || shown != (status.result == .passed ? .true : .false)
        }
        return !supersedes(last, name: name, finished: finished, orTies: true)
    }

    /// The policy's record is of another drill that finished after this one (`orTies`: or in the
    /// same second, so two such drills never take turns on the policy).
    static func supersedes(_ last: DrillRecord, name: String, finished: Date, orTies: Bool) -> Bool {
        guard last.name != name else { return false }
        let lastTime = last.time?.date ?? .distantPast
        return lastTime > finished || (orTies && lastTime == finished)
    }
}
