import DynamicJSON
import Foundation

/// The ReplicaSet controller step: as many live Pods as `spec.replicas` (not-ready and newest
/// deleted first, as kube's ranking mostly does), and status counted from them.
extension StoreState {
    /// Returns when to sync again (a ready Pod becomes available after `minReadySeconds`).
    mutating func syncReplicaSet(_ key: ObjectKey) -> TimeInterval? {
        guard let rs = tables[Self.replicaSetsGR]?[key], rs["metadata"]?["deletionTimestamp"] == nil,
              let uid = rs["metadata"]?["uid"]?.stringValue else { return nil }
        let replicas = rs["spec"]?["replicas"]?.intValue ?? 1
        let pods = controlled(Self.podsGR, by: uid)
        var live = pods.filter(Self.isActive)
        let template = rs["spec"]?["template"] ?? [:]
        if live.count < replicas {
            for _ in 0..<(replicas - Int64(live.count)) {
                guard let pod = createPod(from: template, namespace: key.namespace, name: nil, generateName: "\(key.name)-",
                                          extraLabels: [:], owner: rs, ownerKind: "ReplicaSet") else { break }
                live.append(pod)
                recordEvent(about: rs, type: "Normal", reason: "SuccessfulCreate",
                            message: "Created pod: \(pod["metadata"]?["name"]?.stringValue ?? "")", component: "replicaset-controller")
            }
        } else if live.count > replicas {
            let ranked = live.sorted { a, b in
                let (ra, rb) = (Self.podReady(a), Self.podReady(b))
                if ra != rb { return !ra }
                return (a["metadata"]?["creationTimestamp"]?.stringValue ?? "", a["metadata"]?["name"]?.stringValue ?? "")
                    > (b["metadata"]?["creationTimestamp"]?.stringValue ?? "", b["metadata"]?["name"]?.stringValue ?? "")
            }
            for pod in ranked.prefix(Int(Int64(live.count) - replicas)) {
                deletePod(pod)
                recordEvent(about: rs, type: "Normal", reason: "SuccessfulDelete",
                            message: "Deleted pod: \(pod["metadata"]?["name"]?.stringValue ?? "")", component: "replicaset-controller")
                live.removeAll { $0["metadata"]?["uid"] == pod["metadata"]?["uid"] }
            }
        }
        let minReady = rs["spec"]?["minReadySeconds"]?.intValue ?? 0
        let waits = live.compactMap { availableIn($0, minReady: minReady) }
        let ready = live.filter(Self.podReady).count
        let available = waits.filter { $0 == 0 }.count
        let generation = rs["metadata"]?["generation"]?.intValue ?? 1
        writeStatus(Self.replicaSetsGR, key, manager: "kube-controller-manager") { s in
            s["replicas"] = .int(Int64(live.count))
            s["fullyLabeledReplicas"] = .int(Int64(live.count))
            s["readyReplicas"] = .int(Int64(ready))
            s["availableReplicas"] = .int(Int64(available))
            s["observedGeneration"] = .int(generation)
        }
        return waits.filter { $0 > 0 }.min()
    }
}
