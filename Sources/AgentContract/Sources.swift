import BackstopCore

/// Connection part of a spec (`source.postgres`, `target.postgres`, cleanup `sql.connection`).
public struct PostgresEndpoint: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var database: String
    public var user: String
    /// Path of the mounted Secret file holding the password.
    public var passwordFile: String?
    /// libpq sslmode: disable, allow, prefer (default), require, verify-ca, verify-full.
    public var sslMode: String?
    /// Directory with pg_dump/pg_restore (e.g. /usr/lib/postgresql/16/bin); else PATH.
    public var bindir: String?

    public init(host: String, port: Int? = nil, database: String, user: String, passwordFile: String? = nil,
                sslMode: String? = nil, bindir: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.passwordFile = passwordFile
        self.sslMode = sslMode
        self.bindir = bindir
    }

    public var identity: [String: String] {
        ["host": host, "port": String(port ?? 5432), "database": database, "user": user]
    }
}

public struct PostgresSourceSpec: Codable, Sendable {
    public var connection: PostgresEndpoint
    /// Tables whose row counts go into the manifest (`table` or `schema.table`).
    public var rowCounts: [String]?
    /// e.g. `{trigger: prevent_audit_mutation, table: agent_audit_log}`; a missing or disabled
    /// trigger flags the backup (it still succeeds).
    public var guards: [TriggerGuard]?
    /// Back up a database without any table (refused by default: usually a wrong name).
    public var allowEmpty: Bool?
    /// Only the tables matching these `pg_dump --table` patterns (all when nil or empty).
    public var tables: [String]?
    /// Leave out the tables matching these `pg_dump --exclude-table` patterns.
    public var excludeTables: [String]?

    public struct TriggerGuard: Codable, Sendable, Hashable {
        public var trigger: String
        public var table: String
        public init(trigger: String, table: String) {
            self.trigger = trigger
            self.table = table
        }
    }

    public init(connection: PostgresEndpoint, rowCounts: [String]? = nil, guards: [TriggerGuard]? = nil, allowEmpty: Bool? = nil,
                tables: [String]? = nil, excludeTables: [String]? = nil) {
        self.connection = connection
        self.rowCounts = rowCounts
        self.guards = guards
        self.allowEmpty = allowEmpty
        self.tables = tables
        self.excludeTables = excludeTables
    }

    /// Accepts the connection fields inline, as the CRD spells them (`postgres: {host, …, rowCounts}`).
    public init(from decoder: any Decoder) throws {
        connection = try PostgresEndpoint(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rowCounts = try c.decodeIfPresent([String].self, forKey: .rowCounts)
        guards = try c.decodeIfPresent([TriggerGuard].self, forKey: .guards)
        allowEmpty = try c.decodeIfPresent(Bool.self, forKey: .allowEmpty)
        tables = try c.decodeIfPresent([String].self, forKey: .tables)
        excludeTables = try c.decodeIfPresent([String].self, forKey: .excludeTables)
    }

    public func encode(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(rowCounts, forKey: .rowCounts)
        try c.encodeIfPresent(guards, forKey: .guards)
        try c.encodeIfPresent(allowEmpty, forKey: .allowEmpty)
        try c.encodeIfPresent(tables, forKey: .tables)
        try c.encodeIfPresent(excludeTables, forKey: .excludeTables)
    }

    enum CodingKeys: String, CodingKey { case rowCounts, guards, allowEmpty, tables, excludeTables }

    /// The pg_dump arguments that select tables: `--table=` and `--exclude-table=` per pattern;
    /// `--strict-names` so a `tables` pattern that matches nothing (a typo) fails the backup
    /// instead of silently leaving that table out.
    public var tableArguments: [String] {
        let only = (tables ?? []).map { "--table=\($0)" }
        return (only.isEmpty ? [] : ["--strict-names"] + only) + (excludeTables ?? []).map { "--exclude-table=\($0)" }
    }
}

public struct RedisSourceSpec: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    /// ACL user (default: the `default` user); needs the SYNC permission.
    public var user: String?
    /// Path of the mounted Secret file holding the password (`requirepass` or the ACL user's).
    public var passwordFile: String?
    public var tls: Bool?
    public var caFile: String?
    /// Back up a Redis without any key (refused by default: usually the wrong instance).
    public var allowEmpty: Bool?

