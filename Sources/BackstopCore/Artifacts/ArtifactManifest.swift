import DynamicJSON
import Foundation

/// The JSON written beside every artifact (`<artifact>.manifest.json`). The store is the
/// catalog: retention, restore and status read manifests, never file names alone. The agent
/// writes the manifest only after the artifact is complete, so a manifest implies an artifact.
public struct ArtifactManifest: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var manifestVersion: Int
    public var id: ArtifactID
    public var policy: String
    /// The artifact's key in the store (the manifest's key is this plus `.manifest.json`).
    public var key: String
    /// e.g. `pg_dump-custom`, `redis-rdb`, `tar-gzip`.
    public var format: String
    public var fileExtension: String
    public var contentType: String
    public var createdAt: Date
    public var completedAt: Date
    public var durationSeconds: Double
    public var sizeBytes: Int64
    /// Lowercase hex SHA-256 of the artifact bytes.
    public var sha256: String
    public var source: SourceIdentity
    /// Tool and server versions, e.g. `pg_dump: 15.18`, `server: 15.6`.
    public var tools: [String: String]
    /// Rows per table at backup time; `rowCountsConsistency` says how they relate to the dump.
    public var rowCounts: [String: Int64]?
    /// `snapshot`: counted inside the very snapshot the dump used (PostgreSQL).
    public var rowCountsConsistency: String?
    public var guards: [GuardResult]
    /// True when a guard failed: the artifact is usable but someone must look.
    public var flagged: Bool
    public var warnings: [String]
    /// The most recent verification (at backup time, by `verify`, or before a restore).
    public var verification: VerificationRecord?
    public var job: JobReference?
    /// Pinned artifacts survive every retention rule, including maxAge.
    public var pinned: Bool
    public var labels: [String: String]
    /// Source-specific facts (e.g. table lists) that other kinds do not share.
    public var details: JSONValue?

    public init(id: ArtifactID, policy: String, key: String, format: String, fileExtension: String,
                contentType: String = "application/octet-stream", createdAt: Date, completedAt: Date,
                sizeBytes: Int64, sha256: String, source: SourceIdentity, tools: [String: String] = [:],
                rowCounts: [String: Int64]? = nil, rowCountsConsistency: String? = nil,
                guards: [GuardResult] = [], warnings: [String] = [], verification: VerificationRecord? = nil,
                job: JobReference? = nil, pinned: Bool = false, labels: [String: String] = [:],
                details: JSONValue? = nil) {
        manifestVersion = Self.currentVersion
        self.id = id
        self.policy = policy
        self.key = key
        self.format = format
        self.fileExtension = fileExtension
        self.contentType = contentType
        self.createdAt = createdAt
        self.completedAt = completedAt
        durationSeconds = max(0, completedAt.timeIntervalSince(createdAt))
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.source = source
        self.tools = tools
        self.rowCounts = rowCounts
        self.rowCountsConsistency = rowCountsConsistency
        self.guards = guards
        flagged = guards.contains { !$0.passed }
        self.warnings = warnings
        self.verification = verification
        self.job = job
        self.pinned = pinned
        self.labels = labels
        self.details = details
    }

    /// Verified means: the latest verification passed.
    public var verified: Bool { verification?.passed ?? false }

    // MARK: Canonical JSON (RFC 3339 times, sorted keys) — use these, not a bare JSONEncoder.

    public func encoded(pretty: Bool = true) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(UTCTimestamp.rfc3339(date))
        }
        return Array(try encoder.encode(self))
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws -> ArtifactManifest {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = UTCTimestamp.parseRFC3339(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text.prefix(40))"))
            }
            return date
        }
        let manifest = try decoder.decode(ArtifactManifest.self, from: Data(bytes))
        guard manifest.manifestVersion <= currentVersion else {
            throw ArtifactNameError("manifest version \(manifest.manifestVersion) is newer than this agent understands (\(currentVersion))")
        }
        return manifest
    }
}

/// What was backed up, without secrets: `kind` plus identifying attributes
/// (PostgreSQL: host, port, database, user; S3: endpoint, bucket, prefix; …).
public struct SourceIdentity: Codable, Sendable, Hashable {
    public var kind: String
    public var attributes: [String: String]

    public init(kind: String, attributes: [String: String] = [:]) {
        self.kind = kind
        self.attributes = attributes
    }
}

/// One guard evaluated at backup time, e.g. `trigger prevent_audit_mutation on agent_audit_log`.
public struct GuardResult: Codable, Sendable, Hashable {
    public var name: String
    public var passed: Bool
    public var message: String

    public init(name: String, passed: Bool, message: String) {
        self.name = name
        self.passed = passed
        self.message = message
    }
}

/// One check of a verification: `sha256`, `size`, `format`, `listContents`, `rowCount:<table>`, `sql:<name>`.
public struct CheckResult: Codable, Sendable, Hashable {
    public var name: String
    public var passed: Bool
    public var expected: String?
    public var actual: String?
    public var message: String?

    public init(name: String, passed: Bool, expected: String? = nil, actual: String? = nil, message: String? = nil) {
        self.name = name
        self.passed = passed
        self.expected = expected
        self.actual = actual
        self.message = message
    }
}

public struct VerificationRecord: Codable, Sendable, Equatable {
    public var time: Date
    public var passed: Bool
    /// `backup` (inline while streaming), `verify` (re-read from the store) or `restore`.
    public var stage: String
    public var checks: [CheckResult]

    public init(time: Date, stage: String, checks: [CheckResult]) {
        self.time = time
        self.stage = stage
        self.checks = checks
        passed = !checks.isEmpty && checks.allSatisfy(\.passed)
    }
}

public struct JobReference: Codable, Sendable, Hashable {
    public var name: String
    public var namespace: String?

    public init(name: String, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }
}
