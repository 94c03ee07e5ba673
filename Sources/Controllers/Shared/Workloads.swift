import DynamicJSON
import Foundation
import KubeClient
import KubeModel

/// Client-side workload operations for steps that fence writers (quiesce/resume) or restart
/// them after a secret rotation. Each call is one API request and returns; "wait" is the
/// caller's step staying `Running` and asking again on its next reconcile (never a sleep in a
/// reconcile). The decisions are `RolloutState`'s, pure and table-tested.
///
/// The order a quiesce must keep (the step machine makes it crash-safe):
/// 1. `replicas(of:)` and write the count to status (the undo information);
/// 2. `scale(_:to: 0)`; 3. `podsLeft(of:)` until 0.
/// Resume: `scale(_:to: saved)` then `scaledState(of:to:)` until `.done`.
public struct Workloads: Sendable {
    public let client: KubeClient
    public let namespace: String
    public static let restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

    public init(client: KubeClient, namespace: String) {
        self.client = client
        self.namespace = namespace
    }

    /// DaemonSets have no typed model here; a rotation discovers and restarts them as JSON.
    public static let daemonSetType = ResourceType(group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets")

    func api(_ kind: WorkloadKind) -> ResourceClient<JSONValue> {
        let type = switch kind.rawValue {
        case "StatefulSet": StatefulSet.resourceType
        case "DaemonSet": Self.daemonSetType
        default: Deployment.resourceType
        }
        return ResourceClient(client: client, type: type, namespace: namespace)
    }

    /// Every workload of `kind` in the namespace (a server without DaemonSets answers 404: none).
    public func list(_ kind: WorkloadKind) async throws(KubeError) -> [JSONValue] {
        do { return try await api(kind).list().items } catch {
            if error.kind == .notFound { return [] }
            throw error
        }
    }

    /// The pods of a workload already fetched (for `RolloutState.podProblems`).
    public func pods(ofWorkload object: JSONValue) async throws(KubeError) -> [JSONValue] {
        try await pods(of: object)
    }

    /// The workload as JSON; a missing one is `KubeError` `.notFound` (a clear condition for the caller).
    public func get(_ ref: WorkloadReference) async throws(KubeError) -> JSONValue {
        try await api(ref.kind).get(ref.name)
    }

    /// `spec.replicas` now (1 when unset, as the API defaults it).
    public func replicas(of ref: WorkloadReference) async throws(KubeError) -> Int {
        Int(try await get(ref)["spec"]?["replicas"]?.intValue ?? 1)
    }

    /// Sets `spec.replicas` through the scale subresource (idempotent).
    public func scale(_ ref: WorkloadReference, to replicas: Int) async throws(KubeError) {
        _ = try await api(ref.kind).scale(ref.name, replicas: replicas)
    }

    /// Pods of the workload (its `spec.selector.matchLabels`) that still exist, terminating ones
    /// included: a writer is fenced only when its process is gone.
    public func podsLeft(of ref: WorkloadReference) async throws(KubeError) -> [String] {
        try await pods(of: try await get(ref)).compactMap { $0["metadata"]?["name"]?.stringValue }.sorted()
    }

    /// The pods `object`'s `spec.selector.matchLabels` selects (none without a selector).
    func pods(of object: JSONValue) async throws(KubeError) -> [JSONValue] {
        let labels = object["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:]
        guard !labels.isEmpty else { return [] }
        let selector = labels.keys.sorted().map { "\($0)=\(labels[$0]?.stringValue ?? "")" }.joined(separator: ",")
        return try await ResourceClient<JSONValue>(client: client, type: Pod.resourceType, namespace: namespace)
            .list(ListOptions(labelSelector: selector)).items
    }

    /// After `scale(_:to:)` back up: ready at the saved count?
    public func scaledState(of ref: WorkloadReference, to replicas: Int) async throws(KubeError) -> RolloutState {
        RolloutState.scaled(try await get(ref), to: Int64(replicas))
    }

    /// `kubectl rollout restart`: a new pod-template annotation, so every pod is replaced.
    /// `at` is recorded by the caller first, so a repeated call writes the same value (no second restart).
    public func restartRollout(_ ref: WorkloadReference, at: Time) async throws(KubeError) {
        let patch: JSONValue = ["spec": ["template": ["metadata": ["annotations": [Self.restartedAtAnnotation: .string(at.rfc3339)]]]]]
        _ = try await api(ref.kind).patch(ref.name, .merge(patch))
    }

    /// After `restartRollout`: done, still going, or stalled (with the pods' reasons when they say more).
    public func rolloutState(of ref: WorkloadReference) async throws(KubeError) -> RolloutState {
        let object = try await get(ref)
        let state = RolloutState.rollout(object)
        guard case .progressing(let text) = state else { return state }
        let problems = RolloutState.podProblems(try await pods(of: object))
        return problems.isEmpty ? state : .stalled(text + "; " + problems.joined(separator: ", "))
    }
}
