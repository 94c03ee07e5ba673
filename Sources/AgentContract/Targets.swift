import BackstopCore

public struct PostgresTargetSpec: Codable, Sendable {
    public var connection: PostgresEndpoint
    /// Same as `mode: create`.
    public var create: Bool?
    /// Where CREATE/DROP DATABASE run (default `postgres`).
    public var maintenanceDatabase: String?
    /// pg_restore --no-owner (restore as the connecting user).
    public var noOwner: Bool?
    /// create mode: written as the new database's comment. A database that already exists is
    /// accepted (dropped and created again) only when its comment is this tag: a drill's own
    /// scratch database from an interrupted run, never someone else's.
    public var ownerTag: String?

    public init(connection: PostgresEndpoint, create: Bool? = nil, maintenanceDatabase: String? = nil, noOwner: Bool? = nil) {
        self.connection = connection
        self.create = create
        self.maintenanceDatabase = maintenanceDatabase
        self.noOwner = noOwner
    }

    public init(from decoder: any Decoder) throws {
        connection = try PostgresEndpoint(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        create = try c.decodeIfPresent(Bool.self, forKey: .create)
        maintenanceDatabase = try c.decodeIfPresent(String.self, forKey: .maintenanceDatabase)
        noOwner = try c.decodeIfPresent(Bool.self, forKey: .noOwner)
        ownerTag = try c.decodeIfPresent(String.self, forKey: .ownerTag)
    }

    public func encode(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(create, forKey: .create)
        try c.encodeIfPresent(maintenanceDatabase, forKey: .maintenanceDatabase)
        try c.encodeIfPresent(noOwner, forKey: .noOwner)
        try c.encodeIfPresent(ownerTag, forKey: .ownerTag)
    }

    enum CodingKeys: String, CodingKey { case create, maintenanceDatabase, noOwner, ownerTag }
}

public struct RedisTargetSpec: Codable, Sendable, Hashable {
    /// The data directory (`dir` in redis.conf), e.g. the PVC mounted at /data.
    public var dataDirectory: String
    /// `dbfilename` in redis.conf (default dump.rdb).
    public var fileName: String?
    /// Remove `appendonly.aof` and `appendonlydir/` (default true): with AOF on, Redis loads
    /// the AOF and would ignore the restored RDB.
    public var removeAOF: Bool?
    /// Owner for the restored file (the runbook's `chown redis:redis`); default: the agent's.
    public var uid: Int?
    public var gid: Int?
    /// A drill's scratch: after writing the file, load it into a throwaway `redis-server` on a
    /// Unix socket in `dataDirectory` (created when missing; relative: inside TMPDIR) and check the key count against the
    /// manifest (and `verify.marker`); the server is stopped again before the command ends.
    public var scratchServer: Bool?

    public init(dataDirectory: String, fileName: String? = nil, removeAOF: Bool? = nil, uid: Int? = nil, gid: Int? = nil) {
        self.dataDirectory = dataDirectory
        self.fileName = fileName
        self.removeAOF = removeAOF
        self.uid = uid
        self.gid = gid
    }
}

public struct ClickHouseTargetSpec: Codable, Sendable, Hashable {
    public var url: String
    /// Default: the backed-up database. Created when missing.
    public var database: String?
    public var user: String?
    public var passwordFile: String?
    /// Restore only these tables (names as backed up).
    public var tables: [String]?
    /// `{"traces": "traces_restored"}`.
    public var renameTables: [String: String]?
    /// `create` (default): refuse when a target table exists. `clean`: drop existing target tables first.
    public var mode: String?
    public var timeoutSeconds: Int?
    /// A drill's scratch database: it must not exist (unless it carries this tag, left by an
    /// interrupted run of the same drill), and gets the tag in a one-row table so the drill's
    /// cleanup drops only a database it made.
    public var ownerTag: String?

