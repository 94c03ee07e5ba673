import DynamicJSON
import Foundation

/// The Deployment controller step: one ReplicaSet per pod template (`<name>-<pod-template-hash>`,
/// `deployment.kubernetes.io/revision`), RollingUpdate within maxSurge/maxUnavailable or
/// Recreate, status summed from the ReplicaSets, and the Available/Progressing conditions with
/// ProgressDeadlineExceeded — the signals `kubectl rollout status` and a rotation read.
extension StoreState {
    static let revisionAnnotation = "deployment.kubernetes.io/revision"

    /// Returns when to sync again (the progress deadline).
    mutating func syncDeployment(_ key: ObjectKey) -> TimeInterval? {
        guard let d = tables[Self.deploymentsGR]?[key], d["metadata"]?["deletionTimestamp"] == nil,
              let uid = d["metadata"]?["uid"]?.stringValue, let rsType = registry.storageType(Self.replicaSetsGR) else { return nil }
        let spec = d["spec"] ?? [:]
        let replicas = spec["replicas"]?.intValue ?? 1
        let template = spec["template"] ?? [:]
        var sets = controlled(Self.replicaSetsGR, by: uid)
        func revision(_ rs: JSONValue) -> Int64 { Int64(rs["metadata"]?["annotations"]?[Self.revisionAnnotation]?.stringValue ?? "") ?? 0 }
        func withoutHash(_ t: JSONValue?) -> JSONValue {
            var t = t ?? [:]
            t[path: ["metadata", "labels", "pod-template-hash"]] = nil
            if t["metadata"]?["labels"]?.objectValue?.isEmpty == true { t[path: ["metadata", "labels"]] = nil }
            return t
        }
        let maxRevision = sets.map(revision).max() ?? 0
        var progressReason: (String, String)?
        var newRS = sets.first { withoutHash($0["spec"]?["template"]) == withoutHash(template) }
        if newRS == nil {
            let hash = Self.templateHash(withoutHash(template))
            let name = "\(key.name)-\(hash)"
            var rsTemplate = template
            rsTemplate[path: ["metadata", "labels", "pod-template-hash"]] = .string(hash)
            var selector = spec["selector"] ?? [:]
            selector[path: ["matchLabels", "pod-template-hash"]] = .string(hash)
            let body: JSONValue = [
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": ["name": .string(name), "namespace": .string(key.namespace),
                             "labels": rsTemplate["metadata"]?["labels"] ?? [:],
                             "annotations": [Self.revisionAnnotation: .string(String(maxRevision + 1)),
                                             "deployment.kubernetes.io/desired-replicas": .string(String(replicas))],
                             "ownerReferences": [["apiVersion": "apps/v1", "kind": "Deployment", "name": .string(key.name), "uid": .string(uid),
                                                  "controller": true, "blockOwnerDeletion": true]]],
                "spec": ["replicas": 0, "minReadySeconds": spec["minReadySeconds"] ?? 0, "selector": selector, "template": rsTemplate],
            ]
            guard let created = try? create(rsType, namespace: key.namespace, body: body,
                                            options: WriteOptions(fieldManager: "kube-controller-manager")).object else { return nil }
            newRS = created
            sets.append(created)
            progressReason = ("NewReplicaSetCreated", "Created new replica set \(goQuote(name))")
        } else if let found = newRS, revision(found) < maxRevision {
            // Rolled back to an older template: that ReplicaSet becomes the newest revision.
            newRS = editObject(Self.replicaSetsGR, Self.key(of: found), manager: "kube-controller-manager") {
                $0[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(String(maxRevision + 1))
            } ?? found
            sets = sets.map { $0["metadata"]?["uid"] == newRS?["metadata"]?["uid"] ? newRS! : $0 }
            progressReason = ("FoundNewReplicaSet", "Found new replica set \(goQuote(found["metadata"]?["name"]?.stringValue ?? ""))")
        }
        guard let newRS else { return nil }
        let newName = newRS["metadata"]?["name"]?.stringValue ?? ""
        let newRevision = newRS["metadata"]?["annotations"]?[Self.revisionAnnotation]?.stringValue ?? "1"
        if d["metadata"]?["annotations"]?[Self.revisionAnnotation]?.stringValue != newRevision {
            editObject(Self.deploymentsGR, key, manager: "kube-controller-manager") {
                $0[path: ["metadata", "annotations", Self.revisionAnnotation]] = .string(newRevision)
            }
        }
        let old = sets.filter { $0["metadata"]?["uid"] != newRS["metadata"]?["uid"] }
            .sorted { ($0["metadata"]?["creationTimestamp"]?.stringValue ?? "") < ($1["metadata"]?["creationTimestamp"]?.stringValue ?? "") }
        let (surge, unavailable) = Self.rollingBounds(spec, replicas: replicas)
        if spec["paused"]?.boolValue != true {
            scaleForRollout(d, newRS: newRS, old: old, replicas: replicas, surge: surge, unavailable: unavailable)
        }
        trimHistory(old, limit: spec["revisionHistoryLimit"]?.intValue ?? 10)
        return writeDeploymentStatus(key, d, newName: newName, progressReason: progressReason, replicas: replicas, unavailable: unavailable)
    }

