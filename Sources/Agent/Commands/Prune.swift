import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

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
        // An artifact a running restore or drill uses counts as pinned for this prune.
        let inUse = Set(spec.inUse ?? [])
        for m in catalog.manifests where inUse.contains(m.id.description) && !m.pinned {
            context.progress("prune: keeping \(m.id): a running restore or drill uses it")
        }
        let items = catalog.manifests.map {
            RetentionItem(id: $0.id.description, createdAt: $0.createdAt, pinned: $0.pinned || inUse.contains($0.id.description))
        }
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
}
