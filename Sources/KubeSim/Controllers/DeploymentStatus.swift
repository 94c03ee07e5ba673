import DynamicJSON
import Foundation

/// Deployment status from its ReplicaSets, and the Progressing condition's clock: progress
/// (more updated, ready or available Pods, fewer old ones) renews `lastUpdateTime`; no progress
/// for `progressDeadlineSeconds` turns it False with ProgressDeadlineExceeded, as kube does.
extension StoreState {
    mutating func writeDeploymentStatus(_ key: ObjectKey, _ d: JSONValue, newName: String, progressReason: (String, String)?,
                                        replicas: Int64, unavailable: Int64) -> TimeInterval?
    {
        guard let uid = d["metadata"]?["uid"]?.stringValue, let current = tables[Self.deploymentsGR]?[key] else { return nil }
        let sets = controlled(Self.replicaSetsGR, by: uid)
        func sum(_ field: String) -> Int64 { sets.reduce(0) { $0 + ($1["status"]?[field]?.intValue ?? 0) } }
        let updated = sets.first { $0["metadata"]?["name"]?.stringValue == newName }?["status"]?["replicas"]?.intValue ?? 0
        let total = sum("replicas"), ready = sum("readyReplicas"), available = sum("availableReplicas")
        let old = current["status"] ?? [:]
        let now = JSONValue.string(Timestamp.format(clock.now))
        let deadline = d["spec"]?["progressDeadlineSeconds"]?.intValue
        var status = old
        status["observedGeneration"] = d["metadata"]?["generation"] ?? 1
        status["replicas"] = .int(total)
        status["updatedReplicas"] = .int(updated)
        status["readyReplicas"] = .int(ready)
        status["availableReplicas"] = .int(available)
        status["unavailableReplicas"] = total - available > 0 || replicas - available > 0 ? .int(max(total, replicas) - available) : nil
        let conditions = old["conditions"]?.arrayValue ?? []
        func previous(_ type: String) -> JSONValue? { conditions.first { $0["type"]?.stringValue == type } }
        func condition(_ type: String, _ value: Bool, _ reason: String, _ message: String, touch: Bool) -> JSONValue {
            let prev = previous(type)
            let status: JSONValue = value ? "True" : "False"
            let same = prev?["status"] == status && prev?["reason"]?.stringValue == reason && prev?["message"]?.stringValue == message
            return ["type": .string(type), "status": status, "reason": .string(reason), "message": .string(message),
                    "lastUpdateTime": same && !touch ? prev?["lastUpdateTime"] ?? now : now,
                    "lastTransitionTime": prev?["status"] == status ? prev?["lastTransitionTime"] ?? now : now]
        }
        let minAvailable = available >= replicas - unavailable
        let availableCondition = minAvailable
            ? condition("Available", true, "MinimumReplicasAvailable", "Deployment has minimum availability.", touch: false)
            : condition("Available", false, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", touch: false)
        let complete = updated == replicas && total == replicas && available == replicas
        let oldOld = (old["replicas"]?.intValue ?? 0) - (old["updatedReplicas"]?.intValue ?? 0)
        let progressed = updated > (old["updatedReplicas"]?.intValue ?? 0) || total - updated < oldOld
            || ready > (old["readyReplicas"]?.intValue ?? 0) || available > (old["availableReplicas"]?.intValue ?? 0)
        let prev = previous("Progressing")
        var progressing: JSONValue?
        var recheck: TimeInterval?
        if complete {
            progressing = condition("Progressing", true, "NewReplicaSetAvailable", "ReplicaSet \(goQuote(newName)) has successfully progressed.", touch: false)
        } else if let (reason, message) = progressReason {
            progressing = condition("Progressing", true, reason, message, touch: true)
        } else if progressed {
            progressing = condition("Progressing", true, "ReplicaSetUpdated", "ReplicaSet \(goQuote(newName)) is progressing.", touch: true)
        } else if let prev, prev["reason"]?.stringValue != "NewReplicaSetAvailable" || prev["status"]?.stringValue != "True" {
            progressing = prev
            if prev["reason"]?.stringValue != "ProgressDeadlineExceeded", let deadline,
               let since = prev["lastUpdateTime"]?.stringValue.flatMap(Timestamp.parse)
            {
                let left = since.addingTimeInterval(TimeInterval(deadline)).timeIntervalSince(clock.now)
                if left <= 0 {
                    progressing = condition("Progressing", false, "ProgressDeadlineExceeded",
                                            "ReplicaSet \(goQuote(newName)) has timed out progressing.", touch: true)
                } else {
                    recheck = left
                }
            }
        } else {
            // Complete before and no progress yet (e.g. just scaled): the deadline runs from now.
            progressing = condition("Progressing", true, "ReplicaSetUpdated", "ReplicaSet \(goQuote(newName)) is progressing.", touch: true)
        }
        if let p = progressing, p["status"]?.stringValue == "True", p["reason"]?.stringValue != "NewReplicaSetAvailable", recheck == nil,
           let deadline, let since = p["lastUpdateTime"]?.stringValue.flatMap(Timestamp.parse)
        {
            recheck = max(0.05, since.addingTimeInterval(TimeInterval(deadline)).timeIntervalSince(clock.now))
        }
        status["conditions"] = .array([availableCondition] + (progressing.map { [$0] } ?? []))
        writeStatus(Self.deploymentsGR, key, manager: "kube-controller-manager") { $0 = status }
        return recheck
    }
}
