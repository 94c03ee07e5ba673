import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import Metrics

/// Wiring and I/O of the DrillRun controller. Each reconcile rebuilds the step machine from
/// status, asks `DrillPlanner` for the running step's verdict, and — for a step that acts —
/// writes status first (the step `Running`, the marker id it is about to write, the backup Job
/// it starts), then acts. A finalizer keeps a deleted drill until Cleanup has run.
public enum DrillRunController {
    public static let name = "drillrun"
    /// Held until the scratch copy is dropped and the marker removed.
    public static let finalizer = "backstop.dev/drill-cleanup"

    public static func registration(_ settings: ControllerSettings) -> ControllerRegistration {
        ControllerRegistration(name: name) { manager in
            _ = setup(manager, settings)
            DrillScheduleController.setup(manager, settings)
        }
    }

    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let drills = manager.informer(DrillRun.self)
        let policies = manager.informer(BackupPolicy.self)
        let requests = manager.informer(RestoreRequest.self)
        let jobs = manager.informer(Job.self, labelSelector: BackstopLabels.drill)
        let pods = manager.informer(Pod.self, labelSelector: BackstopLabels.drill)
        let reconciler = DrillReconciler(client: manager.client, recorder: manager.recorder, drills: drills, policies: policies,
                                         requests: requests, jobs: jobs, pods: pods, settings: settings, factory: manager.metricsFactory,
                                         notifier: settings.notifications.dispatcher(for: manager, clock: settings.clock))
        let controller = manager.controller(name: name, workers: 2) { key, context in
            try await reconciler.reconcile(key, context)
        }
        controller.watches(drills)
        controller.watchesOwned(jobs, ownerKind: DrillRun.resourceType.kind)
        controller.watchesAgentPods(pods, ownerLabel: BackstopLabels.drill)
        controller.reads(requests)
        // A drill waiting for the policy's running Job looks again when the policy's status changes.
        controller.watches(policies) { policy in
            drills.cache.list(namespace: policy.metadata.namespace)
                .filter { $0.spec.policyRef.name == policy.metadata.name && $0.status?.phase != .completed }
                .map { ObjectKey(namespace: $0.metadata.namespace, name: $0.metadata.name ?? "") }
        }
        return controller
    }
}

final class DrillReconciler: Sendable {
    let client: KubeClient
    let recorder: EventRecorder
    let drills: Informer<DrillRun>
    let policies: Informer<BackupPolicy>
    let requests: Informer<RestoreRequest>
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    let settings: ControllerSettings
    let planner: DrillPlanner
    let factory: any MetricsFactory
    let notifier: NotificationDispatcher
    let poll: Duration = .seconds(1)

    init(client: KubeClient, recorder: EventRecorder, drills: Informer<DrillRun>, policies: Informer<BackupPolicy>,
         requests: Informer<RestoreRequest>, jobs: Informer<Job>, pods: Informer<Pod>, settings: ControllerSettings, factory: any MetricsFactory,
         notifier: NotificationDispatcher) {
        self.notifier = notifier
        self.client = client
        self.recorder = recorder
        self.drills = drills
        self.policies = policies
        self.requests = requests
        self.jobs = jobs
        self.pods = pods
        self.settings = settings
        self.factory = factory
        planner = DrillPlanner(agentImage: settings.agentImage)
    }

