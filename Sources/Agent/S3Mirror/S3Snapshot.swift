import BackstopCore
import Foundation

/// The S3 mirror's artifact: a snapshot listing, one JSON document per line.
///
///     {"format":"backstop-s3-snapshot","version":1,"endpoint":…,"bucket":…,"prefix":…}
///     {"key":…,"size":…,"etag":…,"sha256":…,"blob":…,"contentType":…,"lastModified":…}   per object, key order
///     {"end":true,"objects":N,"bytes":B}
///
/// Version 2 (every bucket of the endpoint) names the buckets in the header instead of one
/// `bucket` — empty ones too, so a restore can recreate them — and each entry carries its
/// `bucket`; entries are in (bucket, key) order. A single-bucket backup still writes version 1.
///
/// Object bodies are blobs beside the policy's artifacts, `<policy dir>/objects/<blob>`, where
/// `blob` is the sha256 of `bucket, key, ETag, size`: an unchanged object has the same blob in
/// every snapshot and is copied once (incremental). Prune removes blobs no snapshot lists.
struct S3SnapshotLine: Codable, Sendable, Hashable {
    var format: String?
    var version: Int?
    var endpoint: String?
    /// Header (version 1) or entry (version 2).
    var bucket: String?
    /// Header, version 2.
    var buckets: [String]?
    var prefix: String?
    var key: String?
    var size: Int64?
    var etag: String?
    var sha256: String?
    var blob: String?
    var contentType: String?
    var lastModified: String?
    var end: Bool?
    var objects: Int64?
    var bytes: Int64?

    static let formatName = "backstop-s3-snapshot"

    func encodedLine() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }
}

enum S3Snapshot {
    static func blobDirectory(_ layout: ArtifactLayout) -> String { layout.directory + "objects/" }

    static func blobName(bucket: String, key: String, etag: String, size: Int64) -> String {
        var digest = StreamDigest()
        digest.update(Array("\(bucket)\n\(key)\n\(etag)\n\(size)".utf8))
        return digest.hex()
    }

    /// A parsed listing: header, entries ((bucket, key) order), end record; structural problems throw `.formatInvalid`.
    struct Listing: Sendable {
        var header: S3SnapshotLine
        var entries: [S3SnapshotLine]
        var totalBytes: Int64 { entries.reduce(0) { $0 + ($1.size ?? 0) } }
        /// Every bucket the snapshot covers, in order (one for version 1).
        var buckets: [String] { header.buckets ?? header.bucket.map { [$0] } ?? [] }
        var multiBucket: Bool { header.buckets != nil }
        /// An entry's bucket: its own (version 2) or the header's (version 1).
        func bucket(_ entry: S3SnapshotLine) -> String { entry.bucket ?? header.bucket ?? "" }
        /// How messages name an entry: the key, prefixed by its bucket in a multi-bucket snapshot.
        func name(_ entry: S3SnapshotLine) -> String { multiBucket ? "\(bucket(entry))/\(entry.key ?? "")" : entry.key ?? "" }
    }

    /// Reads a listing from a ByteStream. Holds the entries (≈ 300 bytes per object).
    static func read(_ stream: any ByteStream) async throws -> Listing {
        var pending: [UInt8] = []
        var lines: [S3SnapshotLine] = []
        let decoder = JSONDecoder()
        func parse(_ bytes: ArraySlice<UInt8>) throws {
            guard !bytes.isEmpty else { return }
            do { lines.append(try decoder.decode(S3SnapshotLine.self, from: Data(bytes))) } catch {
                throw AgentError(.formatInvalid, "s3 snapshot: line \(lines.count + 1) is not a snapshot record")
            }
        }
        while let chunk = try await stream.next() {
            pending += chunk
            var start = 0
            while let newline = pending[start...].firstIndex(of: 10) {
                try parse(pending[start..<newline])
                start = newline + 1
            }
            pending.removeFirst(start)
        }
        guard pending.isEmpty else { throw AgentError(.formatInvalid, "s3 snapshot: truncated (last line has no newline)") }
        guard let header = lines.first, header.format == S3SnapshotLine.formatName else {
            throw AgentError(.formatInvalid, "s3 snapshot: no header (not a backstop S3 snapshot)")
        }
        switch header.version ?? 1 {
        case 1 where header.bucket != nil && header.buckets == nil: break
        case 2 where header.bucket == nil && header.buckets.map({ Set($0).count == $0.count }) == true: break
        case 1, 2: throw AgentError(.formatInvalid, "s3 snapshot: the header names neither one bucket (version 1) nor a list of distinct buckets (version 2)")
        case let version: throw AgentError(.formatInvalid, "s3 snapshot: version \(version) is newer than this agent reads (1, 2)")
        }
        guard let end = lines.last, lines.count >= 2, end.end == true else {
            throw AgentError(.formatInvalid, "s3 snapshot: truncated (no end record)")
        }
        let listing = Listing(header: header, entries: Array(lines.dropFirst().dropLast()))
        let buckets = Set(listing.buckets)
        for (i, entry) in listing.entries.enumerated() {
            guard let key = entry.key, entry.size != nil, entry.blob?.count == 64, entry.sha256?.count == 64,
                  (entry.bucket == nil) != listing.multiBucket, buckets.contains(listing.bucket(entry)) else {
                throw AgentError(.formatInvalid, "s3 snapshot: entry \(i + 1) is incomplete")
            }
            if i > 0, let previous = listing.entries[i - 1].key,
               (listing.bucket(listing.entries[i - 1]), previous) >= (listing.bucket(entry), key) {
                throw AgentError(.formatInvalid, "s3 snapshot: keys out of order at \(listing.name(entry).prefix(80))")
            }
        }
        let entries = listing.entries
        guard end.objects == Int64(entries.count), end.bytes == listing.totalBytes else {
            throw AgentError(.formatInvalid, "s3 snapshot: end record says \(end.objects ?? -1) objects / \(end.bytes ?? -1) bytes, "
                             + "the listing has \(entries.count) / \(listing.totalBytes)")
        }
        return listing
    }

