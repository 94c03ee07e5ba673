import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging

/// Wiring and I/O of the CleanupPolicy controller: gather (informer caches; Secrets by GET
/// only when a Job may start), plan (`CleanupPlanner`, pure), execute (create/delete Jobs,
/// write /status when changed, mark recorded Jobs, Events, metrics). Same shape as the
/// BackupPolicy controller, on the shared kit.
public enum CleanupPolicyController {
    public static let name = "cleanuppolicy"

    public static func registration(_ settings: ControllerSettings) -> ControllerRegistration {
        ControllerRegistration(name: name) { manager in _ = setup(manager, settings) }
    }

    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let policies = manager.informer(CleanupPolicy.self)
        let jobs = manager.informer(Job.self, labelSelector: BackstopLabels.cleanup)
        let pods = manager.informer(Pod.self, labelSelector: BackstopLabels.cleanup)
        let reconciler = CleanupReconciler(client: manager.client, recorder: manager.recorder, policies: policies, jobs: jobs, pods: pods,
                                           settings: settings, metrics: CleanupMetrics(factory: manager.metricsFactory),
                                           notifier: settings.notifications.dispatcher(for: manager, clock: settings.clock))
        let controller = manager.controller(name: name, workers: 2) { key, context in
            try await reconciler.reconcile(key, context)
        }
        controller.watches(policies)
        controller.watchesOwned(jobs, ownerKind: CleanupPolicy.resourceType.kind)
        controller.watchesAgentPods(pods, ownerLabel: BackstopLabels.cleanup)
        return controller
    }
}

final class CleanupReconciler: Sendable {
    let client: KubeClient
    let recorder: EventRecorder
    let policies: Informer<CleanupPolicy>
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    let settings: ControllerSettings
    let planner: CleanupPlanner
    let metrics: CleanupMetrics
    let notifier: NotificationDispatcher

    init(client: KubeClient, recorder: EventRecorder, policies: Informer<CleanupPolicy>, jobs: Informer<Job>, pods: Informer<Pod>,
         settings: ControllerSettings, metrics: CleanupMetrics, notifier: NotificationDispatcher) {
        self.client = client
        self.recorder = recorder
        self.policies = policies
        self.jobs = jobs
        self.pods = pods
        self.settings = settings
        self.metrics = metrics
        self.notifier = notifier
        planner = CleanupPlanner(builder: CleanupJobBuilder(agentImage: settings.agentImage), secretRecheck: settings.secretRecheckInterval,
                                 historyLimit: settings.jobHistoryLimit, resultGrace: Requeue.seconds(settings.resultGracePeriod))
    }

    func reconcile(_ key: ObjectKey, _ context: ReconcileContext) async throws -> ReconcileResult {
        guard let policy = policies.cache.get(key), policy.metadata.deletionTimestamp == nil else { return .done }
        let uid = policy.metadata.uid ?? ""
        let owned = jobs.cache.list(namespace: key.namespace, labels: [BackstopLabels.cleanup: key.name])
            .filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
        let podList = pods.cache.list(namespace: key.namespace, labels: [BackstopLabels.cleanup: key.name])
        var observed = CleanupObserved(policy: policy, jobs: owned, pods: podList, now: settings.clock())
        var plan = planner.plan(observed)
        if plan.wantsSecrets, !plan.referencedSecrets.isEmpty {
            observed.secrets = try await SecretChecks.read(plan.referencedSecrets, namespace: key.namespace, client: client)
            plan = planner.plan(observed)
        }
        let namespace = policy.metadata.namespace ?? ""
        let status = NotificationLedger.staging(NotificationTriggers.cleanupPolicy(old: policy.status, new: plan.status),
                                                targets: policy.spec.notify, uid: uid, into: plan.status, now: Time(settings.clock()))
        try await ChildJobs(client: client, namespace: namespace).perform(plan.actions, logger: context.logger) {
            try await StatusWriter(client: client).write(policy, status: status)
        }
        var written = policy
        written.status = status
        notifier.submit(written, targets: policy.spec.notify)
        for event in plan.events {
            recorder.record(policy, type: event.warning ? .warning : .normal, reason: event.reason, message: event.message)
        }
        metrics.apply(plan.metrics, namespace: namespace, policy: policy.metadata.name ?? "")
        return plan.requeueAfter.map { .requeue(after: $0) } ?? .done
    }
}
