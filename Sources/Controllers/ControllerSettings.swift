import Foundation
import KubeRuntime

/// What the controllers need from the process that hosts them (`backstop run`, the demo, tests).
/// Every field has a default so hosts set only what they care about.
public struct ControllerSettings: Sendable {
    /// The image of the agent Jobs: the operator's own image, which contains `backstop agent`.
    /// A policy's `spec.jobTemplate.image` overrides it.
    public var agentImage: String
    /// Where the operator runs (for Events about cluster-scoped matters and the agent's ServiceAccount lookup).
    public var operatorNamespace: String?
    /// The controllers' notion of "now" (schedules, staleness, deadlines). Tests move it forward
    /// to reach the next slot without waiting; production uses the wall clock.
    public var clock: @Sendable () -> Date
    /// Reconcile workers of the BackupPolicy controller.
    public var backupWorkers: Int
    /// How often a policy whose Secret is missing looks again (Secrets are read with GET, not
    /// watched: the control plane keeps no cache of Secret values).
    public var secretRecheckInterval: Duration
    /// Finished Jobs kept per policy and operation (older recorded ones are deleted).
    public var jobHistoryLimit: Int
    /// How long a finished Job may lack a terminated Pod in the cache before its result is
    /// recorded without the agent's result JSON.
    public var resultGracePeriod: Duration
    /// A policy without artifact status (new or re-created) first runs an agent `catalog` Job
    /// to rediscover its store. Benchmarks with many policies on one machine may turn it off.
    public var catalogWhenStatusMissing: Bool
    /// Delivers `spec.notify` webhooks for every controller started with these settings (one
    /// in-flight ledger per process; its `WebhookRetry` sets attempts and backoff).
    public var notifications: NotificationHub

    public static let defaultAgentImage = "ghcr.io/backstop-dev/backstop:0.1.0"

    public init(agentImage: String = ControllerSettings.defaultAgentImage, operatorNamespace: String? = nil,
                clock: @escaping @Sendable () -> Date = { Date() }, backupWorkers: Int = 4,
                secretRecheckInterval: Duration = .seconds(30), jobHistoryLimit: Int = 3,
                resultGracePeriod: Duration = .seconds(30), catalogWhenStatusMissing: Bool = true,
                notifications: NotificationHub = NotificationHub()) {
        self.agentImage = agentImage
        self.operatorNamespace = operatorNamespace
        self.clock = clock
        self.backupWorkers = backupWorkers
        self.secretRecheckInterval = secretRecheckInterval
        self.jobHistoryLimit = jobHistoryLimit
        self.resultGracePeriod = resultGracePeriod
        self.catalogWhenStatusMissing = catalogWhenStatusMissing
        self.notifications = notifications
    }
}

/// Every controller `backstop run` starts, in registration order.
public func backstopControllers(_ settings: ControllerSettings) -> [ControllerRegistration] {
    [BackupPolicyController.registration(settings), RestoreRequestController.registration(settings),
     DrillRunController.registration(settings), CleanupPolicyController.registration(settings),
     SecretRotationController.registration(settings)]
}
