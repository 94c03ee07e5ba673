import DynamicJSON
import Foundation
import Synchronization

/// The Deployment, ReplicaSet and StatefulSet controllers over real Pods (the kubelet runs them).
/// Each sync is a short step under the store lock (`syncDeployment`, `syncReplicaSet`,
/// `syncStatefulSet`) that may ask to run again later (progress deadline, minReadySeconds);
/// events route Pods to their owner and ReplicaSets to their Deployment.
final class WorkloadControllers: Sendable {
    enum Kind: Sendable { case deployment, replicaSet, statefulSet }
    let store: Store
    private let queue = DispatchQueue(label: "kube-sim.workloads")
    private let stopped = Atomic<Bool>(false)

    init(store: Store) { self.store = store }

    func resync() {
        let keys = store.read { s in
            (s.sortedKeys(StoreState.deploymentsGR).map { (Kind.deployment, $0) }
                + s.sortedKeys(StoreState.replicaSetsGR).map { (Kind.replicaSet, $0) }
                + s.sortedKeys(StoreState.statefulSetsGR).map { (Kind.statefulSet, $0) })
        }
        for (kind, key) in keys { sync(kind, key) }
    }

    func handle(_ event: StoreEvent) {
        guard event.type != .bookmark else { return }
        let key = StoreState.key(of: event.object)
        switch event.resource {
        case StoreState.deploymentsGR:
            if event.type != .deleted { sync(.deployment, key) }
        case StoreState.replicaSetsGR:
            if event.type != .deleted { sync(.replicaSet, key) }
            if let owner = Self.controller(of: event.object, kind: "Deployment") { sync(.deployment, ObjectKey(namespace: key.namespace, name: owner)) }
        case StoreState.statefulSetsGR:
            if event.type != .deleted { sync(.statefulSet, key) }
        case StoreState.podsGR:
            if let owner = Self.controller(of: event.object, kind: "ReplicaSet") { sync(.replicaSet, ObjectKey(namespace: key.namespace, name: owner)) }
            if let owner = Self.controller(of: event.object, kind: "StatefulSet") { sync(.statefulSet, ObjectKey(namespace: key.namespace, name: owner)) }
        default: break
        }
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func sync(_ kind: Kind, _ key: ObjectKey) {
        guard !stopped.load(ordering: .relaxed) else { return }
        var recheck: TimeInterval?
        store.withStateQuiet { s in
            switch kind {
            case .deployment: recheck = s.syncDeployment(key)
            case .replicaSet: recheck = s.syncReplicaSet(key)
            case .statefulSet: recheck = s.syncStatefulSet(key)
            }
        }
        if let recheck {
            queue.asyncAfter(deadline: .now() + max(0.05, recheck)) { self.sync(kind, key) }
        }
    }

    static func controller(of object: JSONValue, kind: String) -> String? {
        (object["metadata"]?["ownerReferences"]?.arrayValue ?? [])
            .first { $0["kind"]?.stringValue == kind && $0["controller"]?.boolValue == true }?["name"]?.stringValue
    }
}

extension StoreState {
    static let deploymentsGR = GroupResource(group: "apps", resource: "deployments")
    static let replicaSetsGR = GroupResource(group: "apps", resource: "replicasets")
    static let statefulSetsGR = GroupResource(group: "apps", resource: "statefulsets")

    /// Objects of `gr` whose controlling owner has `uid`.
    func controlled(_ gr: GroupResource, by uid: String) -> [JSONValue] {
        (dependents[uid] ?? []).filter { $0.resource == gr }.compactMap { tables[gr]?[$0.key] }.filter { obj in
            (obj["metadata"]?["ownerReferences"]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == uid && $0["controller"]?.boolValue == true }
        }
    }

    static func podReady(_ pod: JSONValue) -> Bool {
        (pod["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True" }
    }

    /// Ready for at least `minReady` seconds; otherwise how long until it will be (nil when not ready).
    func availableIn(_ pod: JSONValue, minReady: Int64) -> TimeInterval? {
        guard Self.podReady(pod) else { return nil }
        guard minReady > 0 else { return 0 }
        let since = (pod["status"]?["conditions"]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }?["lastTransitionTime"]?
            .stringValue.flatMap(Timestamp.parse) ?? clock.now
        return max(0, since.addingTimeInterval(TimeInterval(minReady)).timeIntervalSince(clock.now))
    }

    /// A status write by a simulated controller; false when nothing changed or the write failed.
    @discardableResult
    mutating func writeStatus(_ gr: GroupResource, _ key: ObjectKey, manager: String, _ edit: (inout JSONValue) -> Void) -> Bool {
        guard let type = registry.storageType(gr), let current = tables[gr]?[key] else { return false }
        var status = current["status"] ?? [:]
        edit(&status)
        guard status != current["status"] else { return false }
        return (try? update(type, namespace: key.namespace, name: key.name, subresource: .status,
                            options: WriteOptions(fieldManager: manager)) { old in
            var o = old!
            o["status"] = status
            return o
        }) != nil
    }

    /// A main-resource edit by a simulated controller (replicas, annotations).
    @discardableResult
    mutating func editObject(_ gr: GroupResource, _ key: ObjectKey, manager: String, _ edit: (inout JSONValue) -> Void) -> JSONValue? {
        guard let type = registry.storageType(gr), tables[gr]?[key] != nil else { return nil }
        return try? update(type, namespace: key.namespace, name: key.name, subresource: .main,
                           options: WriteOptions(fieldManager: manager)) { old in
            var o = old!
            edit(&o)
            return o
        }.object
    }

    /// Creates a Pod from a workload's template, on the simulator's node.
    mutating func createPod(from template: JSONValue, namespace: String, name: String?, generateName: String?,
                            extraLabels: [String: JSONValue], owner: JSONValue, ownerKind: String, edit: (inout JSONValue) -> Void = { _ in })
        -> JSONValue?
    {
        guard let podType = registry.storageType(Self.podsGR) else { return nil }
        var labels = template["metadata"]?["labels"]?.objectValue ?? [:]
        for (k, v) in extraLabels { labels[k] = v }
        var meta: JSONValue = ["namespace": .string(namespace), "labels": .object(labels),
                               "ownerReferences": [["apiVersion": "apps/v1", "kind": .string(ownerKind),
                                                    "name": owner["metadata"]?["name"] ?? "", "uid": owner["metadata"]?["uid"] ?? "",
                                                    "controller": true, "blockOwnerDeletion": true]]]
        if let name { meta["name"] = .string(name) }
        if let generateName { meta["generateName"] = .string(generateName) }
        if let annotations = template["metadata"]?["annotations"] { meta["annotations"] = annotations }
        var spec = template["spec"] ?? [:]
        spec["nodeName"] = .string(Kubelet.nodeName)
        var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec]
        edit(&pod)
        return try? create(podType, namespace: namespace, body: pod, options: WriteOptions(fieldManager: "kube-controller-manager")).object
    }

    mutating func deletePod(_ pod: JSONValue) {
        guard let podType = registry.storageType(Self.podsGR), let name = pod["metadata"]?["name"]?.stringValue else { return }
        _ = try? delete(podType, namespace: pod["metadata"]?["namespace"]?.stringValue, name: name, options: DeleteOptions())
    }
}