    func reconcile(_ key: ObjectKey, _ context: ReconcileContext) async throws -> ReconcileResult {
        guard var drill = drills.cache.get(key) else { return .done }
        let api = client.resource(DrillRun.self, namespace: key.namespace)
        let finalizers = drill.metadata.finalizers ?? []
        let now = settings.clock()
        if drill.status?.phase == .completed {
            // Still pending after a restart (or a lost write-back): deliver it now.
            notifier.submit(drill, targets: notifyTargets(drill))
            try await recordIfThePolicyLacksIt(drill, now: now)
            if finalizers.contains(DrillRunController.finalizer) { try await removeFinalizer(drill, api) }
            return .done
        }
        if drill.metadata.deletionTimestamp == nil, !finalizers.contains(DrillRunController.finalizer) {
            drill.metadata.finalizers = finalizers + [DrillRunController.finalizer]
            drill = try await api.update(drill)
        }
        if drill.metadata.deletionTimestamp != nil, !finalizers.contains(DrillRunController.finalizer) { return .done }

        var status = drill.status ?? DrillRunStatus()
        if status.startedAt == nil { status.startedAt = Time(now) }
        status.observedGeneration = drill.metadata.generation
        var machine = StepMachine(DrillStep.definitions, recorded: status.steps ?? [])
        if drill.metadata.deletionTimestamp != nil { machine.cancel(reason: "the DrillRun was deleted") }
        let observed = try await gather(drill, now: now)
        let time = Time(now)
        for _ in 0..<DrillStep.allCases.count * 2 {
            switch machine.next(now: time) {
            case .start(let step), .resume(let step):
                switch planner.decide(step, observed, status: status) {
                case .succeeded(let job, let message):
                    machine.succeeded(step, now: time, job: job, message: message)
                    // The next step decides from this one's outcome (Cleanup from Restore's).
                    status.steps = machine.progress
                    record(step, job: job, observed: observed, into: &status)
                    event(drill, reason: "\(step.rawValue)Succeeded", message: message ?? step.rawValue)
                case .failed(let job, let reason, let message):
                    machine.failed(step, now: time, job: job, message: message)
                    status.steps = machine.progress
                    status.message = message
                    event(drill, warning: true, reason: "\(step.rawValue)Failed", message: "\(reason): \(message)")
                case .running(let actions, let message):
                    // Record first: the step running and what undoes it (the marker id), then act.
                    if step == .marker, status.marker == nil { status.marker = DrillMarker(id: drill.token) }
                    if step == .backup, status.freshBackup == nil {
                        var asked = ManualRun(value: drill.token)
                        asked.job = observed.policy.map { DrillPlanner.backupJobName(drill, policy: $0) }
                        asked.result = .running
                        asked.startedAt = time
                        status.freshBackup = asked
                    }
                    status.steps = Self.progress(machine, message: message)
                    status.phase = step == .validate && observed.blockedBy != nil ? .pending : .running
                    status.currentStep = step.rawValue
                    status.message = message
                    let first = drill.status?.currentStep != step.rawValue
                    if try await StatusWriter(client: client).write(&drill, status: status) {
                        if first { event(drill, reason: "\(step.rawValue)Started", message: message ?? step.rawValue) }
                    }
                    try await perform(actions, drill: drill, logger: context.logger)
                    return .requeue(after: poll)
                }
            case .finished(let outcome):
                try await finish(&drill, status: status, machine: machine, outcome: outcome, now: now, api)
                return .done
            }
        }
        return .requeue(after: poll)
    }

    /// What a finished step leaves in status: the marker's time, the chosen backup, the marker removed.
    func record(_ step: DrillStep, job: String?, observed: DrillObserved, into status: inout DrillRunStatus) {
        let result = job.flatMap { observed.results[$0] }
        switch step {
        case .marker:
            if let at = result?.report.drill?.markedAt { status.marker?.writtenAt = Time(rfc3339: at) }
        case .backup:
            if let result, let chosen = RestorePlanner.backupReference(result) {
                status.backup = chosen
            } else if let job, let recorded = DrillPlanner.recordedBackup(job: job, policy: observed.policy) {
                status.backup = BackupReference(id: recorded.id, time: recorded.time, sha256: recorded.sha256, sizeBytes: recorded.sizeBytes)
            }
            if status.freshBackup != nil {
                status.freshBackup?.job = job
                status.freshBackup?.result = .succeeded
                status.freshBackup?.finishedAt = Time(observed.now)
            }
        case .list:
            if let result, let chosen = RestorePlanner.backupReference(result) {
                // The fresh backup's record has its time from the policy; the agent's is the same artifact.
                status.backup = BackupReference(id: chosen.id, time: chosen.time ?? status.backup?.time,
                                                sha256: chosen.sha256, sizeBytes: chosen.sizeBytes)
            }
        case .cleanup:
            if result?.report.drill?.removedMarker != nil || status.marker != nil { status.marker?.removed = true }
        default:
            break
        }
    }

    static func progress(_ machine: StepMachine<DrillStep>, message: String?) -> [StepStatus] {
        var steps = machine.progress
        if let i = steps.firstIndex(where: { $0.phase == .running }) { steps[i].message = message }
        return steps
    }

