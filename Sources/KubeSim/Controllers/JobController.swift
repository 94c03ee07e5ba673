import DynamicJSON
import Foundation

/// The Job controller half of the Job runner: `reconcileJob` under the store lock creates the
/// Pods a Job needs and turns their phases into Job status; the kubelet runs them. Re-checks
/// (deadlines, retry delays, TTL) run on a dispatch queue, never the cooperative pool.
final class JobController: Sendable {
    let store: Store
    let retryDelay: TimeInterval
    let kubelet: Kubelet
    private let queue = DispatchQueue(label: "kube-sim.job-controller")

    init(store: Store, retryDelay: TimeInterval, kubelet: Kubelet) {
        self.store = store
        self.retryDelay = retryDelay
        self.kubelet = kubelet
    }

    func resync() {
        let keys = store.read { $0.sortedKeys(StoreState.jobsGR) }
        for key in keys { reconcile(key) }
    }

    func handle(_ event: StoreEvent) {
        if event.resource == StoreState.jobsGR {
            if event.type == .deleted { return }
            reconcile(StoreState.key(of: event.object))
        } else if event.resource == StoreState.podsGR {
            for owner in event.object["metadata"]?["ownerReferences"]?.arrayValue ?? [] where owner["kind"]?.stringValue == "Job" {
                if let name = owner["name"]?.stringValue {
                    reconcile(ObjectKey(namespace: event.namespace, name: name))
                }
            }
        }
    }

    func reconcile(_ key: ObjectKey) {
        guard kubelet.active else { return }
        var step = JobStep()
        let retryDelay = retryDelay
        store.withStateQuiet { s in step = s.reconcileJob(key, retryDelay: retryDelay) }
        if let after = step.recheckAfter {
            queue.asyncAfter(deadline: .now() + max(0.01, after)) { self.reconcile(key) }
        }
    }
}
