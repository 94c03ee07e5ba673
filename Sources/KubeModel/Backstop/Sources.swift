/// What a BackupPolicy backs up: exactly one member is set.
public struct BackupSource: Codable, Sendable, Hashable {
    public var postgres: PostgresSource?
    public var redis: RedisSource?
    public var clickhouse: ClickHouseSource?
    public var s3: S3Source?
    public var volume: VolumeSource?
    public init(postgres: PostgresSource? = nil, redis: RedisSource? = nil, clickhouse: ClickHouseSource? = nil,
                s3: S3Source? = nil, volume: VolumeSource? = nil) {
        self.postgres = postgres
        self.redis = redis
        self.clickhouse = clickhouse
        self.s3 = s3
        self.volume = volume
    }

    /// Names of the members that are set (valid specs have exactly one).
    public var kinds: [String] {
        [postgres.map { _ in "postgres" }, redis.map { _ in "redis" }, clickhouse.map { _ in "clickhouse" },
         s3.map { _ in "s3" }, volume.map { _ in "volume" }].compactMap { $0 }
    }

    /// One line for printer columns (`status.source`), e.g. `postgres://postgres:5432/agentfs`.
    public var summary: String {
        if let p = postgres { return "postgres://\(p.host):\(p.port ?? 5432)/\(p.database)" }
        if let r = redis { return "redis://\(r.host):\(r.port ?? 6379)" }
        if let c = clickhouse { return "clickhouse \(c.url)/\(c.database)" }
        if let s = s3 { return "s3 \(s.endpoint)/\(s.bucket ?? "*")" + (s.prefix.map { "/" + $0 } ?? "") }
        if let v = volume { return "pvc \(v.claimName):\(v.path ?? "/")" }
        return ""
    }
}

public struct PostgresSource: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var database: String
    public var user: String
    public var passwordSecretRef: SecretKeySelector?
    public var sslMode: PostgresSSLMode?
    /// Only these tables (`pg_dump -t`); all when empty.
    public var tables: [String]?
    /// Leave these tables out (`pg_dump -T`).
    public var excludeTables: [String]?
    /// Tables whose row counts are recorded in the manifest (checked after restores).
    public var rowCounts: [String]?
    /// Triggers that must exist (audit immutability): checked at backup and after restore.
    public var guards: [TriggerGuard]?
    public init(host: String, port: Int? = nil, database: String, user: String,
                passwordSecretRef: SecretKeySelector? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.passwordSecretRef = passwordSecretRef
    }
}

public struct TriggerGuard: Codable, Sendable, Hashable {
    public var trigger: String
    public var table: String
    public init(trigger: String, table: String) {
        self.trigger = trigger
        self.table = table
    }
}

public struct RedisSource: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    /// ACL user; the default user when omitted.
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    public init(host: String, port: Int? = nil, passwordSecretRef: SecretKeySelector? = nil) {
        self.host = host
        self.port = port
        self.passwordSecretRef = passwordSecretRef
    }
}

public struct ClickHouseSource: Codable, Sendable, Hashable {
    /// HTTP interface, e.g. `http://clickhouse:8123`.
    public var url: String
    public var database: String
    /// Only these tables; every table of the database when empty.
    public var tables: [String]?
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    /// Only partitions whose newest data is younger than this (date-partitioned tables).
    public var partitionMaxAge: String?
    public init(url: String, database: String, tables: [String]? = nil) {
        self.url = url
        self.database = database
        self.tables = tables
    }
}

public struct S3Source: Codable, Sendable, Hashable {
    public var endpoint: String
    public var region: String?
    /// Path-style addressing (MinIO); default true.
    public var pathStyle: Bool?
    /// One bucket; every bucket the credentials can list when omitted (`mc mirror alias/`).
    public var bucket: String?
    public var prefix: String?
    public var credentialsSecretRef: S3CredentialsRef?
    public init(endpoint: String, bucket: String? = nil, prefix: String? = nil,
                credentialsSecretRef: S3CredentialsRef? = nil) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.credentialsSecretRef = credentialsSecretRef
    }
}

public struct VolumeSource: Codable, Sendable, Hashable {
    public var claimName: String
    /// Directory inside the claim, relative; the whole claim when omitted.
    public var path: String?
    /// Glob patterns left out of the tarball.
    public var exclude: [String]?
    public init(claimName: String, path: String? = nil) {
        self.claimName = claimName
        self.path = path
    }
}

