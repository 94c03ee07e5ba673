import DynamicJSON

/// Is a Deployment, StatefulSet or DaemonSet where we want it? The pure half of the workload helpers:
/// decided from the object as JSON (what the API returns), so tables of real-shaped statuses
/// test it. Follows `kubectl rollout status`: nothing counts before the controller has observed
/// the current generation; a Deployment past its progress deadline is stalled, not "still going".
public enum RolloutState: Sendable, Hashable {
    case done
    /// Still moving; the text says what is awaited (for a step's message).
    case progressing(String)
    /// Will not finish without help; the text says why (for a Failed condition).
    case stalled(String)

    public var isDone: Bool { self == .done }

    /// A rollout (after a restart or a scale): every replica updated and ready.
    public static func rollout(_ object: JSONValue) -> RolloutState {
        let (kind, name, status) = parts(object)
        if let early = observedAndProgressing(object, name: name) { return early }
        let want = object["spec"]?["replicas"]?.intValue ?? 1
        let updated = status["updatedReplicas"]?.intValue ?? 0
        let total = status["replicas"]?.intValue ?? 0
        let ready = status["readyReplicas"]?.intValue ?? 0
        if kind == "DaemonSet" {
            let desired = status["desiredNumberScheduled"]?.intValue ?? 0
            let current = status["updatedNumberScheduled"]?.intValue ?? 0
            let available = status["numberAvailable"]?.intValue ?? 0
            if current < desired { return .progressing("\(name): \(current) of \(desired) pods updated") }
            if available < desired { return .progressing("\(name): \(available) of \(desired) updated pods are available") }
            return .done
        }
        if kind == "StatefulSet" {
            if ready < want { return .progressing("\(name): \(ready) of \(want) replicas ready") }
            // The StatefulSet controller sets currentRevision to updateRevision once every pod has it.
            if let update = status["updateRevision"]?.stringValue, let current = status["currentRevision"]?.stringValue,
               update != current {
                return .progressing("\(name): \(updated) of \(want) pods at revision \(update)")
            }
            return .done
        } else {
            if updated < want { return .progressing("\(name): \(updated) of \(want) replicas updated") }
            if total > updated { return .progressing("\(name): \(total - updated) old replicas are pending termination") }
            let available = status["availableReplicas"]?.intValue ?? 0
            if available < updated { return .progressing("\(name): \(available) of \(updated) updated replicas are available") }
        }
        if ready < want { return .progressing("\(name): \(ready) of \(want) replicas ready") }
        return .done
    }

    /// After restoring saved replicas: the controller observed the scale and `want` are ready.
    public static func scaled(_ object: JSONValue, to want: Int64) -> RolloutState {
        let (_, name, status) = parts(object)
        if let early = observedAndProgressing(object, name: name) { return early }
        let ready = status["readyReplicas"]?.intValue ?? 0
        let total = status["replicas"]?.intValue ?? 0
        if ready < want { return .progressing("\(name): \(ready) of \(want) replicas ready") }
        if total > want { return .progressing("\(name): \(total - want) extra replicas terminating") }
        return .done
    }

    static func parts(_ object: JSONValue) -> (kind: String, name: String, status: JSONValue) {
        let kind = object["kind"]?.stringValue ?? "Deployment"
        return (kind, "\(kind)/\(object["metadata"]?["name"]?.stringValue ?? "")", object["status"] ?? [:])
    }

    /// What holds before any replica count means anything: the controller has seen the
    /// current generation, and it has not given up (Progressing=False). nil: look at the counts.
    static func observedAndProgressing(_ object: JSONValue, name: String) -> RolloutState? {
        let generation = object["metadata"]?["generation"]?.intValue ?? 0
        let status = object["status"] ?? [:]
        guard (status["observedGeneration"]?.intValue ?? 0) >= generation else {
            return .progressing("\(name): waiting for its controller to observe generation \(generation)")
        }
        let conditions = status["conditions"]?.arrayValue ?? []
        if let stuck = conditions.first(where: { $0["type"]?.stringValue == "Progressing" && $0["status"]?.stringValue == "False" }) {
            return .stalled("\(name): \(stuck["reason"]?.stringValue ?? "NotProgressing")"
                            + (stuck["message"]?.stringValue.map { ": \($0)" } ?? ""))
        }
        return nil
    }

    /// Pods that will not become ready on their own (for "report why not"): a container
    /// waiting in CrashLoopBackOff, ImagePullBackOff, ErrImagePull or CreateContainerConfigError.
    public static func podProblems(_ pods: [JSONValue]) -> [String] {
        let hopeless: Set<String> = ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError",
                                     "InvalidImageName"]
        return pods.flatMap { pod -> [String] in
            let name = pod["metadata"]?["name"]?.stringValue ?? "pod"
            return (pod["status"]?["containerStatuses"]?.arrayValue ?? []).compactMap { c in
                guard let reason = c["state"]?["waiting"]?["reason"]?.stringValue, hopeless.contains(reason) else { return nil }
                return "\(name)/\(c["name"]?.stringValue ?? "?"): \(reason)"
            }
        }
    }
}
