import BackstopCore
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Metrics

fileprivate typealias Outcome = SecretRotationConditions.Outcome

/// Between runs (schedule, run-now, suspend → start one) and at the end of one (phase,
/// conditions, Events, metrics).
extension RotationReconciler {
    func idle(_ rotation: inout SecretRotation, status: SecretRotationStatus, now: Date, _ api: ResourceClient<SecretRotation>) async throws -> ReconcileResult {
        var status = status
        let spec = rotation.spec
        let generation = rotation.metadata.generation
        let schedule: Schedule?
        do {
            schedule = try spec.schedule.map { try Schedule(parsing: $0, timeZone: spec.timeZone) }
        } catch {
            status.conditions = conditions(status, ready: false, reason: .scheduleInvalid,
                                           message: "spec.schedule: \(error): use cron, a macro or @every", generation, now)
            try await write(&rotation, status, api)
            return .done
        }
        let runNow = rotation.metadata.annotations?[Backstop.runNowAnnotation]
        let decision: SlotPlanner.Decision? = schedule.map {
            SlotPlanner.decide(SlotPlanner.Input(schedule: $0, suspended: spec.suspend ?? false, lastSlot: status.lastScheduleTime?.date,
                                                 created: rotation.metadata.creationTimestamp?.date, runNow: runNow,
                                                 answeredRunNow: status.lastManualRun?.value, now: now))
        }
        let manual = decision?.runNow ?? runNow.flatMap { !$0.isEmpty && $0 != status.lastManualRun?.value ? $0 : nil }
        status.nextRotationTime = decision?.next.map(Time.init)
        if let due = decision?.due { status.lastScheduleTime = Time(due.slot) }
        var startScheduled = false
        if case .start? = decision?.due { startScheduled = true }
        if manual != nil || startScheduled {
            let id = UTCTimestamp.compact(now) + "-" + String(UInt32.random(in: .min ... .max), radix: 16)
            status.run = RotationRun(id: id, trigger: manual != nil ? "manual" : "schedule", startedAt: Time(now))
            if let manual {
                var answered = ManualRun(value: manual)
                answered.startedAt = Time(now)
                status.lastManualRun = answered
            }
            status.steps = nil
            status.consumers = nil
            status.consumersReady = nil
            status.currentStep = nil
            status.message = nil
            status.phase = .generating
            try await write(&rotation, status, api)
            event(rotation, reason: "RotationStarted", message: "rotation \(id) started (\(status.run?.trigger ?? ""))")
            try await deleteEarlierJobs(of: rotation)
            return .requeue(after: .milliseconds(10))
        }
        if status.phase == nil { status.phase = .idle }
        // Bad input shows before the first run, and clears once fixed (Secrets and workloads are
        // not watched: looked at again soon while wrong, now and then while right).
        let recheck: TimeInterval
        if case .failed(_, let reason, let message) = try await checkInputs(rotation) {
            status.conditions = conditions(status, ready: false, reason: Outcome(reason), message: message, generation, now)
            recheck = Self.inputRecheckWhileWrong
        } else {
            let ready = status.conditions?.find("Ready")
            if ready == nil || (ready?.status == .false && Self.inputReasons.contains(Outcome(rawValue: ready?.reason ?? ""))) {
                status.conditions = conditions(status, ready: true, reason: .scheduled,
                                               message: status.nextRotationTime.map { "next rotation at \($0.rfc3339)" } ?? "rotates on demand (run-now annotation)",
                                               generation, now)
            }
            recheck = Self.inputRecheckWhileRight
        }
        try await write(&rotation, status, api)
        // Still pending after a restart (or a lost write-back): deliver it now.
        notifier.submit(rotation, targets: rotation.spec.notify)
        let untilNext = status.nextRotationTime.map { $0.date.timeIntervalSince(now) } ?? recheck
        return .requeue(after: .milliseconds(Int64(max(0.05, min(recheck, untilNext)) * 1000)))
    }

    static let inputRecheckWhileWrong: TimeInterval = 5
    static let inputRecheckWhileRight: TimeInterval = 300
    /// Ready=False reasons that say the input is wrong (not how a run went): cleared once it is right.
    static let inputReasons: Set<SecretRotationConditions.Outcome> = Set([RotationReason.secretNotFound, .stagedSecretNotFound, .adminSecretNotFound, .cannotGenerate,
                                                 .workloadNotFound].map(Outcome.init) + [.scheduleInvalid])

    /// Validate's checks between runs: the Secrets named and the listed consumers exist. Reads only.
    func checkInputs(_ rotation: SecretRotation) async throws -> RotationVerdict {
        let (secrets, _) = try await inputSecrets(rotation)
        let helper = Workloads(client: client, namespace: rotation.metadata.namespace ?? "")
        var consumers: [String: ConsumerObservation] = [:]
        for ref in rotation.spec.consumers?.workloads ?? [] {
            do {
                _ = try await helper.get(ref)
                consumers[ref.key] = ConsumerObservation(restartedAt: nil, rollout: .done)
            } catch {
                if error.kind != .notFound { throw error }
            }
        }
        return planner.validate(RotationObserved(rotation: rotation, secrets: secrets, consumers: consumers, now: settings.clock()))
    }

