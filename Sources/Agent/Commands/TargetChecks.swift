import AgentContract
import BackstopCore
import Foundation

/// What `verify` checks in a restored target besides PostgreSQL's row counts: the data equals
/// the backup, read from the target itself — every file of the archive there with its size,
/// every object of the snapshot there with its size, every ClickHouse table with the row count
/// the backup recorded. Extra data in the target (a restore that merged) is not a failure.
enum TargetChecks {
    static func checks(_ target: TargetSpec, staged: String, manifest: ArtifactManifest, spec: AgentSpec, context: AgentContext) async throws -> [CheckResult] {
        if let volume = target.volume { return [try await files(root: (volume.path as NSString).standardizingPath, archive: staged, context: context)] }
        if let s3 = target.s3 { return [try await objects(s3, snapshot: staged, spec: spec)] }
        if let ch = target.clickhouse { return try await rows(ch, manifest: manifest) }
        return []
    }

    /// Each regular file of the archive exists in the target with the archived size.
    static func files(root: String, archive: String, context: AgentContext) async throws -> CheckResult {
        var total = 0
        var missing: [String] = []
        try await TarSafety.withTarReader(file: archive, context: context) { reader in
            while let entry = try await reader.next() {
                guard entry.kind == .file, !entry.path.isEmpty else { continue }
                total += 1
                var info = stat()
                let path = (root as NSString).appendingPathComponent(entry.path)
                if lstat(path, &info) != 0 || (info.st_mode & S_IFMT) != S_IFREG || Int64(info.st_size) != entry.size {
                    missing.append(entry.path)
                }
            }
        }
        return CheckResult(name: "files", passed: missing.isEmpty, expected: "\(total) files", actual: "\(total - missing.count) match",
                           message: missing.isEmpty ? nil : "missing or a different size: " + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? ", …" : ""))
    }

    /// Each object of the snapshot exists in its target bucket with the snapshot's size (the
    /// restore checked every object's sha256 while copying it).
    static func objects(_ target: S3MirrorTargetSpec, snapshot: String, spec: AgentSpec) async throws -> CheckResult {
        let listing = try await S3Snapshot.read(try FileDescriptorStream.open(path: snapshot, label: "staged snapshot"))
        let plan = try S3MirrorRestoreTarget.plan(target, snapshotBuckets: listing.buckets)
        let targetOf = Dictionary(plan.map { ($0.source, $0.target) }, uniquingKeysWith: { a, _ in a })
        let sourcePrefix = listing.header.prefix ?? ""
        let client = try S3Store(spec: S3StoreSpec(connection: target.connection, bucket: target.bucket ?? ""))
        var present: [String: [String: Int64]] = [:]
        for bucket in Set(targetOf.values) {
            let objects = try await client.with(bucket: bucket).list(prefix: target.prefix ?? sourcePrefix)
            present[bucket] = Dictionary(objects.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
        }
        var total = 0
        var missing: [String] = []
        for entry in listing.entries {
            guard let key = entry.key, let bucket = targetOf[listing.bucket(entry)] else { continue }
            total += 1
            let targetKey = target.prefix.map { $0 + key.dropFirst(key.hasPrefix(sourcePrefix) ? sourcePrefix.count : 0) } ?? key
            if present[bucket]?[targetKey] != entry.size { missing.append("\(bucket)/\(targetKey)") }
        }
        return CheckResult(name: "objects", passed: missing.isEmpty, expected: "\(total) objects", actual: "\(total - missing.count) match",
                           message: missing.isEmpty ? nil : "missing or a different size: " + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? ", …" : ""))
    }

    /// Each restored table holds the rows the backup counted.
    static func rows(_ target: ClickHouseTargetSpec, manifest: ArtifactManifest) async throws -> [CheckResult] {
        let endpoint = try ClickHouseEndpoint(url: target.url, user: target.user, passwordFile: target.passwordFile,
                                              timeoutSeconds: target.timeoutSeconds, unreachable: .targetUnreachable)
        let database = target.database ?? manifest.source.attributes["database"] ?? "default"
        var results: [CheckResult] = []
        for (table, expected) in (manifest.rowCounts ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let only = target.tables, !only.isEmpty, !only.contains(table) { continue }
            let name = target.renameTables?[table] ?? table
            let qualified = "\(ClickHouseEndpoint.quote(identifier: database)).\(ClickHouseEndpoint.quote(identifier: name))"
            do {
                let actual = try await endpoint.text("SELECT count() FROM \(qualified)").trimmingCharacters(in: .whitespacesAndNewlines)
                results.append(CheckResult(name: "rowCount:\(name)", passed: Int64(actual) == expected, expected: String(expected), actual: actual))
            } catch let error as AgentError {
                results.append(CheckResult(name: "rowCount:\(name)", passed: false, expected: String(expected), message: error.message))
            }
        }
        return results
    }
}
