import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import Postgres

extension AgentRunner {
    /// Applies the retention plan: per deleted artifact, the manifest goes first (the artifact
    /// leaves the catalog at once), then the object. Orphans (artifacts whose manifest is
    /// missing) older than a day are removed too: they are what an interrupted prune leaves.
    static func prune(_ spec: AgentSpec, _ context: AgentContext) async throws -> [String: JSONValue] {
        guard let rules = spec.retention else { throw AgentError(.specInvalid, "retention is required") }
        let problems = rules.validate()
        guard problems.isEmpty else { throw AgentError(.specInvalid, "retention: \(problems.joined(separator: "; "))") }
        guard let zone = TimeZone(identifier: spec.timeZone ?? "UTC") else {
            throw AgentError(.specInvalid, "timeZone \(spec.timeZone ?? "") is not a known IANA time zone")
        }
        let now = try spec.clock(context)
        let (store, layout, catalog) = try await openCatalog(spec)
        let items = catalog.manifests.map { RetentionItem(id: $0.id.description, createdAt: $0.createdAt, pinned: $0.pinned) }
        let plan = RetentionPlanner.plan(items, rules: rules, now: now, timeZone: zone)
        let dryRun = spec.dryRun ?? false
        var deleted: [JSONValue] = []
        for decision in plan.decisions where !decision.keep && !dryRun {
            let manifest = catalog.manifests[decision.index]
            try await store.delete(key: ArtifactLayout.manifestKey(forArtifactKey: manifest.key))
            try await store.delete(key: manifest.key)
            deleted.append(.string(manifest.id.description))
            context.progress("prune: deleted \(manifest.id): \(plan.reason(for: decision))")
        }
        var orphansDeleted: [JSONValue] = []
        for orphan in catalog.orphans where now.timeIntervalSince(orphan.lastModified) > 86400 && !dryRun {
            try await store.delete(key: orphan.key)
            orphansDeleted.append(.string(orphan.key))
        }
        // A killed agent's leftovers (partial files, open multipart uploads), older than an hour.
        let stale = try await store.removeStale(prefix: layout.directory, before: now.addingTimeInterval(-3600), dryRun: dryRun)
        for key in stale { context.progress("prune: \(dryRun ? "would remove" : "removed") stale partial upload \(key)") }
        // Bucket snapshots share object copies: remove those no kept snapshot lists.
        let kept = plan.decisions.filter(\.keep).map { catalog.manifests[$0.index] }
        // Not while a manifest is unreadable: its snapshot's objects would look unreferenced.
        let garbage = catalog.problems.isEmpty
            ? try await S3Snapshot.collectGarbage(store: store, layout: layout, remaining: kept, now: now, dryRun: dryRun, context: context)
            : (count: 0, bytes: Int64(0))
        let decisions: [JSONValue] = plan.decisions.map { d in
            ["id": .string(d.id), "keep": .bool(d.keep), "reason": .string(plan.reason(for: d))]
        }
        var result: [String: JSONValue] = [
            "dryRun": .bool(dryRun), "rules": .string(rules.summary), "timeZone": .string(zone.identifier),
            "kept": .int(Int64(plan.keptCount)), "deleted": .int(Int64(dryRun ? 0 : plan.deleteCount)),
            "wouldDelete": .array(plan.decisions.filter { !$0.keep }.map { .string($0.id) }),
            "decisions": .array(decisions),
        ]
        if !orphansDeleted.isEmpty { result["orphansDeleted"] = .array(orphansDeleted) }
        if !stale.isEmpty { result[dryRun ? "stalePartialsWouldRemove" : "stalePartialsRemoved"] = try JSONValue.encode(stale) }
        if garbage.count > 0 {
            result[dryRun ? "objectsWouldDelete" : "objectsDeleted"] = .int(Int64(garbage.count))
            result["objectBytesFreed"] = .int(dryRun ? 0 : garbage.bytes)
        }
        if !catalog.problems.isEmpty { result["warnings"] = try JSONValue.encode(catalog.problems) }
        return result
    }

