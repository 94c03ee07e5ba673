import BackstopCore
import DynamicJSON
import Foundation
import HTTP

/// `source.s3`: one bucket (optionally a prefix of it) of MinIO/S3 (seed 000's `mc mirror`).
public struct S3MirrorSourceSpec: Codable, Sendable, Hashable {
    public var endpoint: String
    public var bucket: String
    public var prefix: String?
    public var region: String?
    public var accessKeyIdFile: String
    public var secretAccessKeyFile: String
    public var timeoutSeconds: Int?
    /// Record an empty bucket (refused by default: usually a wrong bucket or prefix).
    public var allowEmpty: Bool?

    public init(endpoint: String, bucket: String, prefix: String? = nil, region: String? = nil,
                accessKeyIdFile: String, secretAccessKeyFile: String) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.accessKeyIdFile = accessKeyIdFile
        self.secretAccessKeyFile = secretAccessKeyFile
    }

    var storeSpec: S3StoreSpec {
        S3StoreSpec(endpoint: endpoint, bucket: bucket, region: region, accessKeyIdFile: accessKeyIdFile,
                    secretAccessKeyFile: secretAccessKeyFile, timeoutSeconds: timeoutSeconds)
    }
}

/// Incremental bucket snapshots: objects whose ETag and size match a blob the previous
/// snapshot recorded are not copied again; the others are streamed (GET → PUT, or multipart
/// above 8 MiB) into the artifact store as blobs. The artifact itself is the listing
/// (`S3Snapshot`), written last, so a snapshot never names a blob that is not there.
public struct S3MirrorSource: BackupSource {
    public static let format = ArtifactFormat(name: "s3-snapshot", fileExtension: "s3snap.jsonl", contentType: "application/x-ndjson")
    static let smallObject: Int64 = 8 << 20
    public let spec: S3MirrorSourceSpec
    let blobs: any ArtifactStore
    let layout: ArtifactLayout

    public init(spec: S3MirrorSourceSpec, store: any ArtifactStore, layout: ArtifactLayout) {
        self.spec = spec
        blobs = store
        self.layout = layout
    }

    public var identity: SourceIdentity {
        SourceIdentity(kind: "s3", attributes: ["endpoint": spec.endpoint, "bucket": spec.bucket, "prefix": spec.prefix ?? ""])
    }
    public var format: ArtifactFormat { Self.format }

    /// Source-side errors in source words (the S3 store's mapping speaks of "the store").
    static func sourceError(_ error: any Error) -> AgentError {
        let mapped = error as? AgentError ?? AgentError(.sourceUnreachable, "\(error)")
        switch mapped.reason {
        case .storeAccessDenied: return AgentError(.authenticationFailed, "source " + mapped.message)
        case .storeUnreachable: return AgentError(.sourceUnreachable, "source " + mapped.message)
        case .artifactNotFound: return AgentError(.sourceUnreachable, "source " + mapped.message)
        default: return AgentError(mapped.reason, "source " + mapped.message)
        }
    }

    public func prepare(_ context: AgentContext) async throws -> any PreparedBackup {
        let source = try S3Store(spec: spec.storeSpec)
        let objects: [S3ObjectSummary]
        do { objects = try await source.client.listAllObjects(bucket: spec.bucket, prefix: spec.prefix ?? "") } catch {
            throw Self.sourceError(S3Store.agentError(error, what: "s3://\(spec.bucket): list \(spec.prefix ?? "")"))
        }
        if objects.isEmpty && !(spec.allowEmpty ?? false) {
            throw AgentError(.sourceEmpty, "s3://\(spec.bucket)/\(spec.prefix ?? "") has no objects; refusing to record an empty snapshot (set allowEmpty)")
        }
        // The previous snapshot's blobs (with their sha256) that are still in the store.
        let directory = S3Snapshot.blobDirectory(layout)
        let present = Dictionary(try await blobs.list(prefix: directory).map { (String($0.key.dropFirst(directory.count)), $0.size) },
                                 uniquingKeysWith: { a, _ in a })
        var known: [String: S3SnapshotLine] = [:]
        let catalog = try await Catalog.load(store: blobs, layout: layout)
        if let previous = catalog.manifests.first(where: { $0.format == Self.format.name }) {
            if let listing = try? await S3Snapshot.read(try await blobs.open(key: previous.key)) {
                for entry in listing.entries {
                    if let blob = entry.blob, entry.sha256 != nil, present[blob] == entry.size { known[blob] = entry }
                }
                context.progress("backup: previous snapshot \(previous.id) has \(listing.entries.count) objects, \(known.count) reusable")
            }
        }
        return PreparedS3Mirror(spec: spec, source: source, objects: objects.sorted { $0.key < $1.key }, known: known,
                                blobs: blobs, directory: directory)
    }
}

