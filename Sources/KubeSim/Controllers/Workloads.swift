import DynamicJSON
import Foundation

/// The "instant rollout" workload mode (`Controllers.instantRollouts`, for benchmarks with
/// thousands of workloads): no Pods; every spec change "rolls out" at once, so status shows all
/// replicas updated, ready and available for the current generation. The default mode runs real
/// Pods (`WorkloadControllers`).
/// PVC binding: each claim gets a local directory.
extension StoreState {
    static let workloadResources: Set<GroupResource> = [
        GroupResource(group: "apps", resource: "deployments"), GroupResource(group: "apps", resource: "statefulsets"),
        GroupResource(group: "apps", resource: "replicasets"),
    ]

    mutating func workloadsScanAll() {
        for gr in Self.workloadResources {
            for key in cachedSortedKeys(gr) { reconcileWorkload(gr, key) }
        }
    }

    mutating func workloadEvent(_ event: StoreEvent) {
        guard Self.workloadResources.contains(event.resource), event.type == .added || event.type == .modified else { return }
        reconcileWorkload(event.resource, Self.key(of: event.object))
    }

    /// A short stable hash of the pod template, like the pod-template-hash label.
    static func templateHash(_ template: JSONValue?) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in (template ?? .null).serialized(sortedKeys: true) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<10).map { alphabet[Int((h >> UInt64($0 * 6)) % UInt64(alphabet.count))] })
    }

    mutating func reconcileWorkload(_ gr: GroupResource, _ key: ObjectKey) {
        guard let obj = tables[gr]?[key], obj["metadata"]?["deletionTimestamp"] == nil, let type = registry.storageType(gr) else { return }
        let replicas = obj["spec"]?["replicas"]?.intValue ?? 1
        let generation = obj["metadata"]?["generation"]?.intValue ?? 1
        let now = JSONValue.string(Timestamp.format(clock.now))
        let name = key.name
        let revision = "\(name)-\(Self.templateHash(obj["spec"]?["template"]))"
        var status = obj["status"] ?? [:]
        status["observedGeneration"] = .int(generation)
        status["replicas"] = .int(replicas)
        status["readyReplicas"] = .int(replicas)
        status["availableReplicas"] = .int(replicas)
        switch type.tag {
        case .deployment:
            status["updatedReplicas"] = .int(replicas)
            let old = (status["conditions"]?.arrayValue ?? [])
            func condition(_ t: String, _ reason: String, _ message: String) -> JSONValue {
                let previous = old.first { $0["type"]?.stringValue == t }
                let same = previous?["status"]?.stringValue == "True" && previous?["reason"]?.stringValue == reason
                    && previous?["message"]?.stringValue == message
                return ["type": .string(t), "status": "True", "reason": .string(reason), "message": .string(message),
                        "lastUpdateTime": same ? previous!["lastUpdateTime"] ?? now : now,
                        "lastTransitionTime": previous?["status"]?.stringValue == "True" ? previous!["lastTransitionTime"] ?? now : now]
            }
            status["conditions"] = [
                condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                condition("Progressing", "NewReplicaSetAvailable", "ReplicaSet \(goQuote(revision)) has successfully progressed."),
            ]
        case .statefulSet:
            status["currentReplicas"] = .int(replicas)
            status["updatedReplicas"] = .int(replicas)
            status["currentRevision"] = .string(revision)
            status["updateRevision"] = .string(revision)
            status["collisionCount"] = 0
        case .replicaSet:
            status["fullyLabeledReplicas"] = .int(replicas)
        default: return
        }
        guard status != obj["status"] else { return }
        _ = try? update(type, namespace: key.namespace, name: name, subresource: .status,
                        options: WriteOptions(fieldManager: "kube-controller-manager")) { old in
            var o = old!
            o["status"] = status
            return o
        }
    }

    // MARK: - PVC binding

    static let pvcGR = GroupResource(group: "", resource: "persistentvolumeclaims")

    /// The local directory backing a claim (created on demand).
    static func claimDirectory(uid: String, dataDirectory: URL) -> URL {
        dataDirectory.appendingPathComponent("pvc-\(uid)")
    }

    mutating func bindAllClaims(dataDirectory: URL) {
        for key in cachedSortedKeys(Self.pvcGR) { bindClaim(key, dataDirectory: dataDirectory) }
    }

    mutating func bindClaim(_ key: ObjectKey, dataDirectory: URL) {
        guard let pvc = tables[Self.pvcGR]?[key], pvc["metadata"]?["deletionTimestamp"] == nil,
              pvc["status"]?["phase"]?.stringValue != "Bound", let uid = pvc["metadata"]?["uid"]?.stringValue,
              let type = registry.storageType(Self.pvcGR)
        else { return }
        let dir = Self.claimDirectory(uid: uid, dataDirectory: dataDirectory)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let options = WriteOptions(fieldManager: "kube-controller-manager")
        _ = try? update(type, namespace: key.namespace, name: key.name, subresource: .main, options: options) { old in
            var o = old!
            o[path: ["spec", "volumeName"]] = .string("pvc-\(uid)")
            o[path: ["metadata", "annotations", "pv.kubernetes.io/bind-completed"]] = "yes"
            o[path: ["metadata", "annotations", "kube-sim.dev/local-path"]] = .string(dir.path)
            return o
        }
        _ = try? update(type, namespace: key.namespace, name: key.name, subresource: .status, options: options) { old in
            var o = old!
            o["status"] = ["phase": "Bound", "accessModes": o["spec"]?["accessModes"] ?? [],
                           "capacity": ["storage": o["spec"]?["resources"]?["requests"]?["storage"] ?? "0"]]
            return o
        }
    }
}