    /// Every blob the listing needs is in the store with its size; with `deep`, each blob is
    /// read and its sha256 compared too.
    static func checkBlobs(_ listing: Listing, store: any ArtifactStore, layout: ArtifactLayout, deep: Bool,
                           context: AgentContext) async throws -> [CheckResult] {
        let directory = blobDirectory(layout)
        let present = Dictionary(try await store.list(prefix: directory).map { (String($0.key.dropFirst(directory.count)), $0.size) },
                                 uniquingKeysWith: { a, _ in a })
        var missing: [String] = []
        var wrongSize: [String] = []
        var checked = Set<String>()
        for entry in listing.entries {
            guard let blob = entry.blob, checked.insert(blob).inserted else { continue }
            guard let size = present[blob] else { missing.append(listing.name(entry)); continue }
            if size != entry.size { wrongSize.append(listing.name(entry)) }
        }
        var checks = [CheckResult(name: "objects", passed: missing.isEmpty && wrongSize.isEmpty,
                                  expected: "\(listing.entries.count) objects, \(listing.totalBytes) bytes",
                                  actual: missing.isEmpty && wrongSize.isEmpty ? "all present" : nil,
                                  message: missing.isEmpty && wrongSize.isEmpty ? nil
                                      : "missing: \(missing.prefix(5).joined(separator: ", ")) (\(missing.count)); "
                                        + "wrong size: \(wrongSize.prefix(5).joined(separator: ", ")) (\(wrongSize.count))")]
        guard deep, checks[0].passed else { return checks }
        var bad: [String] = []
        for entry in listing.entries {
            guard let blob = entry.blob else { continue }
            let stream = try await store.open(key: directory + blob)
            var digest = StreamDigest()
            while let chunk = try await stream.next() { digest.update(chunk) }
            if digest.hex() != entry.sha256 || digest.bytes != entry.size { bad.append(listing.name(entry)) }
        }
        context.progress("verify: s3 snapshot: \(listing.entries.count) objects re-read, \(bad.count) differ")
        checks.append(CheckResult(name: "objectChecksums", passed: bad.isEmpty, expected: "sha256 of every object",
                                  actual: bad.isEmpty ? "all match" : nil,
                                  message: bad.isEmpty ? nil : "differ: \(bad.prefix(5).joined(separator: ", ")) (\(bad.count))"))
        return checks
    }

    /// Prune's second half: blobs no remaining snapshot lists, older than an hour (a backup
    /// running now may have uploaded blobs its snapshot does not list yet).
    static func collectGarbage(store: any ArtifactStore, layout: ArtifactLayout, remaining: [ArtifactManifest], now: Date,
                               dryRun: Bool, context: AgentContext) async throws -> (count: Int, bytes: Int64) {
        let directory = blobDirectory(layout)
        let blobs = try await store.list(prefix: directory)
        guard !blobs.isEmpty else { return (0, 0) }
        var referenced = Set<String>()
        for manifest in remaining where manifest.format == S3MirrorSource.format.name {
            let listing = try await read(try await store.open(key: manifest.key))
            for entry in listing.entries { if let blob = entry.blob { referenced.insert(blob) } }
        }
        var count = 0
        var bytes: Int64 = 0
        for blob in blobs where !referenced.contains(String(blob.key.dropFirst(directory.count)))
            && now.timeIntervalSince(blob.lastModified) > 3600 {
            if !dryRun { try await store.delete(key: blob.key) }
            count += 1
            bytes += blob.size
        }
        if count > 0 { context.progress("prune: \(dryRun ? "would delete" : "deleted") \(count) unreferenced objects (\(formatBytes(bytes)))") }
        return (count, bytes)
    }
}

/// Structure of a snapshot listing (header, ordered complete entries, end record totals).
struct S3SnapshotVerifier: FormatVerifier {
    func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult] {
        do {
            let listing = try await S3Snapshot.read(try FileDescriptorStream.open(path: file, label: "staged snapshot"))
            return [CheckResult(name: "format", passed: true, actual: "\(listing.entries.count) objects, \(listing.totalBytes) bytes")]
        } catch let error as AgentError where error.reason == .formatInvalid {
            return [CheckResult(name: "format", passed: false, message: error.message)]
        }
    }
}
