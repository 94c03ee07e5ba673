import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import HTTP

extension S3MirrorSourceSpec {
    var storeSpec: S3StoreSpec {
        S3StoreSpec(connection: connection, bucket: bucket ?? "")
    }
}

/// One object of the source: its bucket and its listing entry.
struct S3MirrorObject: Sendable {
    var bucket: String
    var summary: S3ObjectSummary
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
        SourceIdentity(kind: "s3", attributes: ["endpoint": spec.connection.endpoint, "prefix": spec.prefix ?? ""]
                       .merging(spec.bucket.map { ["bucket": $0] } ?? ["buckets": "*"]) { a, _ in a })
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
        var buckets = if let bucket = spec.bucket { [bucket] } else { try await allBuckets(source, context: context) }
        var objects: [S3MirrorObject] = []
        for bucket in buckets {
            do {
                objects += try await source.client.listAllObjects(bucket: bucket, prefix: spec.prefix ?? "")
                    .map { S3MirrorObject(bucket: bucket, summary: $0) }
            } catch let error as S3Error where error.code == "NoSuchBucket" && spec.bucket == nil {
                // Deleted since the bucket listing: not part of this snapshot.
                buckets.removeAll { $0 == bucket }
                context.progress("backup: s3://\(bucket) was deleted while listing, skipped")
            } catch {
                throw Self.sourceError(S3Store.agentError(error, what: "s3://\(bucket): list \(spec.prefix ?? "")"))
            }
        }
        if objects.isEmpty && !(spec.allowEmpty ?? false) {
            let what = spec.bucket.map { "s3://\($0)/\(spec.prefix ?? "") has no objects" }
                ?? "none of the \(buckets.count) buckets at \(spec.connection.endpoint) has objects\(spec.prefix.map { " under \($0)" } ?? "")"
            throw AgentError(.sourceEmpty, "\(what); refusing to record an empty snapshot (set allowEmpty)")
        }
        // The previous snapshot's blobs (with their sha256) that are still in the store.
        let directory = S3Snapshot.blobDirectory(layout)
        let present = Dictionary(try await blobs.list(prefix: directory).map { (String($0.key.dropFirst(directory.count)), $0.size) },
                                 uniquingKeysWith: { a, _ in a })
        var known: [String: S3SnapshotLine] = [:]
        let catalog = try await Catalog.load(store: blobs, layout: layout)
        if let previous = catalog.manifests.first(where: { $0.format == Self.format.name }) {
            // Blob names include the bucket, so one map serves every bucket.
            if let listing = try? await S3Snapshot.read(try await blobs.open(key: previous.key)) {
                for entry in listing.entries {
                    if let blob = entry.blob, entry.sha256 != nil, present[blob] == entry.size { known[blob] = entry }
                }
                context.progress("backup: previous snapshot \(previous.id) has \(listing.entries.count) objects, \(known.count) reusable")
            }
        }
        return PreparedS3Mirror(spec: spec, source: source, buckets: buckets,
                                objects: objects.sorted { ($0.bucket, $0.summary.key) < ($1.bucket, $1.summary.key) },
                                known: known, blobs: blobs, directory: directory)
    }

    /// Every bucket the credentials list, but the artifact store's own bucket when it is on the
    /// same endpoint URL: a backup must not contain itself. The same server under another URL
    /// (another Service name, an IP) is not recognised: give such a policy a volume destination
    /// or a source `bucket`.
    func allBuckets(_ source: S3Store, context: AgentContext) async throws -> [String] {
        var buckets: [String]
        do { buckets = try await source.client.listBuckets() } catch {
            throw Self.sourceError(S3Store.agentError(error, what: "\(spec.connection.endpoint): list buckets"))
        }
        if let store = blobs as? S3Store, BackstopValidator.sameEndpoint(store.endpoint, spec.connection.endpoint), buckets.contains(store.bucket) {
            buckets.removeAll { $0 == store.bucket }
            context.progress("backup: skipping s3://\(store.bucket), the artifact store")
        }
        return buckets.sorted()
    }
}

