import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import Metrics

/// Wiring and I/O of the RestoreRequest controller. Each reconcile rebuilds the step machine
/// from status, asks `RestorePlanner` for the running step's verdict, and — for a step that
/// acts — writes status first (the step `Running`, the saved replicas), then acts. A finalizer
/// keeps a deleted request until Resume has run; the operator may be killed at any point.
public enum RestoreRequestController {
    public static let name = "restorerequest"
    /// Held until the writers are resumed, so deleting a request mid-restore still resumes them.
    public static let finalizer = "backstop.dev/resume-writers"

    public static func registration(_ settings: ControllerSettings) -> ControllerRegistration {
        ControllerRegistration(name: name) { manager in _ = setup(manager, settings) }
    }

    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let requests = manager.informer(RestoreRequest.self)
        let policies = manager.informer(BackupPolicy.self)
        let drills = manager.informer(DrillRun.self)
        let jobs = manager.informer(Job.self, labelSelector: BackstopLabels.restore)
        let pods = manager.informer(Pod.self, labelSelector: BackstopLabels.restore)
        let reconciler = RestoreReconciler(client: manager.client, recorder: manager.recorder, requests: requests, policies: policies,
                                           drills: drills, jobs: jobs, pods: pods, settings: settings, factory: manager.metricsFactory,
                                           notifier: settings.notifications.dispatcher(for: manager, clock: settings.clock))
        let controller = manager.controller(name: name, workers: 2) { key, context in
            try await reconciler.reconcile(key, context)
        }
        controller.watches(requests)
        controller.watchesOwned(jobs, ownerKind: RestoreRequest.resourceType.kind)
        controller.watchesAgentPods(pods, ownerLabel: BackstopLabels.restore)
        controller.reads(policies)
        controller.reads(drills)
        return controller
    }
}

final class RestoreReconciler: Sendable {
    typealias Conditions = RestoreRequestConditions
    let client: KubeClient
    let recorder: EventRecorder
    let requests: Informer<RestoreRequest>
    let policies: Informer<BackupPolicy>
    /// Drills of the same database go first when created first (their marker and fresh backup
    /// must not straddle a restore over the source).
    let drills: Informer<DrillRun>
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    let settings: ControllerSettings
    let planner: RestorePlanner
    let factory: any MetricsFactory
    let notifier: NotificationDispatcher
    /// How often a running restore looks again (workloads and their pods are not watched).
    let poll: Duration = .seconds(1)

    init(client: KubeClient, recorder: EventRecorder, requests: Informer<RestoreRequest>, policies: Informer<BackupPolicy>,
         drills: Informer<DrillRun>, jobs: Informer<Job>, pods: Informer<Pod>, settings: ControllerSettings, factory: any MetricsFactory,
         notifier: NotificationDispatcher) {
        self.notifier = notifier
        self.client = client
        self.recorder = recorder
        self.requests = requests
        self.policies = policies
        self.drills = drills
        self.jobs = jobs
        self.pods = pods
        self.settings = settings
        self.factory = factory
        planner = RestorePlanner(agentImage: settings.agentImage)
    }

