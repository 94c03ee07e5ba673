import Foundation
import KubeModel

/// The steps of one rotation run, in order. `rollBack` always runs: after a failure or a
/// deletion it undoes whatever was changed (the source, the Secret, the consumers); after a
/// success it has nothing to do.
public enum RotationStep: String, Sendable, Hashable, CaseIterable {
    /// Spec checks that need the cluster: the Secrets named, the admin credential, the consumers listed.
    case validate = "Validate"
    /// The new values (generated, or copied from staged Secrets) and the current ones go to the
    /// pending Secret, owned by the rotation, before anything else changes.
    case generate = "Generate"
    /// An agent Job makes the new password valid at the source (Redis: beside the old one).
    case apply = "Apply"
    /// The target Secret gets the new values (`<key>.previous` the old ones while keepPrevious).
    case update = "Update"
    /// Consumers get a rollout restart, at most maxConcurrent at a time, and must be ready within rollout.timeout.
    case restart = "Restart"
    /// An agent Job logs in with the new password; every consumer is still ready.
    case verify = "Verify"
    /// Redis drops the old password; `.previous` goes unless kept; the pending Secret is deleted.
    case finalize = "Finalize"
    /// The old value re-applied at the source, the Secret restored, the consumers restarted and waited for.
    case rollBack = "RollBack"

    public static let definitions: [StepMachine<RotationStep>.Definition] = [
        .init(.validate), .init(.generate), .init(.apply), .init(.update), .init(.restart), .init(.verify), .init(.finalize),
        .init(.rollBack, always: true),
    ]

    var phase: RotationPhase {
        switch self {
        case .validate, .generate: .generating
        case .apply: .applying
        case .update: .updating
        case .restart: .restarting
        case .verify, .finalize: .verifying
        case .rollBack: .rollingBack
        }
    }

    /// The purpose part of an agent Job's name.
    var jobPurpose: String? {
        switch self {
        case .apply: "apply"
        case .verify: "check"
        case .finalize: "final"
        case .rollBack: "undo"
        default: nil
        }
    }
}

extension RotationPhase {
    static let idle: Self = "Idle"
    static let generating: Self = "Generating"
    static let applying: Self = "Applying"
    static let updating: Self = "Updating"
    static let restarting: Self = "Restarting"
    static let verifying: Self = "Verifying"
    static let rollingBack: Self = "RollingBack"
    static let succeeded: Self = "Succeeded"
    static let failed: Self = "Failed"
    static let rolledBack: Self = "RolledBack"
}

extension WorkloadKind {
    /// Discovered only (a listed workload is a Deployment or a StatefulSet, as the schema says).
    public static let daemonSet: Self = "DaemonSet"
}

/// What the controller saw of the Secrets involved. Values are compared, never carried: the
/// planner learns only "holds the new value" / "holds the old value".
public struct RotationSecrets: Sendable, Hashable {
    /// The target Secret exists, and which of its keys.
    public var targetKeys: Set<String>?
    /// Staged Secrets (`keys[].from`) that exist, with their keys, by name.
    public var staged: [String: Set<String>] = [:]
    /// The admin Secret exists, with its keys.
    public var adminKeys: Set<String>?
    /// The pending Secret of this run exists.
    public var pendingExists = false
    /// Every rotated key of the target holds the pending new value.
    public var targetHoldsNew = false
    /// Every rotated key of the target holds the pending old value (absent keys count as old when they were absent).
    public var targetHoldsOld = false

    public init(targetKeys: Set<String>? = nil, adminKeys: Set<String>? = nil) {
        self.targetKeys = targetKeys
        self.adminKeys = adminKeys
    }
}

/// One consumer as observed now.
public struct ConsumerObservation: Sendable, Hashable {
    /// The rollout-restart annotation on its pod template.
    public var restartedAt: String?
    public var rollout: RolloutState

    public init(restartedAt: String?, rollout: RolloutState) {
        self.restartedAt = restartedAt
        self.rollout = rollout
    }
}

/// Everything one reconcile of a running rotation decides from.
public struct RotationObserved: Sendable {
    public var rotation: SecretRotation
    public var secrets: RotationSecrets
    /// Workloads whose pod template references the Secret (discovery), in a stable order.
    public var discovered: [WorkloadReference]
    /// Every Deployment, StatefulSet and DaemonSet of the namespace, keyed `Kind/name`: a listed
    /// or recorded consumer that is absent here does not exist.
    public var consumers: [String: ConsumerObservation]
    public var jobs: [RotationStep: Job]
    /// Finished Jobs' results by Job name.
    public var results: [String: AgentResult]
    /// An earlier SecretRotation of the same Secret is running: one rotation at a time per Secret.
    public var blockedBy: String?
    public var now: Date

    public init(rotation: SecretRotation, secrets: RotationSecrets, discovered: [WorkloadReference] = [],
                consumers: [String: ConsumerObservation] = [:], jobs: [RotationStep: Job] = [:],
                results: [String: AgentResult] = [:], now: Date) {
        self.rotation = rotation
        self.secrets = secrets
        self.discovered = discovered
        self.consumers = consumers
        self.jobs = jobs
        self.results = results
        self.now = now
    }
}

/// What a step asks the controller to do now.
public enum RotationAction: Sendable, Hashable {
    /// Create the pending Secret (create-only: an existing one is never overwritten).
    case createPending
    case createJob(Job)
    /// Write the pending new values into the target Secret (and the old ones as `.previous`).
    case updateTarget
    /// Write the pending old values back into the target Secret.
    case restoreTarget
    case restart(WorkloadReference, at: Time)
    /// Remove `<key>.previous` from the target (keepPrevious: false, left there by an earlier run).
    case dropPrevious
    case deletePending
}

public enum RotationVerdict: Sendable, Hashable {
    /// Still going: write status (it may have changed: consumers' restart times), then act.
    case running(actions: [RotationAction], message: String?)
    case succeeded(job: String?, message: String?)
    case failed(job: String?, reason: RotationReason, message: String)
}

/// Why a rotation step failed (typed beside the API types, in `SecretRotationConditions`).
public typealias RotationReason = SecretRotationConditions.StepFailure
