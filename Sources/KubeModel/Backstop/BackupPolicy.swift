/// Scheduled backups of one source to one destination, with verification and retention.
public struct BackupPolicy: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: Backstop.group, version: Backstop.version,
                                                  kind: "BackupPolicy", plural: "backuppolicies")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: BackupPolicySpec
    public var status: BackupPolicyStatus?
    public init(metadata: ObjectMeta, spec: BackupPolicySpec, status: BackupPolicyStatus? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct BackupPolicySpec: Codable, Sendable, Hashable {
    /// 5-field cron, a macro (`@daily`) or `@every <duration>`.
    public var schedule: String
    /// IANA zone the cron fields are read in; default `UTC`.
    public var timeZone: String?
    public var suspend: Bool?
    public var concurrencyPolicy: ConcurrencyPolicy?
    public var startingDeadlineSeconds: Int64?
    public var source: BackupSource
    public var destination: BackupDestination
    public var retention: RetentionPolicy?
    public var verify: BackupVerification?
    public var drill: DrillSchedule?
    public var jobTemplate: JobTemplate?
    public var notify: [Notification]?
    public init(schedule: String, source: BackupSource, destination: BackupDestination,
                retention: RetentionPolicy? = nil) {
        self.schedule = schedule
        self.source = source
        self.destination = destination
        self.retention = retention
    }
}

/// Which artifacts to keep. An artifact is kept if ANY keep rule keeps it; `maxAge` then
/// removes anything older; `keepForever` disables pruning.
public struct RetentionPolicy: Codable, Sendable, Hashable {
    public var keepLast: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var maxAge: String?
    public var keepForever: Bool?
    public init(keepLast: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil,
                maxAge: String? = nil, keepForever: Bool? = nil) {
        self.keepLast = keepLast
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.maxAge = maxAge
        self.keepForever = keepForever
    }
}

public struct BackupVerification: Codable, Sendable, Hashable {
    public var checksum: Bool?
    public var listContents: Bool?
    public var minSizeBytes: Int64?
    public var staleAfter: String?
    public init(checksum: Bool? = nil, listContents: Bool? = nil, minSizeBytes: Int64? = nil,
                staleAfter: String? = nil) {
        self.checksum = checksum
        self.listContents = listContents
        self.minSizeBytes = minSizeBytes
        self.staleAfter = staleAfter
    }
}

/// DrillRuns a policy creates on a schedule, like a CronJob creates Jobs.
public struct DrillSchedule: Codable, Sendable, Hashable {
    public var schedule: String
    public var timeZone: String?
    public var suspend: Bool?
    /// Finished DrillRuns kept per policy and result; default 3. The default of the two below.
    public var historyLimit: Int?
    /// Passed DrillRuns kept (like a CronJob's `successfulJobsHistoryLimit`); default `historyLimit`.
    public var passedHistoryLimit: Int?
    /// Failed DrillRuns kept (like a CronJob's `failedJobsHistoryLimit`); default `historyLimit`.
    public var failedHistoryLimit: Int?
    public var template: DrillTemplate
    public init(schedule: String, template: DrillTemplate) {
        self.schedule = schedule
        self.template = template
    }
}

public struct BackupPolicyStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var conditions: [Condition]?
    /// `spec.source` in one line, for printer columns.
    public var source: String?
    public var lastScheduleTime: Time?
    public var lastSuccessfulTime: Time?
    public var lastVerifiedTime: Time?
    /// RFC 3339 text (a string column: kubectl prints future dates as `<invalid>`).
    public var nextScheduleTime: Time?
    public var activeJob: ActiveJob?
    public var lastBackup: BackupRecord?
    public var recentBackups: [BackupRecord]?
    public var artifacts: ArtifactSummary?
    public var retentionPlan: RetentionPlanStatus?
    public var lastPrune: PruneRecord?
    public var lastManualRun: ManualRun?
    /// The newest finished DrillRun of this policy (scheduled or created by hand).
    public var lastDrill: DrillRecord?
    /// Webhook deliveries: what is still to send and how the last one went.
    public var notifications: NotificationStatus?
    public init() {}
}

/// A finished drill as the policy's status shows it.
public struct DrillRecord: Codable, Sendable, Hashable {
    public var name: String
    public var time: Time?
    public var result: DrillResult?
    public var rtoSeconds: Int?
    public var rpoSeconds: Int?
    public var message: String?
    public init(name: String, time: Time? = nil, result: DrillResult? = nil, rtoSeconds: Int? = nil, rpoSeconds: Int? = nil, message: String? = nil) {
        self.name = name
        self.time = time
        self.result = result
        self.rtoSeconds = rtoSeconds
        self.rpoSeconds = rpoSeconds
        self.message = message
    }
}

public struct BackupRecord: Codable, Sendable, Hashable {
    public var id: String
    public var time: Time?
    public var sizeBytes: Int64?
    public var sha256: String?
    public var verified: Bool?
    public var durationSeconds: Double?
    public var job: String?
    public init(id: String, time: Time? = nil, sizeBytes: Int64? = nil, sha256: String? = nil,
                verified: Bool? = nil, durationSeconds: Double? = nil) {
        self.id = id
        self.time = time
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.verified = verified
        self.durationSeconds = durationSeconds
    }
}

public struct ArtifactSummary: Codable, Sendable, Hashable {
    public var count: Int?
    public var totalBytes: Int64?
    public var oldest: Time?
    public var newest: Time?
    public init(count: Int? = nil, totalBytes: Int64? = nil, oldest: Time? = nil, newest: Time? = nil) {
        self.count = count
        self.totalBytes = totalBytes
        self.oldest = oldest
        self.newest = newest
    }
}

public struct RetentionPlanStatus: Codable, Sendable, Hashable {
    public var nextPruneTime: Time?
    public var wouldDelete: [PlannedDeletion]?
    public init(nextPruneTime: Time? = nil, wouldDelete: [PlannedDeletion]? = nil) {
        self.nextPruneTime = nextPruneTime
        self.wouldDelete = wouldDelete
    }
}

public struct PlannedDeletion: Codable, Sendable, Hashable {
    public var id: String
    public var reason: String
    public init(id: String, reason: String) {
        self.id = id
        self.reason = reason
    }
}

public struct PruneRecord: Codable, Sendable, Hashable {
    public var time: Time?
    public var deleted: Int?
    public var kept: Int?
    /// The prune Job (two prunes can finish within one second, so the time cannot tell them apart).
    public var job: String?
    public init(time: Time? = nil, deleted: Int? = nil, kept: Int? = nil, job: String? = nil) {
        self.time = time
        self.deleted = deleted
        self.kept = kept
        self.job = job
    }
}
