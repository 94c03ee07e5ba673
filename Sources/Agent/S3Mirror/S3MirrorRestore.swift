import BackstopCore
import Foundation
import HTTP

/// `target.s3`: the bucket a snapshot is restored into (seed 000: `mc mirror --overwrite
/// /backups/minio/evidence agent/evidence`).
public struct S3MirrorTargetSpec: Codable, Sendable, Hashable {
    public var endpoint: String
    /// Default: the snapshot's bucket.
    public var bucket: String?
    /// Replaces the snapshot's prefix in every key (default: keys as backed up).
    public var prefix: String?
    public var region: String?
    public var accessKeyIdFile: String
    public var secretAccessKeyFile: String
    public var timeoutSeconds: Int?
    /// Create the bucket when it does not exist (default false: a missing bucket is refused).
    public var createBucket: Bool?
    /// Delete objects under the target prefix that the snapshot does not list, so the bucket
    /// equals the snapshot (default false, like `mc mirror --overwrite`).
    public var removeExtra: Bool?

    public init(endpoint: String, bucket: String? = nil, prefix: String? = nil, region: String? = nil,
                accessKeyIdFile: String, secretAccessKeyFile: String, createBucket: Bool? = nil, removeExtra: Bool? = nil) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.accessKeyIdFile = accessKeyIdFile
        self.secretAccessKeyFile = secretAccessKeyFile
        self.createBucket = createBucket
        self.removeExtra = removeExtra
    }
}

/// Copies every object of a snapshot from its blob back into the target bucket. Before the
/// first write, every blob must be in the store with its recorded size; each object's sha256
/// is checked before it becomes visible (small objects are checked in memory, large ones
/// before their multipart upload is completed — a mismatch aborts it).
struct S3MirrorRestoreTarget: RestoreTarget {
    let spec: S3MirrorTargetSpec
    let blobs: any ArtifactStore
    let layout: ArtifactLayout

    func bucket(_ manifest: ArtifactManifest) -> String { spec.bucket ?? manifest.source.attributes["bucket"] ?? "" }

    func target(_ manifest: ArtifactManifest) throws -> S3Store {
        try S3Store(spec: S3StoreSpec(endpoint: spec.endpoint, bucket: bucket(manifest), region: spec.region,
                                      accessKeyIdFile: spec.accessKeyIdFile, secretAccessKeyFile: spec.secretAccessKeyFile,
                                      timeoutSeconds: spec.timeoutSeconds))
    }

    static func targetError(_ error: any Error) -> AgentError {
        let mapped = error as? AgentError ?? AgentError(.restoreFailed, "\(error)")
        switch mapped.reason {
        case .storeAccessDenied: return AgentError(.authenticationFailed, "target " + mapped.message)
        case .storeUnreachable: return AgentError(.targetUnreachable, "target " + mapped.message)
        case .storeFailed, .uploadFailed: return AgentError(.restoreFailed, "target " + mapped.message)
        default: return mapped
        }
    }

    func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == S3MirrorSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not an S3 snapshot")
        }
        let store = try target(manifest)
        do {
            _ = try await store.client.listObjectsV2(bucket: store.bucket, maxKeys: 1)
        } catch let error as S3Error where error.code == "NoSuchBucket" {
            guard spec.createBucket ?? false else {
                throw AgentError(.targetMissing, "target bucket \(store.bucket) does not exist (set createBucket to create it)")
            }
        } catch {
            throw Self.targetError(S3Store.agentError(error, what: "s3://\(store.bucket): list"))
        }
    }

    func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let listing = try await S3Snapshot.read(try FileDescriptorStream.open(path: file, label: "staged snapshot"))
        let present = try await S3Snapshot.checkBlobs(listing, store: blobs, layout: layout, deep: false, context: context)
        if let failed = present.first(where: { !$0.passed }) {
            throw AgentError(.verificationFailed, "refusing to restore \(manifest.id), the target was not touched: \(failed.message ?? "objects missing")")
        }
        let store = try target(manifest)
        if spec.createBucket ?? false {
            do { try await store.client.createBucket(store.bucket) } catch let error as S3Error
                where error.code == "BucketAlreadyOwnedByYou" || error.code == "BucketAlreadyExists" {}
            catch { throw Self.targetError(S3Store.agentError(error, what: "s3://\(store.bucket): create bucket")) }
        }
        let sourcePrefix = listing.header.prefix ?? ""
        let directory = S3Snapshot.blobDirectory(layout)
        var written = Set<String>()
        var bytes: Int64 = 0
        for entry in listing.entries {
            guard let key = entry.key, let blob = entry.blob, let size = entry.size else { continue }
            let targetKey = spec.prefix.map { $0 + key.dropFirst(key.hasPrefix(sourcePrefix) ? sourcePrefix.count : 0) } ?? key
            do {
                try await copy(from: directory + blob, to: targetKey, size: size, sha256: entry.sha256 ?? "",
                               contentType: entry.contentType, store: store)
            } catch {
                let mapped = Self.targetError(error)
                throw AgentError(mapped.reason, "\(written.count) of \(listing.entries.count) objects restored, then \(targetKey): \(mapped.message)")
            }
            written.insert(targetKey)
            bytes += size
        }
        var removed = 0
        if spec.removeExtra ?? false {
            let scope = spec.prefix ?? sourcePrefix
            let existing = try await store.list(prefix: scope)
            for object in existing where !written.contains(object.key) {
                try await store.delete(key: object.key)
                removed += 1
            }
        }
        context.progress("restore: \(written.count) objects (\(formatBytes(bytes))) into s3://\(store.bucket)"
                         + (removed > 0 ? ", \(removed) extra objects removed" : ""))
        return RestoreReport(target: ["bucket": store.bucket, "prefix": spec.prefix ?? sourcePrefix, "objects": String(written.count),
                                      "bytes": String(bytes), "removed": String(removed)])
    }

    func copy(from blobKey: String, to key: String, size: Int64, sha256: String, contentType: String?, store: S3Store) async throws {
        let stream = try await blobs.open(key: blobKey)
        var digest = StreamDigest()
        if size <= S3MirrorSource.smallObject {
            var body: [UInt8] = []
            while let chunk = try await stream.next() { body += chunk }
            digest.update(body)
            guard digest.hex() == sha256 else { throw AgentError(.checksumMismatch, "stored copy does not match its sha256") }
            try await store.mapErrors("put \(key)") {
                _ = try await store.client.putObject(bucket: store.bucket, key: key, body: .bytes(body), contentType: contentType)
            }
            return
        }
        let id = try await store.mapErrors("start upload of \(key)") {
            try await store.client.createMultipartUpload(bucket: store.bucket, key: key, contentType: contentType)
        }
        let upload = S3Upload(client: store.client, bucket: store.bucket, key: key, uploadID: id)
        do {
            while let chunk = try await stream.next() {
                digest.update(chunk)
                try await upload.write(chunk)
            }
            guard digest.hex() == sha256 else { throw AgentError(.checksumMismatch, "stored copy does not match its sha256") }
            try await upload.commit()
        } catch {
            await upload.abort()
            await stream.cancel()
            throw error
        }
    }
}
