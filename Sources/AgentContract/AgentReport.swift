import BackstopCore
import DynamicJSON

/// The result document an agent command prints and writes (cut to 4 KiB) as its termination
/// message. The agent encodes exactly this type and controllers decode it. Every field is
/// optional: a truncated message drops bulky fields first, and a reader must take what is
/// there. Only a source's own `details` stay free-form (their shape is the source kind's).
public struct AgentReport: Codable, Sendable, Hashable {
    public var command: String?
    public var ok: Bool?
    public var exitCode: Int?
    /// `AuthenticationFailed`, `ChecksumMismatch`, … (see docs/agent.md).
    public var reason: String?
    public var message: String?
    /// Fields were dropped to fit the termination message.
    public var truncated: Bool?

    // backup, verify, restore
    public var artifact: ReportedArtifact?
    public var verification: ReportedVerification?
    public var durations: ReportedDurations?
    /// A guard (required trigger) was missing or disabled; the backup still succeeded.
    public var flagged: Bool?
    public var guards: [GuardResult]?
    public var rowCounts: [String: Int64]?
    /// The source kind's own description of what it backed up (tables, objects, …).
    public var details: JSONValue?
    /// restore: what was restored where (database, directory, bucket, …).
    public var target: [String: String]?
    public var warnings: [String]?

    // prune
    public var rules: String?
    public var deleted: Int?
    public var kept: Int?
    public var wouldDelete: [String]?
    public var timeZone: String?
    public var decisions: [RetentionDecisionReport]?
    public var orphansDeleted: [String]?
    public var stalePartialsRemoved: [String]?
    public var stalePartialsWouldRemove: [String]?
    /// Bucket snapshots' shared object copies no kept snapshot lists any more.
    public var objectsDeleted: Int?
    public var objectsWouldDelete: Int?
    public var objectBytesFreed: Int64?

    // catalog
    public var location: String?
    public var count: Int?
    public var totalBytes: Int64?
    public var artifacts: [CatalogEntry]?
    /// Every id, newest first: survives truncation when `artifacts` does not (ids carry their time).
    public var ids: [String]?
    public var pinnedIDs: [String]?
    public var newest: String?
    public var oldest: String?
    /// Artifact keys without a manifest.
    public var orphans: [String]?

    // drill
    public var drill: DrillAgentReport?

    // cleanup
    public var dryRun: Bool?
    public var results: [CleanupTargetReport]?

    // rotate
    public var operation: String?

    public init() {}
}

/// One artifact's retention decision in a prune's report.
public struct RetentionDecisionReport: Codable, Sendable, Hashable {
    public var id: String
    public var keep: Bool
    public var reason: String

    public init(id: String, keep: Bool, reason: String) {
        self.id = id
        self.keep = keep
        self.reason = reason
    }
}

/// One target of `backstop agent cleanup`: what it deleted (or, dry, would delete), or why it failed.
public struct CleanupTargetReport: Codable, Sendable, Hashable {
    /// The target's name in the policy (falls back to a description of the store).
    public var target: String
    public var deleted: Int64?
    public var wouldDelete: Int64?
    public var bytesFreed: Int64?
    public var wouldFreeBytes: Int64?
    /// Items the target held when counted.
    public var total: Int64?
    /// RFC 3339: the oldest and newest timestamp among the items deleted (or that would be).
    public var oldest: String?
    public var newest: String?
    public var durationSeconds: Double?
    public var reason: String?
    public var error: String?
    /// The acknowledged count (`allowDeleteCount`) a real run deleted under: set only when the
    /// limits alone would have refused, so the controller knows the acknowledgment was used.
    public var acknowledged: Int64?

    public init(target: String) { self.target = target }
}

public struct ReportedArtifact: Codable, Sendable, Hashable {
    public var id: String?
    public var key: String?
    public var location: String?
    public var sizeBytes: Int64?
    public var sha256: String?
    /// RFC 3339.
    public var createdAt: String?
    public var format: String?

    public init(id: String, key: String, location: String, sizeBytes: Int64, sha256: String, createdAt: String, format: String) {
        self.id = id
        self.key = key
        self.location = location
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.createdAt = createdAt
        self.format = format
    }
}

public struct ReportedVerification: Codable, Sendable, Hashable {
    public var passed: Bool?
    public var stage: String?
    public var time: String?
    public var checks: [ReportedCheck]?

    public init(_ record: VerificationRecord) {
        passed = record.passed
        stage = record.stage
        time = UTCTimestamp.rfc3339(record.time)
        checks = record.checks.map(ReportedCheck.init)
    }
}

/// One check's outcome.
public struct ReportedCheck: Codable, Sendable, Hashable {
    public var name: String?
    public var passed: Bool?
    public var expected: String?
    public var actual: String?
    public var message: String?

    public init(_ check: CheckResult) {
        name = check.name
        passed = check.passed
        expected = check.expected
        actual = check.actual
        message = check.message
    }
}

public struct ReportedDurations: Codable, Sendable, Hashable {
    public var totalSeconds: Double?
    public var backupSeconds: Double?
    public var stageSeconds: Double?
    public var restoreSeconds: Double?

    public init(backupSeconds: Double? = nil, stageSeconds: Double? = nil, restoreSeconds: Double? = nil) {
        self.backupSeconds = backupSeconds
        self.stageSeconds = stageSeconds
        self.restoreSeconds = restoreSeconds
    }
}

/// One artifact of `backstop agent catalog`.
public struct CatalogEntry: Codable, Sendable, Hashable {
    public var id: String?
    /// RFC 3339.
    public var createdAt: String?
    public var sizeBytes: Int64?
    public var sha256: String?
    public var verified: Bool?
    public var flagged: Bool?
    public var pinned: Bool?
    public var format: String?
    public var key: String?

    public init(id: String?, createdAt: String?, sizeBytes: Int64? = nil, sha256: String? = nil, verified: Bool? = nil,
                flagged: Bool? = nil, pinned: Bool? = nil, format: String? = nil, key: String? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.verified = verified
        self.flagged = flagged
        self.pinned = pinned
        self.format = format
        self.key = key
    }
}
