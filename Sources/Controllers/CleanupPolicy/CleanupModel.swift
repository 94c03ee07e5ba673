import Foundation
import KubeModel

/// The vocabulary of the CleanupPolicy gatherer, planner and executor: what was observed and
/// the plan a reconcile carries out. Values only, so `CleanupPlanner` stays a pure function.

/// One reconcile's input: the policy, its Jobs and their Pods (informer caches), the
/// referenced Secrets (nil when not read this time), and the time.
public struct CleanupObserved: Sendable {
    public var policy: CleanupPolicy
    public var jobs: [Job]
    public var pods: [Pod]
    /// By Secret name; nil means "not checked in this reconcile".
    public var secrets: [String: SecretState]?
    public var now: Date

    public init(policy: CleanupPolicy, jobs: [Job] = [], pods: [Pod] = [], secrets: [String: SecretState]? = nil, now: Date) {
        self.policy = policy
        self.jobs = jobs
        self.pods = pods
        self.secrets = secrets
        self.now = now
    }
}

/// Metric changes a plan implies; the executor applies them after the status write.
public enum CleanupMetricUpdate: Sendable, Hashable {
    /// A run's result was recorded (once per Job): items deleted from `target`.
    case deleted(target: String, count: Int64)
    /// Mirrored from status on every reconcile (survives restarts).
    case lastSuccess(Date?)
}

public struct CleanupPlan: Sendable {
    public var status: CleanupPolicyStatus
    public var actions: [ChildJobAction] = []
    public var events: [PlannedEvent] = []
    public var metrics: [CleanupMetricUpdate] = []
    /// Look again after this long (the next slot, a Secret recheck, a result grace); nil waits for a change.
    public var requeueAfter: Duration?
    /// The Secret names the spec references (the gatherer reads them when `wantsSecrets`).
    public var referencedSecrets: [String] = []
    /// True when the plan would start a Job or must re-check Secrets: gather them and plan again.
    public var wantsSecrets = false

    public var createdJobs: [Job] {
        actions.compactMap { if case .createJob(let job) = $0 { job } else { nil } }
    }
}
