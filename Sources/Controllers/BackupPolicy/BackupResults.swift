import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import KubeModel

/// Folding the agent's results (read by the shared `AgentResultReader`) into the policy
/// status. Pure: the planner calls these with cached objects.

/// Folding results into status. Each returns the events it implies.
enum StatusFolding {
    static let recentLimit = 10
    /// Agent reasons that mean "the artifact did not pass verification" (exit code 5).
    static let integrityReasons: Set<String> = ["ChecksumMismatch", "SizeMismatch", "FormatInvalid", "ArtifactTooSmall",
                                                "VerificationFailed", "ManifestInvalid"]

    static func time(_ text: String?) -> Time? { text.flatMap { Time(rfc3339: $0) } }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024, i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }

    static func backup(_ r: AgentResult, job: Job, status s: inout BackupPolicyStatus, conditions c: inout [Condition],
                       generation: Int64?, now: Time, metrics: inout [BackupMetricUpdate]) -> [PlannedEvent] {
        var events: [PlannedEvent] = []
        // A drill's fresh backup carries the drill's own run-now token, not the user's annotation:
        // recording it as lastManualRun would make the user's answered value look unanswered
        // (and run it again once its Job is trimmed).
        let manual = job.labels[BackstopLabels.drill] == nil ? job.annotations[BackstopLabels.runNow] : nil
        if r.ok, let artifact = r.report.artifact, let id = artifact.id {
            let created = time(artifact.createdAt) ?? Time(job.finishedAt ?? now.date)
            let verified = r.report.verification?.passed ?? false
            var record = BackupRecord(id: id, time: created, sizeBytes: artifact.sizeBytes,
                                      sha256: artifact.sha256, verified: verified, durationSeconds: r.durationSeconds)
            record.job = job.name
            let known = s.recentBackups?.contains { $0.id == id } ?? false
            s.lastBackup = record
            s.recentBackups = Array(([record] + (s.recentBackups ?? []).filter { $0.id != id }).prefix(recentLimit))
            s.lastSuccessfulTime = max(s.lastSuccessfulTime ?? created, created)
            if verified { s.lastVerifiedTime = max(s.lastVerifiedTime ?? created, created) }
            if !known {
                var a = s.artifacts ?? ArtifactSummary(count: 0, totalBytes: 0)
                a.count = (a.count ?? 0) + 1
                a.totalBytes = (a.totalBytes ?? 0) + (record.sizeBytes ?? 0)
                a.newest = max(a.newest ?? created, created)
                a.oldest = min(a.oldest ?? created, created)
                s.artifacts = a
                metrics.append(.backupSucceeded(durationSeconds: r.durationSeconds))
            }
            let size = bytes(record.sizeBytes ?? 0)
            c.set(BackupPolicyConditions.LastBackupSucceeded.self, .true, .backupSucceeded,
                  message: "\(id) (\(size)) written by Job \(job.name)", observedGeneration: generation, now: now)
            if verified {
                c.set(BackupPolicyConditions.Verified.self, .true, .verified,
                      message: "\(id): sha256 and format checked after upload", observedGeneration: generation, now: now)
            } else {
                let failed = (r.report.verification?.checks ?? []).filter { $0.passed == false }.compactMap(\.name)
                c.set(BackupPolicyConditions.Verified.self, .false, .verificationFailed,
                      message: "\(id): " + (failed.isEmpty ? "not verified" : "failed checks: " + failed.joined(separator: ", ")),
                      observedGeneration: generation, now: now)
                events.append(PlannedEvent(warning: true, reason: "VerificationFailed", message: "Backup \(id) did not pass verification"))
            }
            let sha = record.sha256.map { ", sha256 " + String($0.prefix(12)) } ?? ""
            events.append(PlannedEvent(reason: "BackupSucceeded", message:
                "Backup \(id) (\(size)\(sha)) by Job \(job.name)\(r.durationSeconds.map { String(format: " in %.1fs", $0) } ?? "")\(verified ? ", verified" : "")"))
            if r.report.flagged == true {
                events.append(PlannedEvent(warning: true, reason: "GuardMissing",
                                           message: "Backup \(id) is flagged: a required trigger is missing or disabled"))
            }
            if let manual {
                adoptManualRun(&s, value: manual, job: job)
                s.lastManualRun?.result = .succeeded
                s.lastManualRun?.finishedAt = Time(job.finishedAt ?? now.date)
                s.lastManualRun?.message = "backup \(id)"
            }
        } else {
            let reason = r.reason ?? "BackupFailed"
            let message = r.message ?? "the agent reported no artifact"
            c.set(BackupPolicyConditions.LastBackupSucceeded.self, .false, .init(rawValue: reason),
                  message: "Job \(job.name): \(message)", observedGeneration: generation, now: now)
            events.append(PlannedEvent(warning: true, reason: "BackupFailed", message: "\(reason): \(message) (Job \(job.name))"))
            if integrityReasons.contains(reason) {
                c.set(BackupPolicyConditions.Verified.self, .false, .init(rawValue: reason),
                      message: "Job \(job.name): \(message)", observedGeneration: generation, now: now)
            }
            metrics.append(.backupFailed(durationSeconds: r.durationSeconds))
            if let manual {
                adoptManualRun(&s, value: manual, job: job)
                s.lastManualRun?.result = .failed
                s.lastManualRun?.finishedAt = Time(job.finishedAt ?? now.date)
                s.lastManualRun?.message = "\(reason): \(message)"
            }
        }
        return events
    }

    /// A run-now Job whose start never reached status (operator killed in between) still
    /// answers its annotation value.
    static func adoptManualRun(_ s: inout BackupPolicyStatus, value: String, job: Job) {
        guard s.lastManualRun?.value != value else { return }
        var run = ManualRun(value: value)
        run.job = job.metadata.name
        run.startedAt = job.metadata.creationTimestamp
        s.lastManualRun = run
    }

    static func prune(_ r: AgentResult, job: Job, status s: inout BackupPolicyStatus, now: Time) -> [PlannedEvent] {
        guard r.ok, r.json != nil else {
            return [PlannedEvent(warning: true, reason: "PruneFailed",
                                 message: "\(r.reason ?? "PruneFailed"): \(r.message ?? "no result") (Job \(job.name))")]
        }
        let deleted = r.report.deleted ?? 0
        let kept = r.report.kept ?? 0
        s.lastPrune = PruneRecord(time: Time(job.finishedAt ?? now.date), deleted: deleted, kept: kept, job: job.name)
        let ids = r.report.wouldDelete ?? []
        if deleted > 0 {
            s.recentBackups = s.recentBackups?.filter { !ids.contains($0.id) }
        }
        let list = ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : "")
        return [PlannedEvent(reason: "Pruned", message: "Deleted \(deleted), kept \(kept) (\(r.report.rules ?? "retention"))"
                             + (deleted > 0 ? ": \(list)" : ""))]
    }

    static func catalog(_ r: AgentResult, job: Job, policy: BackupPolicy, status s: inout BackupPolicyStatus,
                        next: Date?, now: Time) -> [PlannedEvent] {
        guard r.ok, r.json != nil else {
            return [PlannedEvent(warning: true, reason: "CatalogFailed",
                                 message: "\(r.reason ?? "CatalogFailed"): \(r.message ?? "no result") (Job \(job.name))")]
        }
        let report = r.report
        let items = report.artifacts ?? []
        let count = report.count ?? items.count
        let total = report.totalBytes ?? 0
        let times = items.compactMap { time($0.createdAt) }
        // Without the list (truncated result) the ids of the oldest and newest still carry their times.
        func idTime(_ id: String?) -> Time? {
            id.flatMap { try? ArtifactID(parsing: $0) }.map { Time($0.time) }
        }
        s.artifacts = ArtifactSummary(count: count, totalBytes: total, oldest: times.min() ?? idTime(report.oldest),
                                      newest: times.max() ?? idTime(report.newest))
        if items.isEmpty, let newest = idTime(report.newest), s.lastSuccessfulTime.map({ $0 < newest }) ?? true {
            s.lastSuccessfulTime = newest
        }
        let records: [BackupRecord] = items.compactMap { a in
            guard let id = a.id else { return nil }
            return BackupRecord(id: id, time: time(a.createdAt), sizeBytes: a.sizeBytes, sha256: a.sha256, verified: a.verified)
        }.sorted { ($0.time ?? Time(seconds: 0)) > ($1.time ?? Time(seconds: 0)) }
        if !records.isEmpty {
            // Rediscovery (a re-created CR) and pruning both make the store the truth.
            let byID = Dictionary((s.recentBackups ?? []).map { ($0.id, $0) }) { a, _ in a }
            s.recentBackups = records.prefix(recentLimit).map { r in byID[r.id] ?? r }
            if s.lastBackup == nil { s.lastBackup = s.recentBackups?.first }
            if let newest = records.first?.time, s.lastSuccessfulTime.map({ $0 < newest }) ?? true { s.lastSuccessfulTime = newest }
            if let v = records.first(where: { $0.verified == true })?.time, s.lastVerifiedTime.map({ $0 < v }) ?? true {
                s.lastVerifiedTime = v
            }
        }
        // A catalog too large for the 4 KiB termination message arrives without its list but with
        // the bare ids (each carries its backup time), enough for the preview; with neither the
        // preview is unknown (nil), never a misleading "nothing would be deleted".
        let ids = report.ids ?? []
        let pinned = Set(report.pinnedIDs ?? [])
        let fromIDs: [CatalogEntry] = ids.compactMap { id in
            guard let t = try? ArtifactID(parsing: id) else { return nil }
            return CatalogEntry(id: id, createdAt: Time(t.time).rfc3339, pinned: pinned.contains(id))
        }
        if report.artifacts != nil && items.count == count {
            s.retentionPlan = RetentionPreview.plan(policy.spec, artifacts: items, nextBackup: next)
        } else if fromIDs.count == count {
            s.retentionPlan = RetentionPreview.plan(policy.spec, artifacts: fromIDs, nextBackup: next)
        } else {
            s.retentionPlan = nil
        }
        return [PlannedEvent(reason: "CatalogRefreshed",
                             message: "\(count) artifacts, \(bytes(total)) in \(report.location ?? "the store")")]
    }
}