    /// Seed 000 §2: age-based deletion in live stores. Every target runs even when one fails;
    /// the exit code is non-zero if any failed.
    static func cleanup(_ spec: AgentSpec, _ context: AgentContext) async throws -> ([String: JSONValue], Int32) {
        guard let targets = spec.targets, !targets.isEmpty else { throw AgentError(.specInvalid, "targets is required") }
        let now = try spec.clock(context)
        let dryRun = spec.dryRun ?? false
        var results: [JSONValue] = []
        var worst: AgentError?
        for target in targets {
            let started = Date()
            var entry: [String: JSONValue] = ["target": .string(target.label)]
            do {
                let (count, bytes) = try await target.run(now: now, dryRun: dryRun, context: context)
                entry[dryRun ? "wouldDelete" : "deleted"] = .int(count)
                if let bytes { entry["bytesFreed"] = .int(dryRun ? 0 : bytes) }
            } catch {
                let failure = error as? AgentError ?? AgentError(.cleanupFailed, "\(error)")
                entry["error"] = .string(failure.description)
                worst = worst ?? failure
            }
            entry["durationSeconds"] = .double((Date().timeIntervalSince(started) * 1000).rounded() / 1000)
            results.append(.object(entry))
        }
        var result: [String: JSONValue] = ["dryRun": .bool(dryRun), "results": .array(results)]
        if let worst {
            result["reason"] = .string(worst.reason.rawValue)
            result["message"] = .string(worst.message)
            return (result, worst.reason.exitCode)
        }
        return (result, AgentExitCode.success)
    }
}

/// One `CleanupPolicy.spec.targets[]` entry: exactly one of sql, s3, volume.
extension CleanupTargetSpec {
    var label: String {
        if let sql { return "sql \(sql.connection.database).\(sql.table)" }
        if let s3 { return "s3://\(s3.bucket)/\(s3.prefix ?? "")" }
        if let volume { return "volume \(volume.path)/\(volume.subPath ?? "")" }
        return "(empty target)"
    }

    /// (objects or rows deleted — or that would be — , bytes freed when known).
    func run(now: Date, dryRun: Bool, context: AgentContext) async throws -> (Int64, Int64?) {
        let cutoff = { (age: RetentionAge) in now.addingTimeInterval(-Double(age.seconds)) }
        if let sql {
            return (try await Self.cleanSQL(sql, now: now, dryRun: dryRun, context: context), nil)
        }
        if let s3 {
            let connection = S3Connection(endpoint: s3.endpoint, region: s3.region, accessKeyIdFile: s3.accessKeyIdFile,
                                          secretAccessKeyFile: s3.secretAccessKeyFile)
            let store = try S3Store(spec: S3StoreSpec(connection: connection, bucket: s3.bucket))
            return try await Self.cleanStore(store, prefix: s3.prefix ?? "", before: cutoff(s3.maxAge), dryRun: dryRun)
        }
        if let volume {
            let store = try VolumeStore(root: volume.path)
            var prefix = volume.subPath ?? ""
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            return try await Self.cleanStore(store, prefix: prefix, before: cutoff(volume.maxAge), dryRun: dryRun)
        }
        throw AgentError(.specInvalid, "cleanup target needs one of sql, s3 or volume")
    }

    static func cleanStore(_ store: any ArtifactStore, prefix: String, before cutoff: Date, dryRun: Bool) async throws -> (Int64, Int64?) {
        var count: Int64 = 0, bytes: Int64 = 0
        for object in try await store.list(prefix: prefix) where object.lastModified < cutoff {
            if !dryRun { try await store.delete(key: object.key) }
            count += 1
            bytes += object.size
        }
        return (count, bytes)
    }

    /// `DELETE … WHERE ctid IN (SELECT ctid … LIMIT n)` in batches, each its own transaction
    /// (short locks, WAL in small pieces). The cutoff is fixed once from the server's clock so
    /// rows aging in during the run are left for the next one.
    static func cleanSQL(_ spec: SQLCleanup, now: Date, dryRun: Bool, context: AgentContext) async throws -> Int64 {
        let connection = try await spec.connection.connect()
        defer { Task { await connection.close() } }
        let table = quoteQualified(spec.table)
        let column = PostgresConnection.quoteIdentifier(spec.timestampColumn)
        let batch = max(1, spec.batchSize ?? 10_000)
        do {
            guard try await connection.query("SELECT to_regclass($1)::text", [table]).first?.values.first ?? nil != nil else {
                throw AgentError(.tableMissing, "table \(spec.table) does not exist in \(spec.connection.database)")
            }
            let cutoff = try await connection.query("SELECT (now() - $1::interval)::text", ["\(spec.maxAge.seconds) seconds"]).first?[0, as: String.self] ?? ""
            if dryRun {
                return try await connection.query("SELECT count(*) FROM \(table) WHERE \(column) < $1::timestamptz", [cutoff]).first?[0, as: Int64.self] ?? 0
            }
            var total: Int64 = 0
            while true {
                let n = try await connection.execute(
                    "DELETE FROM \(table) WHERE ctid IN (SELECT ctid FROM \(table) WHERE \(column) < $1::timestamptz LIMIT \(batch))", [cutoff])
                total += Int64(n)
                if n < batch { break }
                context.progress("cleanup: \(spec.table): \(total) rows deleted so far")
            }
            return total
        } catch let error as PostgresError {
            throw PostgresEndpoint.agentError(error, role: "source", what: spec.table)
        }
    }
}
