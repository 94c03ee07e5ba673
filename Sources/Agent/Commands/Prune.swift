import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

extension AgentRunner {
    /// Applies the retention plan: per deleted artifact, the manifest goes first (the artifact
    /// leaves the catalog at once), then the object. Orphans (artifacts whose manifest is
    /// missing) older than a day are removed too: they are what an interrupted prune leaves.
    static func prune(_ spec: AgentSpec, _ context: AgentContext) async throws -> AgentReport {
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
        var deleted: [String] = []
        for decision in plan.decisions where !decision.keep && !dryRun {
            let manifest = catalog.manifests[decision.index]
            try await store.delete(key: ArtifactLayout.manifestKey(forArtifactKey: manifest.key))
            try await store.delete(key: manifest.key)
            deleted.append(manifest.id.description)
            context.progress("prune: deleted \(manifest.id): \(plan.reason(for: decision))")
        }
        var orphansDeleted: [String] = []
        for orphan in catalog.orphans where now.timeIntervalSince(orphan.lastModified) > 86400 && !dryRun {
            try await store.delete(key: orphan.key)
            orphansDeleted.append(orphan.key)
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
        var report = AgentReport()
        report.dryRun = dryRun
        report.rules = rules.summary
        report.timeZone = zone.identifier
        report.kept = plan.keptCount
        report.deleted = dryRun ? 0 : plan.deleteCount
        report.wouldDelete = plan.decisions.filter { !$0.keep }.map(\.id)
        report.decisions = plan.decisions.map { RetentionDecisionReport(id: $0.id, keep: $0.keep, reason: plan.reason(for: $0)) }
        if !orphansDeleted.isEmpty { report.orphansDeleted = orphansDeleted }
        if !stale.isEmpty {
            if dryRun { report.stalePartialsWouldRemove = stale } else { report.stalePartialsRemoved = stale }
        }
        if garbage.count > 0 {
            if dryRun { report.objectsWouldDelete = garbage.count } else { report.objectsDeleted = garbage.count }
            report.objectBytesFreed = dryRun ? 0 : garbage.bytes
        }
        if !catalog.problems.isEmpty { report.warnings = catalog.problems }
        return report
    }
}
