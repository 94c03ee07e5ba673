import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import Metrics

/// Wiring and I/O of the SecretRotation controller. An idle rotation waits for its schedule
/// or the run-now annotation; a run rebuilds the step machine from status each reconcile,
/// asks `RotationPlanner` for the running step's verdict and, for a step that acts, writes
/// status first (the step `Running`, a consumer's restart time), then acts. The new values
/// live in the run's pending Secret from Generate until Finalize or RollBack, so the operator
/// may be killed at any point without losing them or applying different ones.
public enum SecretRotationController {
    public static let name = "secretrotation"
    /// Held while a run is in progress, so deleting the rotation mid-run still rolls back.
    public static let finalizer = "backstop.dev/rotation-rollback"

    public static func registration(_ settings: ControllerSettings) -> ControllerRegistration {
        ControllerRegistration(name: name) { manager in _ = setup(manager, settings) }
    }

    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let rotations = manager.informer(SecretRotation.self)
        let jobs = manager.informer(Job.self, labelSelector: BackstopLabels.rotation)
        let pods = manager.informer(Pod.self, labelSelector: BackstopLabels.rotation)
        let reconciler = RotationReconciler(client: manager.client, recorder: manager.recorder, rotations: rotations, jobs: jobs,
                                            pods: pods, settings: settings, factory: manager.metricsFactory,
                                            notifier: settings.notifications.dispatcher(for: manager, clock: settings.clock))
        let controller = manager.controller(name: name, workers: 2) { key, context in
            try await reconciler.reconcile(key, context)
        }
        controller.watches(rotations)
        controller.watchesOwned(jobs, ownerKind: SecretRotation.resourceType.kind)
        controller.watchesAgentPods(pods, ownerLabel: BackstopLabels.rotation)
        return controller
    }
}

final class RotationReconciler: Sendable {
    let client: KubeClient
    let recorder: EventRecorder
    let rotations: Informer<SecretRotation>
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    let settings: ControllerSettings
    let planner: RotationPlanner
    let factory: any MetricsFactory
    let notifier: NotificationDispatcher
    /// How often a running rotation looks again (Secrets and workloads are not watched).
    let poll: Duration = .seconds(1)

    init(client: KubeClient, recorder: EventRecorder, rotations: Informer<SecretRotation>, jobs: Informer<Job>, pods: Informer<Pod>,
         settings: ControllerSettings, factory: any MetricsFactory, notifier: NotificationDispatcher) {
        self.notifier = notifier
        self.client = client
        self.recorder = recorder
        self.rotations = rotations
        self.jobs = jobs
        self.pods = pods
        self.settings = settings
        self.factory = factory
        planner = RotationPlanner(agentImage: settings.agentImage)
    }

    func reconcile(_ key: ObjectKey, _ context: ReconcileContext) async throws -> ReconcileResult {
        guard var rotation = rotations.cache.get(key) else { return .done }
        let api = client.resource(SecretRotation.self, namespace: key.namespace)
        let now = settings.clock()
        var status = rotation.status ?? SecretRotationStatus()
        status.observedGeneration = rotation.metadata.generation
        let finalizers = rotation.metadata.finalizers ?? []
        guard let run = status.run, run.finishedAt == nil else {
            if rotation.metadata.deletionTimestamp != nil {
                if finalizers.contains(SecretRotationController.finalizer) { try await removeFinalizer(rotation, api) }
                return .done
            }
            return try await idle(&rotation, status: status, now: now, api)
        }
        // The run is recorded in status before the finalizer is added: a crash between the two
        // leaves a run that adds it here.
        if rotation.metadata.deletionTimestamp == nil, !finalizers.contains(SecretRotationController.finalizer) {
            rotation.metadata.finalizers = finalizers + [SecretRotationController.finalizer]
            rotation = try await api.update(rotation)
        }
        var machine = StepMachine(RotationStep.definitions, recorded: status.steps ?? [])
        if rotation.metadata.deletionTimestamp != nil { machine.cancel(reason: "the SecretRotation was deleted") }
        let observed = try await gather(rotation, status: status, now: now)
        let time = Time(now)
        for _ in 0..<RotationStep.allCases.count * 2 {
            switch machine.next(now: time) {
            case .start(let step), .resume(let step):
                var draft = status
                // The planner reads what earlier steps did (RollBack: which ones ran) from here.
                draft.steps = machine.progress
                switch planner.decide(step, observed, status: &draft) {
                case .succeeded(let job, let message):
                    status = draft
                    machine.succeeded(step, now: time, job: job, message: message)
                    event(rotation, reason: "\(step.rawValue)Succeeded", message: message ?? step.rawValue)
                case .failed(let job, let reason, let message):
                    status = draft
                    // "Reason: message": the reason leads, for the condition and for RollBackScope.
                    machine.failed(step, now: time, job: job, message: "\(reason): \(message)")
                    status.message = "\(reason): \(message)"
                    event(rotation, warning: true, reason: "\(step.rawValue)Failed", message: "\(reason): \(message)")
                case .running(let actions, let message):
                    status = draft
                    status.steps = Self.progress(machine, message: message)
                    status.phase = step.phase
                    status.currentStep = step.rawValue
                    let first = rotation.status?.currentStep != step.rawValue
                    if try await StatusWriter(client: client).write(&rotation, status: status) {
                        if first { event(rotation, reason: "\(step.rawValue)Started", message: message ?? step.rawValue) }
                    }
                    try await perform(actions, rotation: rotation, status: status, logger: context.logger)
                    return .requeue(after: poll)
                }
            case .finished(let outcome):
                try await finish(&rotation, status: status, machine: machine, outcome: outcome, now: now, api)
                // The idle path (next slot, a run-now that came in meanwhile) from the fresh object.
                return rotation.metadata.deletionTimestamp == nil ? .requeue(after: .milliseconds(100)) : .done
            }
        }
        return .requeue(after: poll)
    }

    static func progress(_ machine: StepMachine<RotationStep>, message: String?) -> [StepStatus] {
        var steps = machine.progress
        if let i = steps.firstIndex(where: { $0.phase == .running }) { steps[i].message = message }
        return steps
    }

    func event(_ rotation: SecretRotation, warning: Bool = false, reason: String, message: String) {
        recorder.record(rotation, type: warning ? .warning : .normal, reason: reason, message: message)
    }

    func removeFinalizer(_ rotation: SecretRotation, _ api: ResourceClient<SecretRotation>) async throws {
        var updated = rotation
        updated.metadata.finalizers = rotation.metadata.finalizers?.filter { $0 != SecretRotationController.finalizer }
        do { _ = try await api.update(updated) } catch {
            if error.kind != .notFound { throw error }
        }
    }
}