    func gather(_ drill: DrillRun, now: Date) async throws -> DrillObserved {
        let ns = drill.metadata.namespace ?? ""
        let uid = drill.metadata.uid ?? ""
        var byStep: [DrillStep: Job] = [:]
        var results: [String: AgentResult] = [:]
        let owned = jobs.cache.list(namespace: ns, labels: [BackstopLabels.drill: drill.metadata.name ?? ""])
            .filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
        let podList = pods.cache.list(namespace: ns, labels: [BackstopLabels.drill: drill.metadata.name ?? ""])
        let policy = policies.cache.get(namespace: ns, name: drill.spec.policyRef.name)
        // The fresh backup is the policy's Job (owned by the policy), labelled with the drill.
        let freshBackup = policy.flatMap { p in
            jobs.cache.list(namespace: ns, labels: [BackstopLabels.drill: drill.metadata.name ?? ""])
                .first { $0.metadata.name == DrillPlanner.backupJobName(drill, policy: p) && $0.metadata.ownerReferences?.contains { $0.uid == p.metadata.uid } == true }
        }
        for step in DrillStep.allCases {
            let job = step == .backup ? freshBackup : planner.jobName(step, of: drill).flatMap { name in owned.first { $0.metadata.name == name } }
            guard let job, let name = job.metadata.name else { continue }
            byStep[step] = job
            if job.isFinished, let result = AgentResultReader.result(of: job, pods: podList, now: now, grace: 30) { results[name] = result }
        }
        // Until Validate has passed, restores are read from the API server itself: a restore that
        // got under way within the informers' lag must still hold this drill back.
        let validated = drill.status?.steps?.contains { $0.name == DrillStep.validate.rawValue && $0.phase == .succeeded } ?? false
        let restores = validated ? requests.cache.list(namespace: ns) : try await client.resource(RestoreRequest.self, namespace: ns).listAll().items
        return DrillObserved(drill: drill, policy: policy,
                             jobs: byStep, results: results, blockedBy: blocker(of: drill, restores: restores), now: now)
    }

    /// What a drill must not overlap with: an unfinished RestoreRequest that writes to its
    /// source or its scratch target (by location, whatever policy it names) and goes first —
    /// it is past Validate already, or was created earlier — or an earlier running drill of the
    /// same source or the same scratch target. Any other restore waits for this drill instead
    /// (RestoreReconciler.earlierDrill).
    func blocker(of drill: DrillRun, restores: [RestoreRequest]) -> String? {
        let ns = drill.metadata.namespace
        guard let policy = policies.cache.get(namespace: ns ?? "", name: drill.spec.policyRef.name) else { return nil }
        func identities(_ d: DrillRun, _ p: BackupPolicy) -> Set<TargetIdentity> {
            Set([TargetIdentity(source: p.spec.source), (try? DrillPlanner.scratch(d.spec, policy: p).get()).flatMap { TargetIdentity(source: $0) }]
                .compactMap { $0 })
        }
        let mine = identities(drill, policy)
        func created(_ o: some KubeResource) -> (Date, String) { (o.metadata.creationTimestamp?.date ?? .distantPast, o.metadata.name ?? "") }
        for restore in restores
        where restore.status?.phase != .succeeded && restore.status?.phase != .failed
            && ((restore.status?.phase).map { $0 != .pending } ?? false || created(restore) < created(drill)) {
            guard let p = policies.cache.get(namespace: ns ?? "", name: restore.spec.policyRef.name) else { continue }
            let target = (try? RestoreJobBuilder.target(restore.spec, policy: p).get()).flatMap { TargetIdentity(source: $0) }
            if restore.spec.policyRef.name == policy.metadata.name || target.map(mine.contains) == true {
                return "RestoreRequest \(restore.metadata.name ?? "")"
            }
        }
        func order(_ d: DrillRun) -> (Date, String) { (d.metadata.creationTimestamp?.date ?? .distantPast, d.metadata.name ?? "") }
        return drills.cache.list(namespace: ns)
            .filter { other in
                guard other.metadata.uid != drill.metadata.uid, order(other) < order(drill), other.status?.phase != .completed else { return false }
                if other.spec.policyRef.name == drill.spec.policyRef.name { return true }
                guard let p = policies.cache.get(namespace: ns ?? "", name: other.spec.policyRef.name) else { return false }
                return !identities(other, p).isDisjoint(with: mine)
            }
            .min { order($0) < order($1) }.map { "DrillRun \($0.metadata.name ?? "")" }
    }

    func perform(_ actions: [DrillAction], drill: DrillRun, logger: Logger) async throws {
        let ns = drill.metadata.namespace ?? ""
        let children = ChildJobs(client: client, namespace: ns)
        for action in actions {
            switch action {
            case .createJob(let job): try await children.createOrAdopt(job, logger: logger)
            }
        }
    }

    func removeFinalizer(_ drill: DrillRun, _ api: ResourceClient<DrillRun>) async throws {
        var updated = drill
        updated.metadata.finalizers = drill.metadata.finalizers?.filter { $0 != DrillRunController.finalizer }
        do { _ = try await api.update(updated) } catch {
            if error.kind != .notFound { throw error }
        }
    }

    /// The drill's own `notify`, else its policy's (a scheduled drill has none of its own).
    func notifyTargets(_ drill: DrillRun) -> [KubeModel.Notification]? {
        drill.spec.notify ?? policies.cache.get(namespace: drill.metadata.namespace ?? "", name: drill.spec.policyRef.name)?.spec.notify
    }

    func event(_ drill: DrillRun, warning: Bool = false, reason: String, message: String) {
        recorder.record(drill, type: warning ? .warning : .normal, reason: reason, message: message)
    }
}
