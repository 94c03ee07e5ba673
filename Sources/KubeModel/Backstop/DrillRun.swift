/// Proves a policy's backups restore: marker, backup, list, restore to scratch, verify, clean up;
/// measures RTO and RPO. The spec is immutable once created.
public struct DrillRun: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: Backstop.group, version: Backstop.version,
                                                  kind: "DrillRun", plural: "drillruns")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: DrillRunSpec
    public var status: DrillRunStatus?
    public init(metadata: ObjectMeta, spec: DrillRunSpec, status: DrillRunStatus? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct DrillRunSpec: Codable, Sendable, Hashable {
    public var policyRef: LocalObjectReference
    public var scratch: RestoreTarget
    public var marker: Bool?
    public var freshBackup: Bool?
    public var backup: BackupSelector?
    public var verify: RestoreVerification?
    public var objectives: DrillObjectives?
    public var cleanup: Bool?
    /// Webhooks for this drill's result; the policy's `notify` when omitted (scheduled drills use it).
    public var notify: [Notification]?
    public init(policyRef: LocalObjectReference, scratch: RestoreTarget) {
        self.policyRef = policyRef
        self.scratch = scratch
    }

    /// This spec without the policy reference (what `BackupPolicy.spec.drill.template` holds).
    public var template: DrillTemplate {
        var t = DrillTemplate(scratch: scratch)
        t.marker = marker
        t.freshBackup = freshBackup
        t.backup = backup
        t.verify = verify
        t.objectives = objectives
        t.cleanup = cleanup
        return t
    }
}

/// A DrillRun spec without `policyRef` (the policy fills it in).
public struct DrillTemplate: Codable, Sendable, Hashable {
    public var scratch: RestoreTarget
    public var marker: Bool?
    public var freshBackup: Bool?
    public var backup: BackupSelector?
    public var verify: RestoreVerification?
    public var objectives: DrillObjectives?
    public var cleanup: Bool?
    public init(scratch: RestoreTarget) { self.scratch = scratch }

    public func spec(policy: String) -> DrillRunSpec {
        var s = DrillRunSpec(policyRef: LocalObjectReference(name: policy), scratch: scratch)
        s.marker = marker
        s.freshBackup = freshBackup
        s.backup = backup
        s.verify = verify
        s.objectives = objectives
        s.cleanup = cleanup
        return s
    }
}

public struct DrillObjectives: Codable, Sendable, Hashable {
    /// Longest acceptable restore time, e.g. `30m`.
    public var rto: String?
    /// Largest acceptable age of the newest backup at drill time, e.g. `26h`.
    public var rpo: String?
    public init(rto: String? = nil, rpo: String? = nil) {
        self.rto = rto
        self.rpo = rpo
    }
}

public struct DrillPhase: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let pending: Self = "Pending"
    public static let running: Self = "Running"
    public static let completed: Self = "Completed"
    public static let knownValues: [Self] = [.pending, .running, .completed]
}

public struct DrillResult: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let passed: Self = "Passed"
    public static let failed: Self = "Failed"
    public static let knownValues: [Self] = [.passed, .failed]
}

public struct DrillRunStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var conditions: [Condition]?
    public var phase: DrillPhase?
    public var currentStep: String?
    /// marker, backup, list, restore, verify, cleanup.
    public var steps: [StepStatus]?
    public var backup: BackupReference?
    public var measured: DrillMeasurements?
    public var result: DrillResult?
    public var reasons: [String]?
    public var startedAt: Time?
    public var finishedAt: Time?
    /// The marker written into the live source (what the Cleanup step removes).
    public var marker: DrillMarker?
    /// The on-demand backup the drill asked the policy for (`backstop.dev/run-now` value).
    public var freshBackup: ManualRun?
    /// The outcome, or what the drill waits for, in one sentence.
    public var message: String?
    /// Webhook deliveries: what is still to send and how the last one went.
    public var notifications: NotificationStatus?
    public init() {}
}

public struct DrillMarker: Codable, Sendable, Hashable {
    public var id: String
    public var writtenAt: Time?
    public var removed: Bool?
    public init(id: String, writtenAt: Time? = nil, removed: Bool? = nil) {
        self.id = id
        self.writtenAt = writtenAt
        self.removed = removed
    }
}

public struct DrillMeasurements: Codable, Sendable, Hashable {
    public var rtoSeconds: Int?
    public var rpoSeconds: Int?
    public var backupBytes: Int64?
    public var restoreSeconds: Int?
    public init(rtoSeconds: Int? = nil, rpoSeconds: Int? = nil, backupBytes: Int64? = nil, restoreSeconds: Int? = nil) {
        self.rtoSeconds = rtoSeconds
        self.rpoSeconds = rpoSeconds
        self.backupBytes = backupBytes
        self.restoreSeconds = restoreSeconds
    }
}