struct PreparedS3Mirror: PreparedBackup {
    let spec: S3MirrorSourceSpec
    let source: S3Store
    /// The buckets listed (version 2 names them all, empty ones too).
    let buckets: [String]
    let objects: [S3MirrorObject]
    /// Entries of the previous snapshot whose blob is still stored, by blob.
    let known: [String: S3SnapshotLine]
    let blobs: any ArtifactStore
    let directory: String

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        // One named bucket keeps version 1, which agents before version 2 read.
        try await output.write(try S3SnapshotLine(format: S3SnapshotLine.formatName, version: spec.bucket == nil ? 2 : 1,
                                                  endpoint: spec.connection.endpoint, bucket: spec.bucket,
                                                  buckets: spec.bucket == nil ? buckets : nil, prefix: spec.prefix ?? "").encodedLine())
        var pending: [UInt8] = []
        var copied = 0, reused = 0
        var copiedBytes: Int64 = 0, totalBytes: Int64 = 0
        for item in objects {
            let object = item.summary
            var entry: S3SnapshotLine
            let blob = S3Snapshot.blobName(bucket: item.bucket, key: object.key, etag: object.etag, size: object.size)
            if let previous = known[blob] {
                entry = S3SnapshotLine(key: object.key, size: object.size, etag: object.etag, sha256: previous.sha256, blob: blob,
                                       contentType: previous.contentType, lastModified: object.lastModified)
                reused += 1
            } else {
                entry = try await copy(item, context: context)
                copied += 1
                copiedBytes += entry.size ?? 0
            }
            if spec.bucket == nil { entry.bucket = item.bucket }
            totalBytes += entry.size ?? 0
            pending += try entry.encodedLine()
            if pending.count >= 256 << 10 {
                try await output.write(pending)
                pending = []
            }
        }
        pending += try S3SnapshotLine(end: true, objects: Int64(objects.count), bytes: totalBytes).encodedLine()
        try await output.write(pending)
        let scope = spec.bucket.map { "s3://\($0)/" } ?? "\(buckets.count) buckets, "
        context.progress("backup: \(scope)\(spec.prefix ?? ""): \(objects.count) objects (\(formatBytes(totalBytes))), "
                         + "\(copied) copied (\(formatBytes(copiedBytes))), \(reused) unchanged")
        var report = SourceReport()
        report.tools = ["s3": "backstop S3Client (SigV4)"]
        report.rowCounts = ["objects": Int64(objects.count)]
        report.checks.append(CheckResult(name: "format", passed: true, message: "snapshot listing of \(objects.count) objects"))
        var details: [String: JSONValue] = ["prefix": .string(spec.prefix ?? ""), "objects": .int(Int64(objects.count)),
                                            "bytes": .int(totalBytes), "copiedObjects": .int(Int64(copied)),
                                            "copiedBytes": .int(copiedBytes), "unchangedObjects": .int(Int64(reused))]
        // A count, not the names: the result must fit a 4 KiB termination message (the listing names them).
        if let bucket = spec.bucket { details["bucket"] = .string(bucket) } else { details["buckets"] = .int(Int64(buckets.count)) }
        report.details = .object(details)
        return report
    }

    /// GET from the source, hashed, into the blob store. The blob name comes from the ETag and
    /// size of what was actually read (the object may have changed since the listing).
    func copy(_ item: S3MirrorObject, context: AgentContext) async throws -> S3SnapshotLine {
        let object = item.summary, bucket = item.bucket
        let got: S3Object
        do { got = try await source.client.getObject(bucket: bucket, key: object.key) } catch {
            throw S3MirrorSource.sourceError(S3Store.agentError(error, what: "s3://\(bucket): get \(object.key)"))
        }
        let etag = got.info.etag ?? object.etag
        let size = got.info.size
        let blob = S3Snapshot.blobName(bucket: bucket, key: object.key, etag: etag, size: size)
        var digest = StreamDigest()
        let stream = S3DownloadStream(body: got.body, label: "source \(object.key)")
        if size <= S3MirrorSource.smallObject {
            var bytes: [UInt8] = []
            do { while let chunk = try await stream.next() { bytes += chunk } } catch { throw S3MirrorSource.sourceError(error) }
            guard Int64(bytes.count) == size else {
                throw AgentError(.sourceUnreachable, "source s3://\(bucket)/\(object.key): read \(bytes.count) of \(size) bytes")
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
                    throw AgentError(.sourceUnreachable, "source s3://\(bucket)/\(object.key): read \(digest.bytes) of \(size) bytes")
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
