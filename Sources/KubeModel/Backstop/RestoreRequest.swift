/// A one-shot, fenced restore of one backup. The spec is immutable once created.
public struct RestoreRequest: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: Backstop.group, version: Backstop.version,
                                                  kind: "RestoreRequest", plural: "restorerequests")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: RestoreRequestSpec
    public var status: RestoreRequestStatus?
    public init(metadata: ObjectMeta, spec: RestoreRequestSpec, status: RestoreRequestStatus? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct RestoreRequestSpec: Codable, Sendable, Hashable {
    public var policyRef: LocalObjectReference
    public var backup: BackupSelector?
    public var target: RestoreTarget?
    public var mode: RestoreMode?
    public var allowOverwriteSource: Bool?
    public var quiesce: [WorkloadReference]?
    public var verify: RestoreVerification?
    public var ttlSecondsAfterFinished: Int?
    /// More stores restored under the same fence, in order, after the one `policyRef` names
    /// (a disaster-recovery restore: stop every service once, restore each store, start again).
    public var stores: [RestoreStore]?
    /// Webhooks for this restore's outcome; the policy's `notify` when omitted.
    public var notify: [Notification]?
    public init(policyRef: LocalObjectReference, backup: BackupSelector? = nil, target: RestoreTarget? = nil,
                mode: RestoreMode? = nil, allowOverwriteSource: Bool? = nil) {
        self.policyRef = policyRef
        self.backup = backup
        self.target = target
        self.mode = mode
        self.allowOverwriteSource = allowOverwriteSource
    }
}

/// One more store of a RestoreRequest: what `policyRef`, `backup`, `target`, `mode` and
/// `verify` say for the first one. `allowOverwriteSource` and `quiesce` are the request's.
public struct RestoreStore: Codable, Sendable, Hashable {
    public var policyRef: LocalObjectReference
    public var backup: BackupSelector?
    public var target: RestoreTarget?
    public var mode: RestoreMode?
    public var verify: RestoreVerification?
    public init(policyRef: LocalObjectReference, backup: BackupSelector? = nil, target: RestoreTarget? = nil, mode: RestoreMode? = nil) {
        self.policyRef = policyRef
        self.backup = backup
        self.target = target
        self.mode = mode
    }
}

/// Which artifact: `{}` is the newest; `verifiedOnly` skips unverified ones; `before` picks
/// the newest created at or before a time; `id` names one exactly.
public struct BackupSelector: Codable, Sendable, Hashable {
    public var id: String?
    public var before: Time?
    public var verifiedOnly: Bool?
    public init(id: String? = nil, before: Time? = nil, verifiedOnly: Bool? = nil) {
        self.id = id
        self.before = before
        self.verifiedOnly = verifiedOnly
    }
}

public struct RestoreMode: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Replace what exists (`pg_restore --clean --if-exists`, empty the directory, flush Redis).
    public static let clean: Self = "Clean"
    /// Restore into a new database / empty location; fails if it already holds data.
    public static let create: Self = "Create"
    public static let knownValues: [Self] = [.clean, .create]
}

public struct RestorePhase: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let pending: Self = "Pending"
    public static let quiescing: Self = "Quiescing"
    public static let restoring: Self = "Restoring"
    public static let verifying: Self = "Verifying"
    public static let resuming: Self = "Resuming"
    public static let succeeded: Self = "Succeeded"
    public static let failed: Self = "Failed"
    public static let knownValues: [Self] = [.pending, .quiescing, .restoring, .verifying, .resuming, .succeeded, .failed]
}

public struct RestoreRequestStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var conditions: [Condition]?
    public var phase: RestorePhase?
    /// Name of the step in progress (or the last one), for printer columns.
    public var currentStep: String?
    public var backup: BackupReference?
    /// Replica counts saved BEFORE scaling down, keyed `Deployment/api`.
    public var savedReplicas: [String: Int]?
    public var steps: [StepStatus]?
    public var startedAt: Time?
    public var finishedAt: Time?
    public var durationSeconds: Int?
    public var message: String?
    /// With `spec.stores`: the artifact chosen for each store, in order (the first is `backup`).
    public var backups: [BackupReference]?
    /// Webhook deliveries: what is still to send and how the last one went.
    public var notifications: NotificationStatus?
    public init() {}
}
