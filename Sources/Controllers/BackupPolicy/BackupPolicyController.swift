import BackstopCore
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging

/// Wiring and I/O of the BackupPolicy controller: gather (informer caches; Secrets by GET
/// only when a Job may start — after its create when the last read found them), plan
/// (`BackupPlanner`, pure), execute (create/delete Jobs, write /status when changed, mark
/// recorded Jobs, Events, metrics). An idle policy costs no API request: reads come from
/// caches and the next wake-up is a delayed queue add.
public enum BackupPolicyController {
    public static let name = "backuppolicy"

    /// What `backstopControllers` returns for this controller.
    public static func registration(_ settings: ControllerSettings) -> ControllerRegistration {
        ControllerRegistration(name: name) { manager in _ = setup(manager, settings) }
    }

    /// Creates the informers (policies; Jobs and Pods labelled `backstop.dev/policy`) and the
    /// controller on `manager`.
    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let policies = manager.informer(BackupPolicy.self)
        let jobs = manager.informer(Job.self, labelSelector: BackstopLabels.policy)
        let pods = manager.informer(Pod.self, labelSelector: BackstopLabels.policy)
        let restores = manager.informer(RestoreRequest.self)
        let drills = manager.informer(DrillRun.self)
        let reconciler = BackupReconciler(client: manager.client, recorder: manager.recorder, policies: policies, jobs: jobs,
                                          pods: pods, restores: restores, drills: drills, settings: settings, metrics: BackupMetrics(factory: manager.metricsFactory, gauges: manager.objectGauges),
                                          notifier: settings.notifications.dispatcher(for: manager, clock: settings.clock))
        let controller = manager.controller(name: name, workers: settings.backupWorkers) { key, context in
            try await reconciler.reconcile(key, context)
        }
        controller.watches(policies)
        controller.watchesOwned(jobs, ownerKind: BackupPolicy.resourceType.kind)
        controller.watchesAgentPods(pods, ownerLabel: BackstopLabels.policy)
        controller.reads(restores)
        controller.reads(drills)
        return controller
    }
}

final class BackupReconciler: Sendable {
    let client: KubeClient
    let recorder: EventRecorder
    let policies: Informer<BackupPolicy>
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    /// Read for the artifacts unfinished restores and drills have chosen (a prune keeps them).
    let restores: Informer<RestoreRequest>
    let drills: Informer<DrillRun>
    let settings: ControllerSettings
    let planner: BackupPlanner
    let metrics: BackupMetrics
    let notifier: NotificationDispatcher

    init(client: KubeClient, recorder: EventRecorder, policies: Informer<BackupPolicy>, jobs: Informer<Job>,
         pods: Informer<Pod>, restores: Informer<RestoreRequest>, drills: Informer<DrillRun>, settings: ControllerSettings,
         metrics: BackupMetrics, notifier: NotificationDispatcher) {
        self.client = client
        self.recorder = recorder
        self.policies = policies
        self.jobs = jobs
        self.pods = pods
        self.restores = restores
        self.drills = drills
        self.settings = settings
        self.metrics = metrics
        self.notifier = notifier
        planner = BackupPlanner(builder: AgentJobBuilder(agentImage: settings.agentImage), secretRecheck: settings.secretRecheckInterval,
                                historyLimit: settings.jobHistoryLimit,
                                resultGrace: Requeue.seconds(settings.resultGracePeriod))
    }

    func reconcile(_ key: ObjectKey, _ context: ReconcileContext) async throws -> ReconcileResult {
        guard let policy = policies.cache.get(key) else {
            metrics.forget(namespace: key.namespace, policy: key.name)
            return .done
        }
        guard policy.metadata.deletionTimestamp == nil else { return .done }
        let uid = policy.metadata.uid ?? ""
        let owned = jobs.cache.list(namespace: key.namespace, labels: [BackstopLabels.policy: key.name])
            .filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
        let podList = pods.cache.list(namespace: key.namespace, labels: [BackstopLabels.policy: key.name])
        var observed = BackupObserved(policy: policy, jobs: owned, pods: podList, now: settings.clock(),
                                      targetBusyWith: otherBackups(onTargetOf: policy, namespace: key.namespace),
                                      catalogWhenStatusMissing: settings.catalogWhenStatusMissing)
        observed.inUse = artifactsInUse(of: key)
        var plan = planner.plan(observed)
        if plan.wantsSecrets, !plan.referencedSecrets.isEmpty {
            // Job first when the Secrets were present at the last read: the GET follows the create.
            let started = plan.secretsMayFollowStart ? try await startJobs(plan, namespace: key.namespace, logger: context.logger) : [:]
            observed.secrets = try await SecretChecks.read(plan.referencedSecrets, namespace: key.namespace, client: client)
            plan = planner.plan(observed)
            if !started.isEmpty { try await settle(&plan, started: started, namespace: key.namespace, logger: context.logger) }
        }
        try await execute(plan, policy: policy, logger: context.logger)
        return plan.requeueAfter.map { .requeue(after: $0) } ?? .done
    }

