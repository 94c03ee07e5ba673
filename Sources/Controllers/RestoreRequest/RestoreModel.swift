import Foundation
import KubeModel

/// The steps of a fenced restore, in order. `resume` always runs (after a failure, a deletion
/// and any operator restart), so writers scaled down by `quiesce` always come back.
public enum RestoreStep: String, Sendable, Hashable, CaseIterable {
    /// Spec checks that need the cluster: the policy, the target, the workloads to quiesce.
    case validate = "Validate"
    /// An agent `verify` Job picks the artifact (selector resolved from the store's manifests)
    /// and checks its integrity; the chosen id, time, sha256 and size go to status first.
    case select = "Select"
    /// Saved replicas written to status, then each workload scaled to 0, then no pod left.
    case quiesce = "Quiesce"
    /// An agent `restore` Job of exactly the selected artifact (sha256 checked before the target is touched).
    case restore = "Restore"
    /// An agent `verify` Job against the target: row counts vs the manifest and the SQL checks.
    case verify = "Verify"
    /// Saved replicas back, then each workload ready again.
    case resume = "Resume"

    public static let definitions: [StepMachine<RestoreStep>.Definition] = [
        .init(.validate), .init(.select), .init(.quiesce), .init(.restore), .init(.verify), .init(.resume, always: true),
    ]

    /// The phase shown while this step runs.
    var phase: RestorePhase {
        switch self {
        case .validate, .select: .pending
        case .quiesce: .quiescing
        case .restore: .restoring
        case .verify: .verifying
        case .resume: .resuming
        }
    }

    /// The purpose part of the step's Job name (agent steps only).
    var jobPurpose: String? {
        switch self {
        case .select: "select"
        case .restore: "restore"
        case .verify: "verify"
        default: nil
        }
    }
}

/// What the controller saw of one workload named in `spec.quiesce`.
public struct WorkloadObservation: Sendable, Hashable {
    /// nil: the workload does not exist.
    public var replicas: Int?
    /// Pods of the workload that still exist (terminating ones included).
    public var podsLeft: Int
    /// Ready at the replicas it was scaled back to?
    public var resumed: RolloutState?

    public init(replicas: Int?, podsLeft: Int = 0, resumed: RolloutState? = nil) {
        self.replicas = replicas
        self.podsLeft = podsLeft
        self.resumed = resumed
    }
}

/// Everything one reconcile decides from.
public struct RestoreObserved: Sendable {
    public var request: RestoreRequest
    /// The first store's policy (`spec.policyRef`).
    public var policy: BackupPolicy?
    /// Every policy the request names, by name (the first store's and `spec.stores`').
    public var policies: [String: BackupPolicy]
    /// The request's agent Jobs by name.
    public var jobs: [String: Job]
    /// Finished Jobs' results by Job name.
    public var results: [String: AgentResult]
    /// Keyed `Deployment/api`, for the fenced workloads.
    public var workloads: [String: WorkloadObservation]
    /// An earlier RestoreRequest still running on the same policy or fencing the same workload:
    /// restores of one target run one at a time, in creation order.
    public var blockedBy: String?
    public var now: Date

    public init(request: RestoreRequest, policy: BackupPolicy?, policies: [String: BackupPolicy]? = nil, jobs: [String: Job] = [:],
                results: [String: AgentResult] = [:], workloads: [String: WorkloadObservation] = [:], now: Date) {
        self.request = request
        self.policy = policy
        self.policies = policies ?? policy.map { [$0.metadata.name ?? "": $0] } ?? [:]
        self.jobs = jobs
        self.results = results
        self.workloads = workloads
        self.now = now
    }
}

/// What a step asks for now.
public enum RestoreAction: Sendable, Hashable {
    case createJob(Job)
    case scale(WorkloadReference, replicas: Int)
}

/// A step's verdict for this reconcile.
public enum StepVerdict: Sendable, Hashable {
    /// Still going: perform the actions (status first when the step just started), look again later.
    case running(actions: [RestoreAction], message: String?)
    case succeeded(job: String?, message: String?)
    case failed(job: String?, reason: RestoreReason, message: String)
}

extension WorkloadReference {
    /// `Deployment/api`: the key of `status.savedReplicas`.
    public var key: String { "\(kind.rawValue)/\(name)" }
}

/// Why a restore step failed (typed beside the API types, in `RestoreRequestConditions`).
public typealias RestoreReason = RestoreRequestConditions.StepFailure

extension RestoreRequestSpec {
    /// The stores this request restores, in order, each as a one-store spec: the one
    /// `policyRef` names, then `stores` (sharing `allowOverwriteSource`).
    public var entries: [RestoreRequestSpec] {
        var first = self
        first.stores = nil
        return [first] + (stores ?? []).map { store in
            var entry = RestoreRequestSpec(policyRef: store.policyRef, backup: store.backup, target: store.target, mode: store.mode,
                                           allowOverwriteSource: allowOverwriteSource)
            entry.verify = store.verify
            return entry
        }
    }

    /// Every workload the restore stops and starts again, in the order they start: each Redis
    /// target's own server (its `dump.rdb` is replaced while it is down), then `quiesce`.
    public var fenced: [WorkloadReference] {
        var all: [WorkloadReference] = []
        for ref in entries.compactMap(\.target?.redis?.workload) + (quiesce ?? []) where !all.contains(ref) { all.append(ref) }
        return all
    }
}