    /// Job history: the agent Jobs of earlier runs go when a new run starts (the last run's
    /// stay for `kubectl logs` until then). Their names hold the run id, so none is the new run's.
    func deleteEarlierJobs(of rotation: SecretRotation) async throws {
        let ns = rotation.metadata.namespace ?? ""
        let children = ChildJobs(client: client, namespace: ns)
        for job in jobs.cache.list(namespace: ns, labels: [BackstopLabels.rotation: rotation.metadata.name ?? ""])
            where job.metadata.ownerReferences?.contains(where: { $0.uid == rotation.metadata.uid }) ?? false {
            try await children.delete(job.metadata.name ?? "", uid: job.metadata.uid)
        }
    }

    func write(_ rotation: inout SecretRotation, _ status: SecretRotationStatus, _ api: ResourceClient<SecretRotation>) async throws {
        try await StatusWriter(client: client).write(&rotation, status: status)
    }

    func conditions(_ status: SecretRotationStatus, ready: Bool, reason: SecretRotationConditions.Outcome, message: String, _ generation: Int64?, _ now: Date) -> [Condition] {
        var conditions = status.conditions ?? []
        conditions.set(SecretRotationConditions.Ready.self, ready ? .true : .false, reason, message: message, observedGeneration: generation, now: Time(now))
        return conditions
    }

    func finish(_ rotation: inout SecretRotation, status: SecretRotationStatus, machine: StepMachine<RotationStep>,
                outcome: StepMachine<RotationStep>.Outcome, now: Date, _ api: ResourceClient<SecretRotation>) async throws {
        var status = status
        status.steps = machine.progress
        status.currentStep = machine.currentStep?.rawValue
        status.run?.finishedAt = Time(now)
        let generation = rotation.metadata.generation
        let secret = rotation.spec.secretRef.name
        var conditions = status.conditions ?? []
        let time = Time(now)
        let result: String
        switch outcome {
        case .succeeded:
            status.phase = .succeeded
            status.lastRotationTime = time
            let consumers = status.consumers ?? []
            status.message = "rotated \(rotation.spec.keys.map(\.key).joined(separator: ", ")) of Secret \(secret)"
                + (consumers.isEmpty ? "" : "; \(consumers.count) consumer(s) restarted and ready: \(consumers.map(\.key).joined(separator: ", "))")
            conditions.set(SecretRotationConditions.RotationSucceeded.self, .true, .rotated, message: status.message ?? "", observedGeneration: generation, now: time)
            conditions.set(SecretRotationConditions.Ready.self, .true, .rotated, message: status.message ?? "", observedGeneration: generation, now: time)
            result = "succeeded"
        case .failed(let step, let message):
            let scope = RollBackScope.of(machine.progress, applies: rotation.spec.apply != nil)
            let rollBack = machine.progress.first { $0.name == RotationStep.rollBack.rawValue }
            let rolledBack = scope.any && rollBack?.phase == .succeeded
            status.phase = rolledBack ? .rolledBack : .failed
            // The step's failure reason leads its message ("Reason: message").
            let reason = Outcome(rawValue: message.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "\(step.rawValue)Failed")
            status.message = "\(step.rawValue) failed: \(message)"
                + (rolledBack ? "; \(rollBack?.message ?? "rolled back")" : (rollBack?.phase == .failed ? "; roll-back failed: \(rollBack?.message ?? "")" : "; nothing was changed"))
            conditions.set(SecretRotationConditions.RotationSucceeded.self, .false, reason, message: status.message ?? "", observedGeneration: generation, now: time)
            conditions.set(SecretRotationConditions.Ready.self, .false, reason, message: status.message ?? "", observedGeneration: generation, now: time)
            result = rolledBack ? "rolled_back" : "failed"
        case .cancelled(let reason):
            status.phase = .failed
            status.message = "cancelled: \(reason)"
            conditions.set(SecretRotationConditions.RotationSucceeded.self, .false, .cancelled, message: status.message ?? "", observedGeneration: generation, now: time)
            result = "cancelled"
        }
        status.conditions = conditions
        status = NotificationLedger.staging(NotificationTriggers.secretRotation(old: rotation.status, new: status),
                                            targets: rotation.spec.notify, uid: rotation.metadata.uid ?? "", into: status, now: time)
        try await write(&rotation, status, api)
        notifier.submit(rotation, targets: rotation.spec.notify)
        let warning = result != "succeeded"
        event(rotation, warning: warning, reason: result == "succeeded" ? "Rotated" : (result == "rolled_back" ? "RolledBack" : "RotationFailed"),
              message: status.message ?? result)
        let dims = MetricDimensions.of(namespace: rotation.metadata.namespace ?? "", "rotation", rotation.metadata.name ?? "")
        Counter(label: "backstop_rotation_total", dimensions: dims + [("result", result)], factory: factory).increment()
        if result == "succeeded" {
            Gauge(label: "backstop_rotation_last_success_timestamp_seconds", dimensions: dims, factory: factory).record(now.timeIntervalSince1970)
        }
        if rotation.metadata.finalizers?.contains(SecretRotationController.finalizer) == true { try await removeFinalizer(rotation, api) }
    }
}