    /// Creates (or adopts) the plan's Jobs ahead of its Secret read; returns the UIDs of the
    /// Jobs this call created (nil for an adopted one), by name.
    func startJobs(_ plan: BackupPlan, namespace: String, logger: Logger) async throws(KubeError) -> [String: String?] {
        let api = client.resource(Job.self, namespace: namespace)
        var started: [String: String?] = [:]
        for job in plan.createdJobs {
            let name = job.metadata.name ?? ""
            var uid: String?
            do {
                uid = try await api.createReturningMetadata(job).uid
            } catch {
                if error.kind != .alreadyExists { throw error }
            }
            started[name] = .some(uid)
            logger.info(uid == nil ? "adopted existing Job" : "created Job", metadata: ["job": .string(name)])
        }
        return started
    }

    /// After the Secret read: the Jobs already started are not created again; a Job the
    /// re-plan no longer starts (a Secret went missing) is deleted if this reconcile created it.
    func settle(_ plan: inout BackupPlan, started: [String: String?], namespace: String, logger: Logger) async throws {
        let stillWanted = Set(plan.createdJobs.compactMap(\.metadata.name))
        plan.actions.removeAll { action in
            if case .createJob(let job) = action { return started[job.metadata.name ?? ""] != nil }
            return false
        }
        let children = ChildJobs(client: client, namespace: namespace)
        for (name, uid) in started where !stillWanted.contains(name) {
            guard let uid else { continue }
            try await children.delete(name, uid: uid)
            logger.info("deleted the Job just started: a Secret it needs is missing", metadata: ["job": .string(name)])
        }
    }

    /// The artifacts unfinished RestoreRequests and DrillRuns of this policy have chosen.
    func artifactsInUse(of key: ObjectKey) -> [String] {
        var ids = Set<String>()
        for r in restores.cache.list(namespace: key.namespace) where r.status?.phase != .succeeded && r.status?.phase != .failed {
            let chosen = r.status?.backups ?? (r.status?.backup.map { [$0] } ?? [])
            for (entry, backup) in zip(r.spec.entries, chosen) where entry.policyRef.name == key.name { ids.insert(backup.id) }
        }
        for d in drills.cache.list(namespace: key.namespace) where d.status?.phase != .completed && d.spec.policyRef.name == key.name {
            if let id = d.status?.backup?.id { ids.insert(id) }
        }
        return ids.sorted()
    }

    /// Running backup Jobs of other policies whose source is this policy's target (from the cache).
    func otherBackups(onTargetOf policy: BackupPolicy, namespace: String) -> [String] {
        guard let target = TargetIdentity(source: policy.spec.source) else { return [] }
        return jobs.cache.list(namespace: namespace, labels: [BackstopLabels.operation: BackupOperation.backup.rawValue])
            .filter { job in
                guard !job.isFinished, let other = job.metadata.labels?[BackstopLabels.policy], other != policy.metadata.name,
                      let otherPolicy = policies.cache.get(namespace: namespace, name: other) else { return false }
                return TargetIdentity(source: otherPolicy.spec.source) == target
            }
            .map { $0.metadata.name ?? "" }
    }

    func execute(_ plan: BackupPlan, policy: BackupPolicy, logger: Logger) async throws {
        let namespace = policy.metadata.namespace ?? ""
        let children = ChildJobs(client: client, namespace: namespace)
        // Transitions to announce are staged in the same write that records them.
        var status = plan.status
        status.notifications = NotificationLedger.stage(NotificationTriggers.backupPolicy(old: policy.status, new: status),
                                                        targets: policy.spec.notify, uid: policy.metadata.uid ?? "",
                                                        into: status.notifications, now: Time(settings.clock()))
        try await children.perform(plan.actions, logger: logger) {
            try await StatusWriter(client: client).write(policy, status: status)
        }
        var written = policy
        written.status = status
        notifier.submit(written, targets: policy.spec.notify)
        for event in plan.events {
            recorder.record(policy, type: event.warning ? .warning : .normal, reason: event.reason, message: event.message)
        }
        metrics.apply(plan.metrics, namespace: namespace, policy: policy.metadata.name ?? "")
    }
}