    func reconcile(_ key: ObjectKey, _ context: ReconcileContext) async throws -> ReconcileResult {
        guard var request = requests.cache.get(key) else { return .done }
        let api = client.resource(RestoreRequest.self, namespace: key.namespace)
        let finalizers = request.metadata.finalizers ?? []
        let now = settings.clock()
        if let phase = request.status?.phase, phase == .succeeded || phase == .failed {
            // Still pending after a restart (or a lost write-back): deliver it now.
            notifier.submit(request, targets: notifyTargets(request))
            if finalizers.contains(RestoreRequestController.finalizer) { try await removeFinalizer(request, api) }
            return try await expire(request, api, now: now)
        }
        if request.metadata.deletionTimestamp == nil, !finalizers.contains(RestoreRequestController.finalizer) {
            request.metadata.finalizers = finalizers + [RestoreRequestController.finalizer]
            request = try await api.update(request)
        }
        if request.metadata.deletionTimestamp != nil, !finalizers.contains(RestoreRequestController.finalizer) { return .done }

        var status = request.status ?? RestoreRequestStatus()
        if status.startedAt == nil { status.startedAt = Time(now) }
        status.observedGeneration = request.metadata.generation
        var machine = StepMachine(RestoreStep.definitions, recorded: status.steps ?? [])
        if request.metadata.deletionTimestamp != nil { machine.cancel(reason: "the RestoreRequest was deleted") }
        let observed = try await gather(request, status: status, now: now)
        let time = Time(now)
        for _ in 0..<RestoreStep.allCases.count * 2 {
            switch machine.next(now: time) {
            case .start(let step), .resume(let step):
                switch planner.decide(step, observed, status: status) {
                case .succeeded(let job, let message):
                    machine.succeeded(step, now: time, job: job, message: message)
                    if step == .select { recordSelected(request, observed, into: &status) }
                    event(request, reason: "\(step.rawValue)Succeeded", message: message ?? step.rawValue)
                case .failed(let job, let reason, let message):
                    machine.failed(step, now: time, job: job, message: message)
                    status.message = message
                    event(request, warning: true, reason: "\(step.rawValue)Failed", message: "\(reason): \(message)")
                case .running(let actions, let message):
                    // Record first: the step running and what undoes it (saved replicas), then act.
                    if step == .quiesce {
                        var saved = status.savedReplicas ?? [:]
                        for ref in request.spec.fenced where saved[ref.key] == nil {
                            saved[ref.key] = observed.workloads[ref.key]?.replicas
                        }
                        status.savedReplicas = saved
                    }
                    status.steps = Self.progress(machine, message: message)
                    status.phase = step.phase
                    status.currentStep = step.rawValue
                    let first = request.status?.currentStep != step.rawValue
                    if try await StatusWriter(client: client).write(&request, status: status) {
                        if first { event(request, reason: "\(step.rawValue)Started", message: message ?? step.rawValue) }
                    }
                    try await perform(actions, namespace: key.namespace, logger: context.logger)
                    return .requeue(after: poll)
                }
            case .finished(let outcome):
                try await finish(&request, status: status, machine: machine, outcome: outcome, now: now, api)
                return try await expire(request, api, now: now)
            }
        }
        return .requeue(after: poll)
    }

    static func progress(_ machine: StepMachine<RestoreStep>, message: String?) -> [StepStatus] {
        var steps = machine.progress
        if let i = steps.firstIndex(where: { $0.phase == .running }) { steps[i].message = message }
        return steps
    }

    /// Select's choice for every store: `backup` (the first) and, with `spec.stores`, `backups`.
    func recordSelected(_ request: RestoreRequest, _ observed: RestoreObserved, into status: inout RestoreRequestStatus) {
        let chosen = request.spec.entries.indices.map { i in
            planner.jobName(.select, of: request, entry: i).flatMap { observed.results[$0] }.flatMap(RestorePlanner.backupReference)
        }
        status.backup = chosen.first ?? nil
        if chosen.count > 1 { status.backups = chosen.compactMap { $0 } }
    }

    /// Cache reads for the request; one GET (and a pod LIST) per workload to fence.
    func gather(_ request: RestoreRequest, status: RestoreRequestStatus, now: Date) async throws -> RestoreObserved {
        let ns = request.metadata.namespace ?? ""
        let uid = request.metadata.uid ?? ""
        var byName: [String: Job] = [:]
        var results: [String: AgentResult] = [:]
        let owned = jobs.cache.list(namespace: ns, labels: [BackstopLabels.restore: request.metadata.name ?? ""])
            .filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
        let podList = pods.cache.list(namespace: ns, labels: [BackstopLabels.restore: request.metadata.name ?? ""])
        for job in owned {
            guard let name = job.metadata.name else { continue }
            byName[name] = job
            if job.isFinished, let result = AgentResultReader.result(of: job, pods: podList, now: now, grace: 30) { results[name] = result }
        }
        var workloads: [String: WorkloadObservation] = [:]
        let helper = Workloads(client: client, namespace: ns)
        for ref in request.spec.fenced {
            do {
                let object = try await helper.get(ref)
                let replicas = Int(object["spec"]?["replicas"]?.intValue ?? 1)
                let left = try await helper.podsLeft(of: ref).count
                let saved = status.savedReplicas?[ref.key]
                workloads[ref.key] = WorkloadObservation(replicas: replicas, podsLeft: left,
                                                         resumed: saved.map { RolloutState.scaled(object, to: Int64($0)) })
            } catch {
                if error.kind != .notFound { throw error }
            }
        }
        var policies: [String: BackupPolicy] = [:]
        for entry in request.spec.entries {
            if let p = self.policies.cache.get(namespace: ns, name: entry.policyRef.name) { policies[entry.policyRef.name] = p }
        }
        var observed = RestoreObserved(request: request, policy: policies[request.spec.policyRef.name], policies: policies,
                                       jobs: byName, results: results, workloads: workloads, now: now)
        // Until Validate has passed, drills are read from the API server itself: a drill that
        // got under way within the informers' lag must still hold this restore back.
        let validated = status.steps?.contains { $0.name == RestoreStep.validate.rawValue && $0.phase == .succeeded } ?? false
        let drillRuns = validated ? drills.cache.list(namespace: ns) : try await client.resource(DrillRun.self, namespace: ns).listAll().items
        observed.blockedBy = earlierRestore(than: request).map { "RestoreRequest \($0)" }
            ?? earlierDrill(than: request, among: drillRuns, policies: policies)
        return observed
    }