/// "What would the next prune delete, and why": the retention planner over the catalog plus
/// the artifact the next backup will add.
enum RetentionPreview {
    static let limit = 20

    static func rules(_ r: RetentionPolicy?) -> RetentionRules? {
        guard let r, r.keepForever != true else { return nil }
        return RetentionRules(keepLast: r.keepLast, keepDaily: r.keepDaily, keepWeekly: r.keepWeekly, keepMonthly: r.keepMonthly,
                              maxAge: try? r.maxAge.map { try RetentionAge(parsing: $0) }, keepForever: r.keepForever)
    }

    static func plan(_ spec: BackupPolicySpec, artifacts: [CatalogEntry], nextBackup: Date?) -> RetentionPlanStatus? {
        guard let rules = rules(spec.retention), let next = nextBackup else { return nil }
        var items = artifacts.compactMap { a -> RetentionItem? in
            guard let id = a.id, let t = a.createdAt.flatMap({ Time(rfc3339: $0) }) else { return nil }
            return RetentionItem(id: id, createdAt: t.date, pinned: a.pinned ?? false)
        }
        items.append(RetentionItem(id: "(next backup)", createdAt: next))
        let zone = TimeZone(identifier: spec.timeZone ?? "UTC") ?? TimeZone(identifier: "UTC")!
        let plan = RetentionPlanner.plan(items, rules: rules, now: next, timeZone: zone)
        let deletions = plan.toDelete.filter { $0.id != "(next backup)" }.prefix(limit)
            .map { PlannedDeletion(id: $0.id, reason: plan.reason(for: $0)) }
        return RetentionPlanStatus(nextPruneTime: Time(next), wouldDelete: Array(deletions))
    }
}