    public init(url: String, database: String? = nil, user: String? = nil, passwordFile: String? = nil, tables: [String]? = nil,
                renameTables: [String: String]? = nil, mode: String? = nil) {
        self.url = url
        self.database = database
        self.user = user
        self.passwordFile = passwordFile
        self.tables = tables
        self.renameTables = renameTables
        self.mode = mode
    }
}

public struct S3MirrorTargetSpec: Codable, Sendable, Hashable {
    /// Endpoint, region, key files (required here) and timeout; on the wire flat beside the
    /// fields below, as in `S3StoreSpec`.
    public var connection: S3Connection
    /// Restore into this bucket instead; only with exactly one source bucket (a single-bucket
    /// snapshot, or one named in `buckets`).
    public var bucket: String?
    /// Restore only these buckets of the snapshot (default: all of them).
    public var buckets: [String]?
    /// Replaces the snapshot's prefix in every key (default: keys as backed up).
    public var prefix: String?
    /// Create target buckets that do not exist (default false: a missing bucket is refused
    /// before anything is written).
    public var createBucket: Bool?
    /// Delete objects under the target prefix that the snapshot does not list, so each restored
    /// bucket equals its part of the snapshot (default false, like `mc mirror --overwrite`).
    public var removeExtra: Bool?
    /// A drill's scratch copy: each target bucket must hold nothing under the target prefix.
    public var scratch: Bool?

    public init(endpoint: String, bucket: String? = nil, buckets: [String]? = nil, prefix: String? = nil, region: String? = nil,
                accessKeyIdFile: String, secretAccessKeyFile: String, createBucket: Bool? = nil, removeExtra: Bool? = nil) {
        connection = S3Connection(endpoint: endpoint, region: region, accessKeyIdFile: accessKeyIdFile, secretAccessKeyFile: secretAccessKeyFile)
        self.bucket = bucket
        self.buckets = buckets
        self.prefix = prefix
        self.createBucket = createBucket
        self.removeExtra = removeExtra
    }

    public init(from decoder: any Decoder) throws {
        connection = try S3Connection(requiringKeyFilesFrom: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bucket = try c.decodeIfPresent(String.self, forKey: .bucket)
        buckets = try c.decodeIfPresent([String].self, forKey: .buckets)
        prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
        createBucket = try c.decodeIfPresent(Bool.self, forKey: .createBucket)
        removeExtra = try c.decodeIfPresent(Bool.self, forKey: .removeExtra)
        scratch = try c.decodeIfPresent(Bool.self, forKey: .scratch)
    }

    public func encode(to encoder: any Encoder) throws {
        try connection.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(bucket, forKey: .bucket)
        try c.encodeIfPresent(buckets, forKey: .buckets)
        try c.encodeIfPresent(prefix, forKey: .prefix)
        try c.encodeIfPresent(createBucket, forKey: .createBucket)
        try c.encodeIfPresent(removeExtra, forKey: .removeExtra)
        try c.encodeIfPresent(scratch, forKey: .scratch)
    }

    enum CodingKeys: String, CodingKey { case bucket, buckets, prefix, createBucket, removeExtra, scratch }
}

public struct VolumeTargetSpec: Codable, Sendable, Hashable {
    public var path: String
    /// Empty the directory first (the n8n runbook's `rm -rf ~/.n8n/*` before `tar xzf`); default false
    /// (entries are written over what is there).
    public var clean: Bool?
    /// Owner for everything restored (the runbook's `chown -R`); default: the agent's user.
    public var uid: Int?
    public var gid: Int?
    /// A scratch copy (a drill's): the directory is created when missing and must be empty.
    public var scratch: Bool?