/// Where artifacts go: exactly one member is set.
public struct BackupDestination: Codable, Sendable, Hashable {
    public var s3: S3Destination?
    public var volume: VolumeDestination?
    public init(s3: S3Destination? = nil, volume: VolumeDestination? = nil) {
        self.s3 = s3
        self.volume = volume
    }
    public var kinds: [String] { [s3.map { _ in "s3" }, volume.map { _ in "volume" }].compactMap { $0 } }
}

public struct S3Destination: Codable, Sendable, Hashable {
    public var endpoint: String
    public var bucket: String
    public var prefix: String?
    public var region: String?
    public var pathStyle: Bool?
    public var credentialsSecretRef: S3CredentialsRef?
    public init(endpoint: String, bucket: String, prefix: String? = nil, region: String? = nil,
                credentialsSecretRef: S3CredentialsRef? = nil) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.credentialsSecretRef = credentialsSecretRef
    }
}

public struct VolumeDestination: Codable, Sendable, Hashable {
    public var claimName: String
    public var path: String?
    public init(claimName: String, path: String? = nil) {
        self.claimName = claimName
        self.path = path
    }
}

/// Where a restore or drill writes: exactly one member; every field overrides the policy's
/// source, and omitted fields are taken from it.
public struct RestoreTarget: Codable, Sendable, Hashable {
    public var postgres: PostgresTarget?
    public var redis: RedisTarget?
    public var clickhouse: ClickHouseTarget?
    public var s3: S3Target?
    public var volume: VolumeTarget?
    public init(postgres: PostgresTarget? = nil, redis: RedisTarget? = nil, clickhouse: ClickHouseTarget? = nil,
                s3: S3Target? = nil, volume: VolumeTarget? = nil) {
        self.postgres = postgres
        self.redis = redis
        self.clickhouse = clickhouse
        self.s3 = s3
        self.volume = volume
    }
    public var kinds: [String] {
        [postgres.map { _ in "postgres" }, redis.map { _ in "redis" }, clickhouse.map { _ in "clickhouse" },
         s3.map { _ in "s3" }, volume.map { _ in "volume" }].compactMap { $0 }
    }
}

public struct PostgresTarget: Codable, Sendable, Hashable {
    public var host: String?
    public var port: Int?
    public var database: String?
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    public var sslMode: PostgresSSLMode?
    /// Restore only these tables (`pg_restore -t`).
    public var tables: [String]?
    public init(database: String? = nil) { self.database = database }
}

public struct RedisTarget: Codable, Sendable, Hashable {
    public var host: String?
    public var port: Int?
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    /// The server's data claim and the directory in it that is Redis's `dir`.
    public var claimName: String?
    public var path: String?
    /// The Redis server workload: stopped while `dump.rdb` is replaced, started again after.
    public var workload: WorkloadReference?
    public init(host: String? = nil, port: Int? = nil) {
        self.host = host
        self.port = port
    }
}

public struct ClickHouseTarget: Codable, Sendable, Hashable {
    public var url: String?
    public var database: String?
    public var user: String?
    public var passwordSecretRef: SecretKeySelector?
    /// Restore only these tables.
    public var tables: [String]?
    /// Restore a table under another name: `{traces: traces_restored}`.
    public var renameTables: [String: String]?
    public init(database: String? = nil) { self.database = database }
}

public struct S3Target: Codable, Sendable, Hashable {
    public var endpoint: String?
    public var region: String?
    public var pathStyle: Bool?
    public var credentialsSecretRef: S3CredentialsRef?
    /// Restore only these buckets of a multi-bucket artifact (each to its own name).
    public var buckets: [String]?
    /// Restore into this bucket instead (only with one source bucket: a single-bucket mirror,
    /// or one named in `buckets`); a drill's scratch bucket.
    public var bucket: String?
    /// Write objects under this prefix instead of their original keys' prefix.
    public var prefix: String?
    public init(buckets: [String]? = nil) { self.buckets = buckets }
}

public struct VolumeTarget: Codable, Sendable, Hashable {
    public var claimName: String?
    public var path: String?
    public init(claimName: String? = nil, path: String? = nil) {
        self.claimName = claimName
        self.path = path
    }
}
