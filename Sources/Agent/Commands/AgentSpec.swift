import BackstopCore
import Foundation

/// The one JSON document every `backstop agent <command> --spec` reads: the relevant part of
/// the custom resource plus resolved Secret file paths. Each command uses the fields it
/// needs (see `docs` in the report / `AgentRunner`) and rejects a spec missing them.
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
    public var timeZone: String?
    public var dryRun: Bool?
    /// cleanup.
    public var targets: [CleanupTargetSpec]?
    /// Overrides the clock (RFC 3339); for tests and reproducible dry runs.
    public var now: String?

    public init() {}

    public static func decode(_ bytes: some Collection<UInt8>) throws -> AgentSpec {
        do {
            return try JSONDecoder().decode(AgentSpec.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw AgentError(.specInvalid, "spec: \(describe(error))")
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.specInvalid, "spec: \(error)")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "(top level)" : String(p.dropFirst())
        }
        switch error {
        case .keyNotFound(let key, let c): return "\(path(c)).\(key.stringValue) is required".replacingOccurrences(of: "(top level).", with: "")
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(path(c)): \(c.debugDescription)"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    var storeSpec: StoreSpec? { store ?? destination }
    /// The key prefix of the store (without opening it).
    var storePrefix: String { storeSpec?.s3?.prefix ?? storeSpec?.volume?.prefix ?? "" }
    var selector: ArtifactSelector { artifact ?? backup ?? .latest }

    func clock(_ context: AgentContext) throws -> Date {
        guard let now else { return context.now() }
        guard let date = UTCTimestamp.parseRFC3339(now) else { throw AgentError(.specInvalid, "now: not an RFC 3339 time") }
        return date
    }

    func layout(prefix: String) throws -> ArtifactLayout {
        guard let policy else { throw AgentError(.specInvalid, "policy is required") }
        do { return try ArtifactLayout(prefix: prefix, policy: policy) } catch {
            throw AgentError(.specInvalid, "\(error)")
        }
    }
}

public struct StoreSpec: Codable, Sendable {
    public var s3: S3StoreSpec?
    public var volume: VolumeStoreSpec?

    public init(s3: S3StoreSpec? = nil, volume: VolumeStoreSpec? = nil) {
        self.s3 = s3
        self.volume = volume
    }

    /// The store and the key prefix artifacts live under.
    func open() throws -> (store: any ArtifactStore, prefix: String) {
        switch (s3, volume) {
        case (let s3?, nil): return (try S3Store(spec: s3), s3.prefix ?? "")
        case (nil, let volume?): return (try VolumeStore(root: volume.path), volume.prefix ?? "")
        default: throw AgentError(.specInvalid, "store: exactly one of s3 or volume is required")
        }
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

    /// The source; `store` and `layout` are where the S3 mirror keeps its object copies.
    func make(store: any ArtifactStore, layout: ArtifactLayout) throws -> any BackupSource {
        let kinds = [postgres != nil, redis != nil, volume != nil, clickhouse != nil, s3 != nil].filter { $0 }.count
        guard kinds == 1 else { throw AgentError(.specInvalid, "source: exactly one of postgres, redis, clickhouse, s3 or volume is required") }
        if let postgres { return PostgresSource(spec: postgres) }
        if let redis { return RedisSource(spec: redis) }
        if let volume { return VolumeSource(spec: volume) }
        if let clickhouse { return ClickHouseSource(spec: clickhouse) }
        if let s3 { return S3MirrorSource(spec: s3, store: store, layout: layout) }
        throw AgentError(.specInvalid, "source: exactly one of postgres, redis, clickhouse, s3 or volume is required")
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
    public var sql: [SQLCheck]?
    /// verify: write the outcome into the manifest (default true).
    public var record: Bool?

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

/// `{name, query, expect}`: the first column of the first row, as text, must equal `expect`.
public struct SQLCheck: Codable, Sendable, Hashable {
    public var name: String
    public var query: String
    public var expect: String

    public init(name: String, query: String, expect: String) {
        self.name = name
        self.query = query
        self.expect = expect
    }
}
