import BackstopCore
import DynamicJSON
import Foundation

// The data plane in four roles, so a new source or store is one file that plugs in:
//
//   BackupSource ──prepare──▶ PreparedBackup ──write(to:)──▶ ArtifactOutput (sha256 + size)
//                                                                 │
//                                                   ArtifactSink.beginUpload ▶ ArtifactUpload
//   ArtifactStore (list/read/open/delete) ◀── catalog, verify, restore, prune
//   FormatVerifier (structure of a format) and RestoreTarget (put bytes back) close the loop.
//
// Invariants every implementation keeps:
// - Nothing becomes visible in a store until `ArtifactUpload.commit`; `abort` leaves no trace.
// - The manifest is written after the artifact is committed (so a manifest implies an artifact).
// - Errors are `AgentError`s whose messages never contain secrets.

/// One piece of a byte stream. Owned arrays: they cross threads without copying rules.
public typealias ByteChunk = [UInt8]

/// Pull side of a byte stream with backpressure: a producer never runs further ahead than
/// its small buffer, so memory stays flat however large the stream is.
public protocol ByteStream: AnyObject, Sendable {
    /// The next non-empty chunk, or nil at the end. Throws when the producer failed.
    func next() async throws -> ByteChunk?
    /// Stops the producer early (kills a subprocess, closes a download); idempotent.
    func cancel() async
}

/// An artifact being written. Exactly one of `commit` or `abort` ends it.
public protocol ArtifactUpload: AnyObject, Sendable {
    func write(_ chunk: ByteChunk) async throws
    /// Makes the object visible under its key, atomically and durably.
    func commit() async throws
    /// Discards everything; nothing becomes visible. Never throws (best effort, logged).
    func abort() async
}

/// A listed object. `key` is relative to the store's root (bucket or directory).
public struct StoredObject: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public var lastModified: Date

    public init(key: String, size: Int64, lastModified: Date) {
        self.key = key
        self.size = size
        self.lastModified = lastModified
    }
}

/// The write side of a store.
public protocol ArtifactSink: Sendable {
    /// Where this is, for results and logs (`s3://bucket`, `volume:/backups`); never secrets.
    var location: String { get }
    func beginUpload(key: String, contentType: String) async throws -> any ArtifactUpload
    /// Small objects (manifests): written whole, atomically.
    func put(key: String, bytes: [UInt8], contentType: String) async throws
}

/// A whole store: the catalog lives here (manifests beside artifacts).
public protocol ArtifactStore: ArtifactSink {
    /// Every object whose key starts with `prefix`, in key order.
    func list(prefix: String) async throws -> [StoredObject]
    /// A small object whole (manifests). `AgentError(.artifactNotFound)` when missing.
    func read(key: String) async throws -> [UInt8]
    /// A large object as a stream. `AgentError(.artifactNotFound)` when missing.
    func open(key: String) async throws -> any ByteStream
    /// Removes one object; a missing object is not an error.
    func delete(key: String) async throws
    /// A local file path for the object when the store is a mounted directory, so tools can
    /// read it in place (seekable, parallel restore); nil for remote stores.
    func localPath(key: String) -> String?
    /// What a killed agent left under `prefix` and is older than `before`: hidden partial files
    /// of a volume, open multipart uploads of S3. Removed (unless `dryRun`); returns their names.
    func removeStale(prefix: String, before: Date, dryRun: Bool) async throws -> [String]
}

/// What an artifact is: recorded in the manifest, used for its file name and content type.
public struct ArtifactFormat: Sendable, Hashable {
    public var name: String
    public var fileExtension: String
    public var contentType: String

    public init(name: String, fileExtension: String, contentType: String = "application/octet-stream") {
        self.name = name
        self.fileExtension = fileExtension
        self.contentType = contentType
    }
}

/// Facts a source reports for the manifest once its bytes are written.
public struct SourceReport: Sendable {
    public var tools: [String: String] = [:]
    public var rowCounts: [String: Int64]? = nil
    public var rowCountsConsistency: String? = nil
    public var guards: [GuardResult] = []
    public var warnings: [String] = []
    /// Checks made while streaming (format header, TOC listing …); become the manifest's
    /// backup-stage verification together with size and sha256.
    public var checks: [CheckResult] = []
    public var details: JSONValue? = nil

    public init() {}
}

/// A backup source: PostgreSQL, Redis, ClickHouse, an S3 bucket, a volume directory.
public protocol BackupSource: Sendable {
    var identity: SourceIdentity { get }
    var format: ArtifactFormat { get }
    /// Everything that can fail before a byte is stored: reachability, credentials, versions,
    /// missing tables, emptiness. Nothing is uploaded when this throws.
    func prepare(_ context: AgentContext) async throws -> any PreparedBackup
}

public protocol PreparedBackup: Sendable {
    /// Streams the artifact into `output`; called at most once. When it throws, the pipeline
    /// aborts the upload.
    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport
    /// Releases what `prepare` held (snapshot transactions, connections); always called.
    func close() async
}

/// Structure checks of one artifact format (`pg_restore -l`, RDB header, `gzip -t` …) on a
/// local file whose sha256 already matched.
public protocol FormatVerifier: Sendable {
    func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult]
}

/// Puts an artifact back. The agent calls `preflight`, then verifies the artifact (sha256,
/// format), and only then `restore`: a corrupt artifact never touches the target.
public protocol RestoreTarget: Sendable {
    /// Refusals that must happen before anything changes (target exists / missing, unreachable).
    func preflight(manifest: ArtifactManifest, context: AgentContext) async throws
    /// Restores from a local, already verified file. Leaves nothing half-created on failure
    /// where the target allows it (e.g. drops a database it created).
    func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport
}

public struct RestoreReport: Sendable {
    public var target: [String: String]
    public var tools: [String: String]
    public var warnings: [String]

    public init(target: [String: String], tools: [String: String] = [:], warnings: [String] = []) {
        self.target = target
        self.tools = tools
        self.warnings = warnings
    }
}
