import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Metrics

/// The end of a restore: the outcome in status and conditions, its Event, notification and
/// metrics, the finalizer released; and `ttlSecondsAfterFinished`.
extension RestoreReconciler {
    func finish(_ request: inout RestoreRequest, status: RestoreRequestStatus, machine: StepMachine<RestoreStep>,
                outcome: StepMachine<RestoreStep>.Outcome, now: Date, _ api: ResourceClient<RestoreRequest>) async throws {
        var status = status
        status.steps = machine.progress
        status.currentStep = machine.currentStep?.rawValue
        status.finishedAt = Time(now)
        let started = status.startedAt?.date ?? now
        status.durationSeconds = max(0, Int(now.timeIntervalSince(started).rounded()))
        let generation = request.metadata.generation
        var conditions = status.conditions ?? []
        let time = Time(now)
        let result: String
        switch outcome {
        case .succeeded:
            status.phase = .succeeded
            let resumed = (status.savedReplicas ?? [:]).isEmpty ? "" : " and resumed the writers"
            let ids = (status.backups ?? [status.backup].compactMap { $0 }).map(\.id)
            status.message = "restored \(ids.isEmpty ? "the backup" : ids.joined(separator: ", "))" + resumed
            conditions.set(Conditions.Complete.self, .true, .restored, message: status.message ?? "", observedGeneration: generation, now: time)
            conditions.set(Conditions.Failed.self, .false, .restored, message: "", observedGeneration: generation, now: time)
            conditions.set(Conditions.Ready.self, .true, .restored, message: status.message ?? "", observedGeneration: generation, now: time)
            result = "succeeded"
        case .failed(let step, let message):
            status.phase = .failed
            status.message = message
            conditions.set(Conditions.Complete.self, .false, .failed(step: step.rawValue), message: message, observedGeneration: generation, now: time)
            conditions.set(Conditions.Failed.self, .true, .failed(step: step.rawValue), message: message, observedGeneration: generation, now: time)
            conditions.set(Conditions.Ready.self, .false, .failed(step: step.rawValue), message: message, observedGeneration: generation, now: time)
            result = "failed"
        case .cancelled(let reason):
            status.phase = .failed
            status.message = "cancelled: \(reason); the writers were resumed"
            conditions.set(Conditions.Failed.self, .true, .cancelled, message: status.message ?? "", observedGeneration: generation, now: time)
            conditions.set(Conditions.Ready.self, .false, .cancelled, message: status.message ?? "", observedGeneration: generation, now: time)
            result = "cancelled"
        }
        status.conditions = conditions
        status = NotificationLedger.staging(NotificationTriggers.restoreRequest(old: request.status, new: status),
                                            targets: notifyTargets(request), uid: request.metadata.uid ?? "", into: status, now: time)
        try await StatusWriter(client: client).write(&request, status: status)
        notifier.submit(request, targets: notifyTargets(request))
        // Not "RestoreSucceeded": that is the Restore step's own Event.
        event(request, warning: result != "succeeded", reason: result == "succeeded" ? "Completed" : "Failed", message: status.message ?? result)
        let dims = MetricDimensions.of(namespace: request.metadata.namespace ?? "", "policy", request.spec.policyRef.name)
        Counter(label: "backstop_restore_total", dimensions: dims + [("result", result)], factory: factory).increment()
        Metrics.Timer(label: "backstop_restore_duration_seconds", dimensions: dims, factory: factory)
            .recordSeconds(Double(status.durationSeconds ?? 0))
        if request.metadata.finalizers?.contains(RestoreRequestController.finalizer) == true { try await removeFinalizer(request, api) }
    }

    func removeFinalizer(_ request: RestoreRequest, _ api: ResourceClient<RestoreRequest>) async throws {
        var updated = request
        updated.metadata.finalizers = request.metadata.finalizers?.filter { $0 != RestoreRequestController.finalizer }
        do { _ = try await api.update(updated) } catch {
            if error.kind != .notFound { throw error }
        }
    }

    /// `ttlSecondsAfterFinished`: a finished request is deleted that long after it finished.
    func expire(_ request: RestoreRequest, _ api: ResourceClient<RestoreRequest>, now: Date) async throws -> ReconcileResult {
        guard let ttl = request.spec.ttlSecondsAfterFinished, let finished = request.status?.finishedAt?.date,
              request.metadata.deletionTimestamp == nil else { return .done }
        let left = finished.addingTimeInterval(TimeInterval(ttl)).timeIntervalSince(now)
        if left > 0 { return .requeue(after: .milliseconds(Int64(left * 1000) + 50)) }
        do { _ = try await api.delete(request.metadata.name ?? "", options: DeleteOptions(propagationPolicy: .background)) } catch {
            if error.kind != .notFound { throw error }
        }
        return .done
    }

    /// The request's own `notify`, else its policy's.
    func notifyTargets(_ request: RestoreRequest) -> [KubeModel.Notification]? {
        request.spec.notify ?? policies.cache.get(namespace: request.metadata.namespace ?? "", name: request.spec.policyRef.name)?.spec.notify
    }

    func event(_ request: RestoreRequest, warning: Bool = false, reason: String, message: String) {
        recorder.record(request, type: warning ? .warning : .normal, reason: reason, message: message)
    }
}