    public init(path: String, clean: Bool? = nil, uid: Int? = nil, gid: Int? = nil, scratch: Bool? = nil) {
        self.path = path
        self.clean = clean
        self.scratch = scratch
        self.uid = uid
        self.gid = gid
    }
}

/// One thing `backstop agent cleanup` trims: rows of a table, objects of a bucket, files of a
/// directory or partitions of a ClickHouse table older than `maxAge`, under a guard.
public struct CleanupTargetSpec: Codable, Sendable {
    /// The CleanupPolicy's target name (results are reported under it).
    public var name: String?
    public var sql: SQLCleanup?
    public var s3: S3Cleanup?
    public var volume: VolumeCleanup?
    public var clickhouse: ClickHouseCleanup?
    /// The guard: more than this share of the target's items (0-100) is refused; nil: no share limit.
    public var maxDeletePercent: Int?
    /// The guard's absolute limit; nil: no count limit.
    public var maxDeleteCount: Int64?
    /// An acknowledgment (the `backstop.dev/allow-delete` annotation): up to this many items may
    /// be deleted even over the limits.
    public var allowDeleteCount: Int64?

    public init(name: String? = nil, sql: SQLCleanup? = nil, s3: S3Cleanup? = nil, volume: VolumeCleanup? = nil,
                clickhouse: ClickHouseCleanup? = nil) {
        self.name = name
        self.sql = sql
        self.s3 = s3
        self.volume = volume
        self.clickhouse = clickhouse
    }

    public struct SQLCleanup: Codable, Sendable {
        public var connection: PostgresEndpoint
        public var table: String
        public var timestampColumn: String
        public var maxAge: RetentionAge
        public var batchSize: Int?
        /// `VACUUM (ANALYZE)` the table after deleting.
        public var vacuum: Bool?

        public init(connection: PostgresEndpoint, table: String, timestampColumn: String, maxAge: RetentionAge,
                    batchSize: Int? = nil, vacuum: Bool? = nil) {
            self.connection = connection
            self.table = table
            self.timestampColumn = timestampColumn
            self.maxAge = maxAge
            self.batchSize = batchSize
            self.vacuum = vacuum
        }
    }

    public struct S3Cleanup: Codable, Sendable {
        /// Endpoint, region and key files (required here); on the wire flat beside the fields below.
        public var connection: S3Connection
        public var bucket: String
        public var prefix: String?
        public var maxAge: RetentionAge

        public init(endpoint: String, bucket: String, prefix: String?, region: String?, accessKeyIdFile: String,
                    secretAccessKeyFile: String, maxAge: RetentionAge) {
            connection = S3Connection(endpoint: endpoint, region: region, accessKeyIdFile: accessKeyIdFile, secretAccessKeyFile: secretAccessKeyFile)
            self.bucket = bucket
            self.prefix = prefix
            self.maxAge = maxAge
        }

        public init(from decoder: any Decoder) throws {
            connection = try S3Connection(requiringKeyFilesFrom: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            bucket = try c.decode(String.self, forKey: .bucket)
            prefix = try c.decodeIfPresent(String.self, forKey: .prefix)
            maxAge = try c.decode(RetentionAge.self, forKey: .maxAge)
        }

        public func encode(to encoder: any Encoder) throws {
            try connection.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(bucket, forKey: .bucket)
            try c.encodeIfPresent(prefix, forKey: .prefix)
            try c.encode(maxAge, forKey: .maxAge)
        }

        enum CodingKeys: String, CodingKey { case bucket, prefix, maxAge }
    }

    public struct VolumeCleanup: Codable, Sendable {
        public var path: String
        /// Relative folder under `path` (e.g. `benchmark/`).
        public var subPath: String?
        /// Only files whose name (or, for a glob with `/`, relative path) matches one of these.
        public var include: [String]?
        public var maxAge: RetentionAge

        public init(path: String, subPath: String?, include: [String]?, maxAge: RetentionAge) {
            self.path = path
            self.subPath = subPath
            self.include = include
            self.maxAge = maxAge
        }
    }

    /// Drops whole partitions whose newest data is older than `maxAge`.
    public struct ClickHouseCleanup: Codable, Sendable {
        public var url: String
        public var database: String
        public var table: String
        public var user: String?
        public var passwordFile: String?
        public var maxAge: RetentionAge

        public init(url: String, database: String, table: String, user: String?, passwordFile: String?, maxAge: RetentionAge) {
            self.url = url
            self.database = database
            self.table = table
            self.user = user
            self.passwordFile = passwordFile
            self.maxAge = maxAge
        }
    }
}
