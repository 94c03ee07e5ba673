import AgentContract
import BackstopCore
import Foundation
import HTTP

/// Copies every object of a snapshot from its blob back into its target bucket. Before the
/// first write, every blob must be in the store with its recorded size and every target bucket
/// must exist (or `createBucket`); each object's sha256 is checked before it becomes visible
/// (small objects are checked in memory, large ones before their multipart upload is
/// completed — a mismatch aborts it).
struct S3MirrorRestoreTarget: RestoreTarget {
    let spec: S3MirrorTargetSpec
    let blobs: any ArtifactStore
    let layout: ArtifactLayout

    /// A client for the target endpoint; `with(bucket:)` addresses each bucket.
    func target() throws -> S3Store {
        try S3Store(spec: S3StoreSpec(connection: spec.connection, bucket: spec.bucket ?? ""))
    }

    /// Source bucket → target bucket, for the buckets selected; bad selections are `SpecInvalid`.
    static func plan(_ spec: S3MirrorTargetSpec, snapshotBuckets: [String]) throws -> [(source: String, target: String)] {
        var selected = snapshotBuckets
        if let wanted = spec.buckets {
            guard !wanted.isEmpty else { throw AgentError(.specInvalid, "target.s3.buckets is empty (omit it to restore every bucket)") }
            let unknown = wanted.filter { !snapshotBuckets.contains($0) }
            guard unknown.isEmpty else {
                throw AgentError(.specInvalid, "target.s3.buckets: \(unknown.joined(separator: ", ")) not in the snapshot, which has "
                                 + snapshotBuckets.prefix(20).joined(separator: ", ") + (snapshotBuckets.count > 20 ? ", …" : ""))
            }
            selected = snapshotBuckets.filter { wanted.contains($0) }
        }
        guard let rename = spec.bucket else { return selected.map { ($0, $0) } }
        guard selected.count == 1 else {
            throw AgentError(.specInvalid, "target.s3.bucket renames one bucket, but \(selected.count) are selected "
                             + "(name one source bucket in target.s3.buckets)")
        }
        return [(selected[0], rename)]
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

    /// The format and what the spec alone decides; the buckets are checked once the listing is read.
    func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == S3MirrorSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not an S3 snapshot")
        }
        if spec.buckets?.isEmpty == true { _ = try Self.plan(spec, snapshotBuckets: []) }
    }

    /// Buckets that do not exist yet; any other failure is the target's.
    func missingBuckets(_ buckets: [String], store: S3Store) async throws -> [String] {
        var missing: [String] = []
        for bucket in buckets {
            do { _ = try await store.client.listObjectsV2(bucket: bucket, maxKeys: 1) } catch let error as S3Error where error.code == "NoSuchBucket" {
                missing.append(bucket)
            } catch {
                throw Self.targetError(S3Store.agentError(error, what: "s3://\(bucket): list"))
            }
        }
        return missing
    }

    func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let listing = try await S3Snapshot.read(try FileDescriptorStream.open(path: file, label: "staged snapshot"))
        let plan = try Self.plan(spec, snapshotBuckets: listing.buckets)
        let targetOf = Dictionary(plan.map { ($0.source, $0.target) }, uniquingKeysWith: { a, _ in a })
        let sourcePrefix = listing.header.prefix ?? ""
        // removeExtra over the store's own keys would delete the backups being restored from.
        let storeRoot = layout.prefix.isEmpty ? "" : layout.prefix + "/"
        let scope = spec.prefix ?? sourcePrefix
        if spec.removeExtra ?? false, let store = blobs as? S3Store, BackstopValidator.sameEndpoint(store.endpoint, spec.connection.endpoint),
           plan.contains(where: { $0.target == store.bucket }), storeRoot.hasPrefix(scope) || scope.hasPrefix(storeRoot) {
            throw AgentError(.specInvalid, "target.s3: removeExtra under \"\(scope)\" in s3://\(store.bucket) would delete the artifact store's objects")
        }
        let entries = listing.entries.filter { targetOf[listing.bucket($0)] != nil }
        let present = try await S3Snapshot.checkBlobs(S3Snapshot.Listing(header: listing.header, entries: entries),
                                                      store: blobs, layout: layout, deep: false, context: context)
        if let failed = present.first(where: { !$0.passed }) {
            throw AgentError(.verificationFailed, "refusing to restore \(manifest.id), the target was not touched: \(failed.message ?? "objects missing")")
        }
        let client = try target()
        let missing = try await missingBuckets(plan.map(\.target), store: client)
        if !missing.isEmpty {
            guard spec.createBucket ?? false else {
                throw AgentError(.targetMissing, "target bucket\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")) "
                                 + "do\(missing.count > 1 ? "" : "es") not exist (set createBucket to create), nothing was written")
            }
            for bucket in missing {
                do { try await client.client.createBucket(bucket) } catch let error as S3Error
                    where error.code == "BucketAlreadyOwnedByYou" || error.code == "BucketAlreadyExists" {}
                catch { throw Self.targetError(S3Store.agentError(error, what: "s3://\(bucket): create bucket")) }
            }
        }
        if spec.scratch == true {
            for bucket in Set(plan.map(\.target)) where !missing.contains(bucket) {
                let held = try await client.with(bucket: bucket).list(prefix: scope)
                if !held.isEmpty {
                    throw AgentError(.targetExists, "scratch s3://\(bucket)/\(scope) holds \(held.count) object(s); a drill restores only where nothing is")
                }
            }
        }
        let directory = S3Snapshot.blobDirectory(layout)
        var written: [String: Set<String>] = [:]
        var count = 0
        var bytes: Int64 = 0
        for entry in entries {
            guard let key = entry.key, let blob = entry.blob, let size = entry.size, let bucket = targetOf[listing.bucket(entry)] else { continue }
            let targetKey = spec.prefix.map { $0 + key.dropFirst(key.hasPrefix(sourcePrefix) ? sourcePrefix.count : 0) } ?? key
            do {
                try await copy(from: directory + blob, to: targetKey, size: size, sha256: entry.sha256 ?? "",
                               contentType: entry.contentType, store: client.with(bucket: bucket))
            } catch {
                let mapped = Self.targetError(error)
                throw AgentError(mapped.reason, "\(count) of \(entries.count) objects restored, then s3://\(bucket)/\(targetKey): \(mapped.message)")
            }
            written[bucket, default: []].insert(targetKey)
            count += 1
            bytes += size
        }
        var removed = 0
        if spec.removeExtra ?? false {
            do {
                for bucket in plan.map(\.target) {
                    let store = client.with(bucket: bucket)
                    for object in try await store.list(prefix: scope) where !(written[bucket]?.contains(object.key) ?? false) {
                        try await store.delete(key: object.key)
                        removed += 1
                    }
                }
            } catch {
                let mapped = Self.targetError(error)
                throw AgentError(mapped.reason, "\(count) objects restored, \(removed) extra removed, then: \(mapped.message)")
            }
        }
        let targets = plan.map(\.target)
        let into = targets.count == 1 ? "s3://\(targets[0])" : "\(targets.count) buckets"
        context.progress("restore: \(count) objects (\(formatBytes(bytes))) into \(into)"
                         + (removed > 0 ? ", \(removed) extra objects removed" : ""))
        var report = ["prefix": spec.prefix ?? sourcePrefix, "objects": String(count), "bytes": String(bytes), "removed": String(removed)]
        if targets.count == 1 { report["bucket"] = targets[0] } else { report["buckets"] = String(targets.count) }
        return RestoreReport(target: report)
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
