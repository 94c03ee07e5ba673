import BackstopCore
import KubeModel

/// The one JSON document every `backstop agent <command> --spec` reads: the relevant part of
/// the custom resource plus resolved Secret file paths. Each command uses the fields it
/// needs and rejects a spec missing them.
public struct AgentSpec: Codable, Sendable {
    /// The BackupPolicy name: the folder of its artifacts (`<prefix>/<policy>/…`).
    public var policy: String?
    public var job: JobReference?
    /// Where artifacts live. `destination` (the CRD's word) is accepted as a synonym.
    public var store: StoreSpec?
    public var destination: StoreSpec?
    /// backup: what to back up.
    public var source: SourceSpec?
    /// backup: an explicit artifact id (`yyyymmddThhmmssZ-xxxx`), e.g. derived from the Job; default: now + random.
    public var id: String?
    public var labels: [String: String]?
    public var pinned: Bool?
    /// backup: inline checks; verify/restore: artifact and post-restore checks.
    public var verify: VerifySpec?
    /// verify/restore: which artifact (`latest`, `latest-verified`, an id, `{before: time}`); `backup` is a synonym.
    public var artifact: ArtifactSelector?
    public var backup: ArtifactSelector?
    /// restore (and verify of a restored database): where the data goes / is.
    public var target: TargetSpec?
    /// restore: `clean` (pg_restore --clean --if-exists into an existing database) or `create` (new database; refused if it exists).
    public var mode: String?
    /// prune.
    public var retention: RetentionRules?
    /// prune: artifact ids a running RestoreRequest or DrillRun uses; kept whatever the rules say.
    public var inUse: [String]?
    public var timeZone: String?
    public var dryRun: Bool?
    /// cleanup.
    public var targets: [CleanupTargetSpec]?
    /// drill: write or remove a marker, drop a scratch target.
    public var drill: DrillAgentSpec?
    /// rotate.
    public var rotation: RotationAgentSpec?
    /// Overrides the clock (RFC 3339); for tests and reproducible dry runs.
    public var now: String?

    public init(policy: String? = nil, job: JobReference? = nil, store: StoreSpec? = nil, source: SourceSpec? = nil) {
        self.policy = policy
        self.job = job
        self.store = store
        self.source = source
    }
}

public struct StoreSpec: Codable, Sendable {
    public var s3: S3StoreSpec?
    public var volume: VolumeStoreSpec?

    public init(s3: S3StoreSpec? = nil, volume: VolumeStoreSpec? = nil) {
        self.s3 = s3
        self.volume = volume
    }
}

/// A mounted directory (the Job mounts the PVC at `path`).
public struct VolumeStoreSpec: Codable, Sendable, Hashable {
    public var path: String
    public var prefix: String?

    public init(path: String, prefix: String? = nil) {
        self.path = path
        self.prefix = prefix
    }
}

/// How to reach an S3-compatible server: the part every S3 spec shares (artifact store, bucket
/// mirror source), written inline in its parent's JSON. The key files are paths of mounted
/// Secret keys; without them the agent refuses the spec (`SpecInvalid`), not the decoder.
public struct S3Connection: Codable, Sendable, Hashable {
    public var endpoint: String
    public var region: String?
    public var accessKeyIdFile: String?
    public var secretAccessKeyFile: String?
    /// Idle timeout per request in seconds (default 60): a stalled server fails the transfer.
    public var timeoutSeconds: Int?

    public init(endpoint: String, region: String? = nil, accessKeyIdFile: String?, secretAccessKeyFile: String?,
                timeoutSeconds: Int? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.accessKeyIdFile = accessKeyIdFile
        self.secretAccessKeyFile = secretAccessKeyFile
        self.timeoutSeconds = timeoutSeconds
    }
}

