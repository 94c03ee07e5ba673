import DynamicJSON
import Foundation
import Synchronization

/// Runs the enabled simulated controllers, each a task reading its own stream of store events.
/// Their steps are short in-memory store operations; Pod processes run under the kubelet on
/// their own threads (see `Kubelet`).
final class ControllerSet: Sendable {
    let store: Store
    let clock: SimClock
    let options: KubeSimOptions
    let dataDirectory: URL
    let podLogs: PodLogs
    let jobConfig: JobRunnerConfig
    private let tasks = Mutex<[Task<Void, Never>]>([])
    private let cancels = Mutex<[@Sendable () -> Void]>([])
    let kubelet: Kubelet?
    let jobController: JobController?
    let workloads: WorkloadControllers?

    init(store: Store, clock: SimClock, options: KubeSimOptions, dataDirectory: URL, podLogs: PodLogs, jobConfig: JobRunnerConfig) {
        self.store = store
        self.clock = clock
        self.options = options
        self.dataDirectory = dataDirectory
        self.podLogs = podLogs
        self.jobConfig = jobConfig
        let c = options.controllers
        let podWorkloads = c.workloads && !c.instantRollouts
        let kubelet = c.jobRunner || podWorkloads
            ? Kubelet(store: store, clock: clock, dataDirectory: dataDirectory, podLogs: podLogs, config: jobConfig, options: options.kubelet)
            : nil
        self.kubelet = kubelet
        jobController = c.jobRunner ? kubelet.map { JobController(store: store, retryDelay: options.jobRunner.retryDelay, kubelet: $0) } : nil
        workloads = podWorkloads ? WorkloadControllers(store: store) : nil
    }

    static let namespacesGR = GroupResource(group: "", resource: "namespaces")

    func start() {
        let c = options.controllers
        if c.garbageCollector {
            run { store in store.withStateQuiet { $0.gcScanAll() } } onEvent: { store, event in
                let ref = StoredRef(resource: event.resource, key: StoreState.key(of: event.object))
                store.withStateQuiet { s in
                    switch event.type {
                    case .deleted:
                        if let uid = event.object["metadata"]?["uid"]?.stringValue {
                            for dep in s.dependents[uid] ?? [] { s.gcDependent(dep) }
                        }
                        // A blocking dependent went away: its foreground-deleting owners may finish.
                        for owner in event.object["metadata"]?["ownerReferences"]?.arrayValue ?? [] {
                            if let uid = owner["uid"]?.stringValue, let loc = s.uidIndex[uid] { s.gcFinalizers(loc) }
                        }
                    case .added:
                        if event.object["metadata"]?["ownerReferences"] != nil { s.gcDependent(ref) }
                    case .modified:
                        if event.object["metadata"]?["ownerReferences"] != event.oldObject?["metadata"]?["ownerReferences"] {
                            s.gcDependent(ref)
                        }
                        s.gcFinalizers(ref)
                    case .bookmark: break
                    }
                }
            }
        }
        if c.namespaces {
            run { store in
                store.withStateQuiet { s in
                    for key in s.cachedSortedKeys(Self.namespacesGR) { s.finalizeNamespace(key.name) }
                }
            } onEvent: { store, event in
                let ns = event.resource == Self.namespacesGR ? (event.object["metadata"]?["name"]?.stringValue ?? "") : event.namespace
                guard !ns.isEmpty else { return }
                store.withStateQuiet { s in
                    if s.namespaceState(ns) == .terminating { s.finalizeNamespace(ns) }
                }
            }
        }
        if let workloads {
            run { _ in workloads.resync() } onEvent: { _, event in workloads.handle(event) }
        } else if c.workloads {
            run { store in store.withStateQuiet { $0.workloadsScanAll() } } onEvent: { store, event in
                store.withStateQuiet { $0.workloadEvent(event) }
            }
        }
        if c.pvcBinder {
            let dir = dataDirectory.appendingPathComponent("volumes")
            run { store in store.withStateQuiet { $0.bindAllClaims(dataDirectory: dir) } } onEvent: { store, event in
                guard event.resource == GroupResource(group: "", resource: "persistentvolumeclaims"), event.type != .deleted else { return }
                store.withStateQuiet { $0.bindClaim(StoreState.key(of: event.object), dataDirectory: dir) }
            }
        }
        if let kubelet {
            store.withStateQuiet { $0.gracefulPodDeletion = true }
            run { _ in kubelet.resync() } onEvent: { _, event in kubelet.handle(event) }
        }
        if let jobController {
            run { _ in jobController.resync() } onEvent: { _, event in jobController.handle(event) }
        }
    }

    /// Subscribes first, then runs `initial` (so nothing between the scan and the stream is missed),
    /// then handles events in order.
    private func run(initial: @escaping @Sendable (Store) -> Void, onEvent: @escaping @Sendable (Store, StoreEvent) -> Void) {
        let (stream, cancel) = store.events()
        cancels.withLock { $0.append(cancel) }
        let store = self.store
        let task = Task.detached {
            initial(store)
            for await event in stream {
                onEvent(store, event)
            }
        }
        tasks.withLock { $0.append(task) }
    }

    /// Stops the controllers; `keepPods` leaves Pod processes running for the next kubelet to adopt.
    func stop(keepPods: Bool = false) async {
        for cancel in cancels.withLock({ $0 }) { cancel() }
        workloads?.stop()
        if keepPods { kubelet?.detach() } else { kubelet?.stopAll() }
        for task in tasks.withLock({ $0 }) { await task.value }
        store.withStateQuiet { $0.gracefulPodDeletion = false }
    }
}

extension Store {
    /// Runs a controller step; controller steps report nothing to a client, so errors are dropped.
    func withStateQuiet(_ body: (inout StoreState) -> Void) {
        state.withLock { body(&$0) }
    }
}