    /// The first earlier request (by creation) still running on the same policy or fencing a
    /// workload this one fences; nil when this one may go.
    func earlierRestore(than request: RestoreRequest) -> String? {
        let mine = Set(request.spec.fenced.map(\.key))
        func order(_ r: RestoreRequest) -> (Date, String) { (r.metadata.creationTimestamp?.date ?? .distantPast, r.metadata.name ?? "") }
        return requests.cache.list(namespace: request.metadata.namespace)
            .filter { other in
                guard other.metadata.uid != request.metadata.uid, order(other) < order(request) else { return false }
                if let phase = other.status?.phase, phase == .succeeded || phase == .failed { return false }
                let sharedPolicy = !Set(request.spec.entries.map(\.policyRef.name)).isDisjoint(with: other.spec.entries.map(\.policyRef.name))
                return sharedPolicy || !mine.isDisjoint(with: other.spec.fenced.map(\.key))
            }
            .min { order($0) < order($1) }?.metadata.name
    }

    /// An unfinished DrillRun whose source or scratch target is one of this request's targets,
    /// or that drills one of its policies, and that goes first: it is past Validate already, or
    /// was created earlier (name breaks a tie within the second). DrillRunController.blocker is
    /// the mirror, so of a drill and a restore on one database exactly one waits.
    func earlierDrill(than request: RestoreRequest, among drillRuns: [DrillRun], policies: [String: BackupPolicy]) -> String? {
        let ns = request.metadata.namespace ?? ""
        let names = Set(request.spec.entries.map(\.policyRef.name))
        let targets = Set(request.spec.entries.compactMap { entry -> TargetIdentity? in
            guard let p = policies[entry.policyRef.name], case .success(let t) = RestoreJobBuilder.target(entry, policy: p) else { return nil }
            return TargetIdentity(source: t)
        })
        func order(_ o: some KubeResource) -> (Date, String) { (o.metadata.creationTimestamp?.date ?? .distantPast, o.metadata.name ?? "") }
        return drillRuns
            .filter { drill in
                guard drill.status?.phase != .completed, drill.status?.phase == .running || order(drill) < order(request) else { return false }
                if names.contains(drill.spec.policyRef.name) { return true }
                guard let p = self.policies.cache.get(namespace: ns, name: drill.spec.policyRef.name) else { return false }
                let touched = [TargetIdentity(source: p.spec.source), (try? DrillPlanner.scratch(drill.spec, policy: p).get()).flatMap { TargetIdentity(source: $0) }]
                return touched.contains { $0.map(targets.contains) == true }
            }
            .min { order($0) < order($1) }.map { "DrillRun \($0.metadata.name ?? "")" }
    }

    func perform(_ actions: [RestoreAction], namespace: String, logger: Logger) async throws {
        let children = ChildJobs(client: client, namespace: namespace)
        let helper = Workloads(client: client, namespace: namespace)
        for action in actions {
            switch action {
            case .createJob(let job): try await children.createOrAdopt(job, logger: logger)
            case .scale(let ref, let replicas):
                logger.info("scaling workload", metadata: ["workload": "\(ref.key)", "replicas": "\(replicas)"])
                try await helper.scale(ref, to: replicas)
            }
        }
    }
}