    /// maxSurge (rounded up) and maxUnavailable (rounded down), never both 0; Recreate is (0, all).
    static func rollingBounds(_ spec: JSONValue, replicas: Int64) -> (surge: Int64, unavailable: Int64) {
        guard spec["strategy"]?["type"]?.stringValue != "Recreate" else { return (0, replicas) }
        let rolling = spec["strategy"]?["rollingUpdate"] ?? [:]
        func value(_ v: JSONValue?, roundUp: Bool) -> Int64 {
            if let n = v?.intValue { return n }
            let s = v?.stringValue ?? "25%"
            guard s.hasSuffix("%"), let pct = Double(s.dropLast()) else { return Int64(s) ?? 0 }
            let exact = pct * Double(replicas) / 100
            return Int64(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
        let surge = value(rolling["maxSurge"], roundUp: true)
        let unavailable = value(rolling["maxUnavailable"], roundUp: false)
        return (surge, surge == 0 && unavailable == 0 ? 1 : unavailable)
    }

    /// kube's rolling update: scale the new ReplicaSet up within maxSurge, then old ones down
    /// while availability stays at replicas − maxUnavailable (unhealthy old Pods go first).
    private mutating func scaleForRollout(_ d: JSONValue, newRS: JSONValue, old: [JSONValue], replicas: Int64, surge: Int64, unavailable: Int64) {
        func want(_ rs: JSONValue) -> Int64 { rs["spec"]?["replicas"]?.intValue ?? 0 }
        func available(_ rs: JSONValue) -> Int64 { rs["status"]?["availableReplicas"]?.intValue ?? 0 }
        let recreate = d["spec"]?["strategy"]?["type"]?.stringValue == "Recreate"
        var newWant = want(newRS)
        var oldWant = old.map(want)
        if recreate {
            let oldPods = old.reduce(Int64(0)) { $0 + ($1["status"]?["replicas"]?.intValue ?? 0) }
            oldWant = oldWant.map { _ in 0 }
            if oldPods == 0 { newWant = replicas }
        } else {
            if newWant > replicas {
                newWant = replicas
            } else {
                let all = newWant + oldWant.reduce(0, +)
                if all < replicas + surge { newWant = min(newWant + replicas + surge - all, replicas) }
            }
            let minAvailable = replicas - unavailable
            let all = newWant + oldWant.reduce(0, +)
            var budget = all - minAvailable - (newWant - available(newRS))
            for i in old.indices where budget > 0 {
                let unhealthy = oldWant[i] - available(old[i])
                guard unhealthy > 0 else { continue }
                let down = min(budget, unhealthy)
                oldWant[i] -= down
                budget -= down
            }
            let availableNow = available(newRS) + old.reduce(Int64(0)) { $0 + available($1) }
            var extra = min(budget, availableNow - minAvailable)
            for i in old.indices where extra > 0 {
                let down = min(oldWant[i], extra)
                oldWant[i] -= down
                extra -= down
            }
        }
        scale(d, newRS, to: newWant, replicas: replicas)
        for (rs, target) in zip(old, oldWant) { scale(d, rs, to: target, replicas: replicas) }
    }

    private mutating func scale(_ d: JSONValue, _ rs: JSONValue, to target: Int64, replicas: Int64) {
        let current = rs["spec"]?["replicas"]?.intValue ?? 0
        guard target != current else { return }
        editObject(Self.replicaSetsGR, Self.key(of: rs), manager: "kube-controller-manager") {
            $0[path: ["spec", "replicas"]] = .int(target)
            $0[path: ["metadata", "annotations", "deployment.kubernetes.io/desired-replicas"]] = .string(String(replicas))
        }
        let name = rs["metadata"]?["name"]?.stringValue ?? ""
        recordEvent(about: d, type: "Normal", reason: "ScalingReplicaSet",
                    message: "Scaled \(target > current ? "up" : "down") replica set \(name) from \(current) to \(target)",
                    component: "deployment-controller")
    }

    /// Old ReplicaSets with no Pods beyond `revisionHistoryLimit` are deleted, oldest first.
    private mutating func trimHistory(_ old: [JSONValue], limit: Int64) {
        let idle = old.filter { ($0["spec"]?["replicas"]?.intValue ?? 0) == 0 && ($0["status"]?["replicas"]?.intValue ?? 0) == 0 }
        guard idle.count > limit, let rsType = registry.storageType(Self.replicaSetsGR) else { return }
        for rs in idle.prefix(idle.count - Int(limit)) {
            _ = try? delete(rsType, namespace: rs["metadata"]?["namespace"]?.stringValue, name: rs["metadata"]?["name"]?.stringValue ?? "",
                            options: DeleteOptions(propagation: .background))
        }
    }
}