extension S3Connection {
    /// A connection whose key files must be given (a restore target's, a cleanup's): a spec
    /// without them is refused as it was before these fields were shared.
    init(requiringKeyFilesFrom decoder: any Decoder) throws {
        let keys = try decoder.container(keyedBy: KeyFiles.self)
        _ = try keys.decode(String.self, forKey: .accessKeyIdFile)
        _ = try keys.decode(String.self, forKey: .secretAccessKeyFile)
        try self.init(from: decoder)
    }

    private enum KeyFiles: String, CodingKey { case accessKeyIdFile, secretAccessKeyFile }
}

/// An S3-compatible bucket holding artifacts: `{endpoint, region, …key files, bucket, prefix}`.
public struct S3StoreSpec: Codable, Sendable, Hashable {
    public var connection: S3Connection
    public var bucket: String
    public var prefix: String?

    public init(connection: S3Connection, bucket: String, prefix: String? = nil) {
        self.connection = connection
        self.bucket = bucket
        self.prefix = prefix
    }

    public init(from decoder: any Decoder) throws {
        connection = try S3Connection(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bucket = try c.decode(String.self, forKey: .bucket)
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
    }

    public func encode(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bucket, forKey: .bucket)
        try c.encodeIfPresent(prefix, forKey: .prefix)
    }

    enum CodingKeys: String, CodingKey { case bucket, prefix }
}

public struct SourceSpec: Codable, Sendable {
    public var postgres: PostgresSourceSpec?
    public var redis: RedisSourceSpec?
    public var volume: VolumeSourceSpec?
    public var clickhouse: ClickHouseSourceSpec?
    /// A bucket mirror (incremental snapshots); its objects are stored beside the artifacts.
    public var s3: S3MirrorSourceSpec?

    public init(postgres: PostgresSourceSpec? = nil, redis: RedisSourceSpec? = nil, volume: VolumeSourceSpec? = nil,
                clickhouse: ClickHouseSourceSpec? = nil, s3: S3MirrorSourceSpec? = nil) {
        self.postgres = postgres
        self.redis = redis
        self.volume = volume
        self.clickhouse = clickhouse
        self.s3 = s3
    }
}

public struct TargetSpec: Codable, Sendable {
    public var postgres: PostgresTargetSpec?
    public var redis: RedisTargetSpec?
    public var volume: VolumeTargetSpec?
    public var clickhouse: ClickHouseTargetSpec?
    public var s3: S3MirrorTargetSpec?

    public init(postgres: PostgresTargetSpec? = nil, redis: RedisTargetSpec? = nil, volume: VolumeTargetSpec? = nil,
                clickhouse: ClickHouseTargetSpec? = nil, s3: S3MirrorTargetSpec? = nil) {
        self.postgres = postgres
        self.redis = redis
        self.volume = volume
        self.clickhouse = clickhouse
        self.s3 = s3
    }
}

public struct VerifySpec: Codable, Sendable {
    public var checksum: Bool?
    public var listContents: Bool?
    public var minSizeBytes: Int64?
    /// After a restore (or against `target`): compare row counts with the manifest's.
    public var rowCounts: Bool?
    /// `{name, query, expect}` (KubeModel's type: the CRD and the agent spell it alike).
    public var sql: [SQLCheck]?
    /// verify: write the outcome into the manifest (default true).
    public var record: Bool?
    /// verify against `target`: a drill's marker id that must be there (see `DrillAgentSpec`).
    public var marker: String?
    /// verify after a Redis restore: the running server (`source.redis`) holds as many keys as
    /// the backup recorded (`DBSIZE`), checked before the writers are started again.
    public var liveKeyCount: Bool?

    public init(checksum: Bool? = nil, listContents: Bool? = nil, minSizeBytes: Int64? = nil, rowCounts: Bool? = nil,
                sql: [SQLCheck]? = nil, record: Bool? = nil) {
        self.checksum = checksum
        self.listContents = listContents
        self.minSizeBytes = minSizeBytes
        self.rowCounts = rowCounts
        self.sql = sql
        self.record = record
    }
}
