/// Age-based deletion in live stores on a schedule, with a dry-run view (not backups).
public struct CleanupPolicy: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: Backstop.group, version: Backstop.version,
                                                  kind: "CleanupPolicy", plural: "cleanuppolicies")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: CleanupPolicySpec
    public var status: CleanupPolicyStatus?
    public init(metadata: ObjectMeta, spec: CleanupPolicySpec, status: CleanupPolicyStatus? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct CleanupPolicySpec: Codable, Sendable, Hashable {
    public var schedule: String
    public var timeZone: String?
    public var suspend: Bool?
    public var dryRun: Bool?
    public var startingDeadlineSeconds: Int64?
    public var targets: [CleanupTarget]
    public var jobTemplate: JobTemplate?
    public var notify: [Notification]?
    public init(schedule: String, targets: [CleanupTarget]) {
        self.schedule = schedule
        self.targets = targets
    }
}

/// One store to prune: a `name` plus exactly one of sql / s3 / volume / clickhouse.
public struct CleanupTarget: Codable, Sendable, Hashable {
    public var name: String
    public var sql: SQLCleanup?
    public var s3: S3Cleanup?
    public var volume: VolumeCleanup?
    public var clickhouse: ClickHouseCleanup?
    /// The guard: a run that would delete more than this share of the target's items (rows,
    /// objects, files or partitions) deletes nothing and fails (default 50).
    public var maxDeletePercent: Int?
    /// The guard's absolute limit (default: none).
    public var maxDeleteCount: Int64?
    public init(name: String, sql: SQLCleanup? = nil, s3: S3Cleanup? = nil, volume: VolumeCleanup? = nil,
                clickhouse: ClickHouseCleanup? = nil) {
        self.name = name
        self.sql = sql
        self.s3 = s3
        self.volume = volume
        self.clickhouse = clickhouse
    }
    public var kinds: [String] {
        [sql.map { _ in "sql" }, s3.map { _ in "s3" }, volume.map { _ in "volume" },
         clickhouse.map { _ in "clickhouse" }].compactMap { $0 }
    }
}

public struct SQLCleanup: Codable, Sendable, Hashable {
    public var connection: PostgresConnection
    public var table: String
    public var timestampColumn: String
    public var maxAge: String
    public var batchSize: Int?
    /// Run `VACUUM (ANALYZE)` on the table after deleting.
    public var vacuum: Bool?
    public init(connection: PostgresConnection, table: String, timestampColumn: String, maxAge: String) {
        self.connection = connection
        self.table = table
        self.timestampColumn = timestampColumn
        self.maxAge = maxAge
    }
}

public struct S3Cleanup: Codable, Sendable, Hashable {
    public var endpoint: String
    public var region: String?
    public var pathStyle: Bool?
    public var bucket: String
    public var prefix: String?
    public var credentialsSecretRef: S3CredentialsRef?
    public var maxAge: String
    public init(endpoint: String, bucket: String, maxAge: String, credentialsSecretRef: S3CredentialsRef? = nil) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.maxAge = maxAge
        self.credentialsSecretRef = credentialsSecretRef
    }
}

public struct VolumeCleanup: Codable, Sendable, Hashable {
    public var claimName: String
    public var path: String?
    /// Only files matching one of these globs; every file when omitted.
    public var include: [String]?
    public var maxAge: String
    public init(claimName: String, path: String? = nil, maxAge: String) {
        self.claimName = claimName
        self.path = path
        self.maxAge = maxAge
    }
}

/// Drops partitions whose newest data is older than `maxAge` (date-partitioned tables).
public struct ClickHouseCleanup: Codable, Sendable, Hashable {
    public var url: String
    public var database: String
    public var table: String
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    public var maxAge: String
    public init(url: String, database: String, table: String, maxAge: String) {
        self.url = url
        self.database = database
        self.table = table
        self.maxAge = maxAge
    }
}

public struct CleanupPolicyStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var conditions: [Condition]?
    public var lastRunTime: Time?
    public var lastSuccessfulTime: Time?
    public var nextRunTime: Time?
    /// Items deleted by the last run, all targets together (printer column).
    public var lastRunDeleted: Int64?
    /// The newest schedule slot already answered (run or skipped).
    public var lastScheduleTime: Time?
    /// The Job whose outcome `results` shows, and whether it was a dry run.
    public var lastRunJob: String?
    public var lastRunDryRun: Bool?
    public var results: [CleanupResult]?
    public var activeJob: ActiveJob?
    public var lastManualRun: ManualRun?
    /// Entries of the `backstop.dev/allow-delete` annotation (`<target>=<count>`) a run has
    /// deleted under: an acknowledgment authorises one run, so these no longer authorise any.
    /// An entry leaves this list once the annotation no longer has it.
    public var allowDeleteUsed: [String]?
    /// Webhook deliveries: what is still to send and how the last one went.
    public var notifications: NotificationStatus?
    public init() {}
}

public struct CleanupResult: Codable, Sendable, Hashable {
    public var target: String
    public var deleted: Int64?
    public var bytesFreed: Int64?
    /// What a dry run would have deleted.
    public var wouldDelete: Int64?
    /// Bytes a dry run would free, where known.
    public var wouldFreeBytes: Int64?
    /// Items the target held when counted (the guard's denominator).
    public var total: Int64?
    /// The oldest and newest timestamp among the items deleted (or that would be).
    public var oldest: Time?
    public var newest: Time?
    public var durationSeconds: Double?
    /// The agent's reason when the target failed (`DeleteLimitExceeded`, `TableMissing`, …).
    public var reason: String?
    public var error: String?
    public init(target: String, deleted: Int64? = nil) {
        self.target = target
        self.deleted = deleted
    }
}