    public init(host: String, port: Int? = nil, user: String? = nil, passwordFile: String? = nil, tls: Bool? = nil,
                caFile: String? = nil, allowEmpty: Bool? = nil) {
        self.host = host
        self.port = port
        self.user = user
        self.passwordFile = passwordFile
        self.tls = tls
        self.caFile = caFile
        self.allowEmpty = allowEmpty
    }
}

public struct ClickHouseSourceSpec: Codable, Sendable, Hashable {
    /// HTTP interface, e.g. `http://clickhouse:8123`.
    public var url: String
    public var database: String
    /// Only these tables (and views); all of the database when omitted or empty.
    public var tables: [String]?
    /// Default `default`.
    public var user: String?
    public var passwordFile: String?
    /// Only partitions whose newest date is younger than this (`7d`), for tables partitioned by a Date/DateTime.
    public var partitionMaxAge: RetentionAge?
    /// An extra SQL condition for every exported table (`ts >= now() - INTERVAL 7 DAY`).
    public var `where`: String?
    /// Rows per Native block requested from the server (default 8192, one granule): the agent
    /// holds at most about two blocks while counting rows.
    public var maxBlockSize: Int?
    public var timeoutSeconds: Int?

    public init(url: String, database: String, tables: [String]? = nil, user: String? = nil, passwordFile: String? = nil,
                partitionMaxAge: RetentionAge? = nil, where filter: String? = nil) {
        self.url = url
        self.database = database
        self.tables = tables
        self.user = user
        self.passwordFile = passwordFile
        self.partitionMaxAge = partitionMaxAge
        self.where = filter
    }
}

/// A bucket mirror: `{endpoint, region, …key files, bucket, prefix, allowEmpty}`.
public struct S3MirrorSourceSpec: Codable, Sendable, Hashable {
    public var connection: S3Connection
    /// nil: every bucket (except the store's own bucket on the same endpoint).
    public var bucket: String?
    public var prefix: String?
    /// Record an empty snapshot (refused by default: usually a wrong bucket or prefix). Without
    /// `bucket`, only a snapshot in which every bucket is empty counts as empty.
    public var allowEmpty: Bool?

    public init(connection: S3Connection, bucket: String?, prefix: String? = nil, allowEmpty: Bool? = nil) {
        self.connection = connection
        self.bucket = bucket
        self.prefix = prefix
        self.allowEmpty = allowEmpty
    }

    public init(from decoder: any Decoder) throws {
        connection = try S3Connection(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bucket = try c.decodeIfPresent(String.self, forKey: .bucket)
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
        allowEmpty = try c.decodeIfPresent(Bool.self, forKey: .allowEmpty)
    }

    public func encode(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(bucket, forKey: .bucket)
        try c.encodeIfPresent(prefix, forKey: .prefix)
        try c.encodeIfPresent(allowEmpty, forKey: .allowEmpty)
    }

    enum CodingKeys: String, CodingKey { case bucket, prefix, allowEmpty }
}

public struct VolumeSourceSpec: Codable, Sendable, Hashable {
    public var path: String
    /// Back up an empty directory (refused by default: usually a volume that is not mounted).
    public var allowEmpty: Bool?
    /// gzip level 1…9 (default 6).
    public var compressionLevel: Int?

    public init(path: String, allowEmpty: Bool? = nil, compressionLevel: Int? = nil) {
        self.path = path
        self.allowEmpty = allowEmpty
        self.compressionLevel = compressionLevel
    }
}