struct PreparedS3Mirror: PreparedBackup {
    let spec: S3MirrorSourceSpec
    let source: S3Store
    let objects: [S3ObjectSummary]
    /// Entries of the previous snapshot whose blob is still stored, by blob.
    let known: [String: S3SnapshotLine]
    let blobs: any ArtifactStore
    let directory: String

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        try await output.write(try S3SnapshotLine(format: S3SnapshotLine.formatName, version: 1, endpoint: spec.endpoint,
                                                  bucket: spec.bucket, prefix: spec.prefix ?? "").encodedLine())
        var pending: [UInt8] = []
        var copied = 0, reused = 0
        var copiedBytes: Int64 = 0, totalBytes: Int64 = 0
        for object in objects {
            var entry: S3SnapshotLine
            let blob = S3Snapshot.blobName(bucket: spec.bucket, key: object.key, etag: object.etag, size: object.size)
            if let previous = known[blob] {
                entry = S3SnapshotLine(key: object.key, size: object.size, etag: object.etag, sha256: previous.sha256, blob: blob,
                                       contentType: previous.contentType, lastModified: object.lastModified)
                reused += 1
            } else {
                entry = try await copy(object, context: context)
                copied += 1
                copiedBytes += entry.size ?? 0
            }
            totalBytes += entry.size ?? 0
            pending += try entry.encodedLine()
            if pending.count >= 256 << 10 {
                try await output.write(pending)
                pending = []
            }
        }
        pending += try S3SnapshotLine(end: true, objects: Int64(objects.count), bytes: totalBytes).encodedLine()
        try await output.write(pending)
        context.progress("backup: s3://\(spec.bucket)/\(spec.prefix ?? ""): \(objects.count) objects (\(formatBytes(totalBytes))), "
                         + "\(copied) copied (\(formatBytes(copiedBytes))), \(reused) unchanged")
        var report = SourceReport()
        report.tools = ["s3": "backstop S3Client (SigV4)"]
        report.rowCounts = ["objects": Int64(objects.count)]
        report.checks.append(CheckResult(name: "format", passed: true, message: "snapshot listing of \(objects.count) objects"))
        report.details = ["bucket": .string(spec.bucket), "prefix": .string(spec.prefix ?? ""), "objects": .int(Int64(objects.count)),
                          "bytes": .int(totalBytes), "copiedObjects": .int(Int64(copied)), "copiedBytes": .int(copiedBytes),
                          "unchangedObjects": .int(Int64(reused))]
        return report
    }

    /// GET from the source, hashed, into the blob store. The blob name comes from the ETag and
    /// size of what was actually read (the object may have changed since the listing).
    func copy(_ object: S3ObjectSummary, context: AgentContext) async throws -> S3SnapshotLine {
        let got: S3Object
        do { got = try await source.client.getObject(bucket: spec.bucket, key: object.key) } catch {
            throw S3MirrorSource.sourceError(S3Store.agentError(error, what: "s3://\(spec.bucket): get \(object.key)"))
        }
        let etag = got.info.etag ?? object.etag
        let size = got.info.size
        let blob = S3Snapshot.blobName(bucket: spec.bucket, key: object.key, etag: etag, size: size)
        var digest = StreamDigest()
        let stream = S3DownloadStream(body: got.body, label: "source \(object.key)")
        if size <= S3MirrorSource.smallObject {
            var bytes: [UInt8] = []
            do { while let chunk = try await stream.next() { bytes += chunk } } catch { throw S3MirrorSource.sourceError(error) }
            guard Int64(bytes.count) == size else {
                throw AgentError(.sourceUnreachable, "source s3://\(spec.bucket)/\(object.key): read \(bytes.count) of \(size) bytes")
            }
            digest.update(bytes)
            try await blobs.put(key: directory + blob, bytes: bytes, contentType: "application/octet-stream")
        } else {
            let upload = try await blobs.beginUpload(key: directory + blob, contentType: "application/octet-stream")
            do {
                while true {
                    let chunk: ByteChunk?
                    do { chunk = try await stream.next() } catch { throw S3MirrorSource.sourceError(error) }
                    guard let chunk else { break }
                    digest.update(chunk)
                    try await upload.write(chunk)
                }
                guard digest.bytes == size else {
                    throw AgentError(.sourceUnreachable, "source s3://\(spec.bucket)/\(object.key): read \(digest.bytes) of \(size) bytes")
                }
                try await upload.commit()
            } catch {
                await upload.abort()
                await stream.cancel()
                throw error
            }
        }
        return S3SnapshotLine(key: object.key, size: size, etag: etag, sha256: digest.hex(), blob: blob,
                              contentType: got.info.contentType, lastModified: object.lastModified)
    }

    func close() async {}
}
