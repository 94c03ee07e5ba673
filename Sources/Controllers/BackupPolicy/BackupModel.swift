import Foundation
import KubeModel

/// The vocabulary shared by the BackupPolicy gatherer, planner and executor: what was observed,
/// and the plan (actions, status, events, metrics, requeue) a reconcile carries out. Values
/// only, so the planner stays a pure function that tests drive without a server.

public enum BackupOperation: String, Sendable, Hashable, CaseIterable {
    case backup, prune, catalog
    /// The `purpose` part of child names (≤ 8 characters).
    var purpose: String { rawValue }
}

/// One reconcile's input: the policy, its Jobs and their Pods (from informer caches), the
/// referenced Secrets (nil when not read this time), and the time.
public struct BackupObserved: Sendable {
    public var policy: BackupPolicy
    public var jobs: [Job]
    public var pods: [Pod]
    /// By Secret name; nil means "not checked in this reconcile".
    public var secrets: [String: SecretState]?
    public var now: Date
    /// Running backup Jobs of OTHER policies in the namespace whose source is the same target
    /// (e.g. two policies of one database): a backup waits for them.
    public var targetBusyWith: [String]
    /// Start a catalog Job for a policy without artifact status (off for large benchmarks).
    public var catalogWhenStatusMissing: Bool
    /// Artifact ids an unfinished RestoreRequest or DrillRun of this policy has chosen: the
    /// next prune keeps them, so retention never deletes a backup while it is being restored.
    public var inUse: [String] = []

    public init(policy: BackupPolicy, jobs: [Job] = [], pods: [Pod] = [], secrets: [String: SecretState]? = nil,
                now: Date, targetBusyWith: [String] = [], catalogWhenStatusMissing: Bool = true) {
        self.policy = policy
        self.jobs = jobs
        self.pods = pods
        self.secrets = secrets
        self.now = now
        self.targetBusyWith = targetBusyWith
        self.catalogWhenStatusMissing = catalogWhenStatusMissing
    }
}

/// Create (or adopt), delete, or mark a Job recorded: the shared `ChildJobAction`.
public typealias BackupAction = ChildJobAction

/// Metric changes a plan implies; the executor applies them after the status write.
public enum BackupMetricUpdate: Sendable, Hashable {
    /// A backup result was recorded (counted once per Job).
    case backupSucceeded(durationSeconds: Double?)
    case backupFailed(durationSeconds: Double?)
    /// Gauges mirrored from status on every reconcile (so they survive restarts).
    /// `staleAfter` in seconds and the last verified time feed the BackupTooOld and
    /// BackupNotVerified alerts.
    case gauges(lastSuccess: Date?, artifacts: Int?, bytes: Int64?, lastVerified: Date? = nil, staleAfterSeconds: Int64? = nil)
}

public struct BackupPlan: Sendable {
    public var status: BackupPolicyStatus
    public var actions: [BackupAction] = []
    public var events: [PlannedEvent] = []
    public var metrics: [BackupMetricUpdate] = []
    /// Look again after this long (the next slot, the stale moment, a Secret recheck); nil waits for a change.
    public var requeueAfter: Duration?
    /// The Secret names the spec references (the gatherer reads them when `wantsSecrets`).
    public var referencedSecrets: [String] = []
    /// True when the plan would start a Job or must re-check Secrets: gather them and plan again.
    public var wantsSecrets = false
    /// True when Secrets are wanted only because a Job starts, and the last read found them
    /// (spec unchanged, not `SecretMissing`): the Job goes first and the Secrets are read after
    /// it, so a run-now does not wait for a GET. A Secret found missing then stops the new Job.
    public var secretsMayFollowStart = false

    public var createdJobs: [Job] {
        actions.compactMap { if case .createJob(let job) = $0 { job } else { nil } }
    }
}

/// Condition type names of a BackupPolicy (the typed kinds and their reasons are
/// `BackupPolicyConditions` in KubeModel).
public enum BackupConditions {
    public static let ready = BackupPolicyConditions.Ready.type
    public static let lastBackupSucceeded = BackupPolicyConditions.LastBackupSucceeded.type
    public static let verified = BackupPolicyConditions.Verified.type
    public static let stale = BackupPolicyConditions.Stale.type
    public static let missedSchedule = BackupPolicyConditions.MissedSchedule.type
}

extension Job {
    var operation: BackupOperation? { labels[BackstopLabels.operation].flatMap(BackupOperation.init(rawValue:)) }
}
