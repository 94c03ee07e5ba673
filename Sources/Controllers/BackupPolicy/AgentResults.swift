import BackstopCore
import DynamicJSON
import Foundation
import KubeModel

/// Reading the agent's result JSON from a finished Job's Pod (the termination message) and
/// folding it into the policy status. Pure: the planner calls these with cached objects.

/// What one finished agent Job reported.
public struct AgentResult: Sendable, Hashable {
    public var ok: Bool
    /// The agent's reason (`AuthenticationFailed`, …) or the Job's (`DeadlineExceeded`).
    public var reason: String?
    public var message: String?
    /// The full result document when the termination message was JSON.
    public var json: JSONValue?

    public init(ok: Bool, reason: String? = nil, message: String? = nil, json: JSONValue? = nil) {
        self.ok = ok
        self.reason = reason
        self.message = message
        self.json = json
    }

    /// Total run time the agent measured.
    var durationSeconds: Double? {
        json?["durations"]?["totalSeconds"]?.doubleValue ?? json?["durations"]?["backupSeconds"]?.doubleValue
    }
}

public enum AgentResultReader {
    /// The result of a finished Job, or nil while its Pod's termination state is not in the
    /// cache yet (and the grace period has not passed).
    public static func result(of job: Job, pods: [Pod], now: Date, grace: TimeInterval) -> AgentResult? {
        let terminated = pods
            .filter { $0.metadata.labels?[BackstopLabels.job] == job.name }
            .compactMap { pod -> ContainerStateTerminated? in
                pod.status?.containerStatuses?.first { $0.name == "agent" }?.state?.terminated
                    ?? pod.status?.containerStatuses?.first?.state?.terminated
            }
            .sorted { ($0.finishedAt?.date ?? .distantPast) > ($1.finishedAt?.date ?? .distantPast) }
        if let t = terminated.first {
            return parse(message: t.message, exitCode: t.exitCode, jobSucceeded: job.succeeded)
        }
        let finished = job.finishedAt ?? job.createdAt
        guard now.timeIntervalSince(finished) >= grace || (job.status?.failed ?? 0) + (job.status?.succeeded ?? 0) == 0 else {
            return nil
        }
        let condition = job.status?.conditions?.first { ($0.type == "Failed" || $0.type == "Complete") && $0.status == .true }
        return AgentResult(ok: job.succeeded, reason: job.succeeded ? nil : (condition?.reason ?? "JobFailed"),
                           message: job.succeeded ? nil : (condition?.message ?? "the Job failed without a result from the agent"))
    }

    /// Parses a termination message: the agent's JSON, or (FallbackToLogsOnError) a log tail.
    public static func parse(message: String?, exitCode: Int32, jobSucceeded: Bool) -> AgentResult {
        let text = message ?? ""
        if let json = try? JSONValue(parsing: text), case .object = json {
            let ok = json["ok"]?.boolValue ?? (exitCode == 0)
            return AgentResult(ok: ok && exitCode == 0, reason: json["reason"]?.stringValue ?? (ok ? nil : "AgentFailed"),
                               message: json["message"]?.stringValue, json: json)
        }
        if exitCode == 0 && jobSucceeded { return AgentResult(ok: true) }
        let tail = text.split(separator: "\n").last.map(String.init) ?? ""
        return AgentResult(ok: false, reason: "AgentFailed",
                           message: "exit code \(exitCode)" + (tail.isEmpty ? "" : ": " + String(tail.suffix(300))))
    }
}

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
        let manual = job.annotations[BackstopLabels.runNow]
        if r.ok, let artifact = r.json?["artifact"], let id = artifact["id"]?.stringValue {
            let created = time(artifact["createdAt"]?.stringValue) ?? Time(job.finishedAt ?? now.date)
            let verified = r.json?["verification"]?["passed"]?.boolValue ?? false
            var record = BackupRecord(id: id, time: created, sizeBytes: artifact["sizeBytes"]?.intValue,
                                      sha256: artifact["sha256"]?.stringValue, verified: verified, durationSeconds: r.durationSeconds)
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
            c.set(type: BackupConditions.lastBackupSucceeded, status: .true, reason: "BackupSucceeded",
                  message: "\(id) (\(size)) written by Job \(job.name)", observedGeneration: generation, now: now)
            if verified {
                c.set(type: BackupConditions.verified, status: .true, reason: "Verified",
                      message: "\(id): sha256 and format checked after upload", observedGeneration: generation, now: now)
            } else {
                let failed = (r.json?["verification"]?["checks"]?.arrayValue ?? [])
                    .filter { $0["passed"]?.boolValue == false }.compactMap { $0["name"]?.stringValue }
                c.set(type: BackupConditions.verified, status: .false, reason: "VerificationFailed",
                      message: "\(id): " + (failed.isEmpty ? "not verified" : "failed checks: " + failed.joined(separator: ", ")),
                      observedGeneration: generation, now: now)
                events.append(PlannedEvent(warning: true, reason: "VerificationFailed", message: "Backup \(id) did not pass verification"))
            }
            let sha = record.sha256.map { ", sha256 " + String($0.prefix(12)) } ?? ""
            events.append(PlannedEvent(reason: "BackupSucceeded", message:
                "Backup \(id) (\(size)\(sha)) by Job \(job.name)\(r.durationSeconds.map { String(format: " in %.1fs", $0) } ?? "")\(verified ? ", verified" : "")"))
            if r.json?["flagged"]?.boolValue == true {
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
            c.set(type: BackupConditions.lastBackupSucceeded, status: .false, reason: reason,
                  message: "Job \(job.name): \(message)", observedGeneration: generation, now: now)
            events.append(PlannedEvent(warning: true, reason: "BackupFailed", message: "\(reason): \(message) (Job \(job.name))"))
            if integrityReasons.contains(reason) {
                c.set(type: BackupConditions.verified, status: .false, reason: reason,
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
        guard r.ok, let json = r.json else {
            return [PlannedEvent(warning: true, reason: "PruneFailed",
                                 message: "\(r.reason ?? "PruneFailed"): \(r.message ?? "no result") (Job \(job.name))")]
        }
        let deleted = Int(json["deleted"]?.intValue ?? 0)
        let kept = Int(json["kept"]?.intValue ?? 0)
        s.lastPrune = PruneRecord(time: Time(job.finishedAt ?? now.date), deleted: deleted, kept: kept, job: job.name)
        let ids = (json["wouldDelete"]?.arrayValue ?? []).compactMap(\.stringValue)
        if deleted > 0 {
            s.recentBackups = s.recentBackups?.filter { !ids.contains($0.id) }
        }
        let list = ids.prefix(5).joined(separator: ", ") + (ids.count > 5 ? ", …" : "")
        return [PlannedEvent(reason: "Pruned", message: "Deleted \(deleted), kept \(kept) (\(json["rules"]?.stringValue ?? "retention"))"
                             + (deleted > 0 ? ": \(list)" : ""))]
    }

    static func catalog(_ r: AgentResult, job: Job, policy: BackupPolicy, status s: inout BackupPolicyStatus,
                        next: Date?, now: Time) -> [PlannedEvent] {
        guard r.ok, let json = r.json else {
            return [PlannedEvent(warning: true, reason: "CatalogFailed",
                                 message: "\(r.reason ?? "CatalogFailed"): \(r.message ?? "no result") (Job \(job.name))")]
        }
        let items = json["artifacts"]?.arrayValue ?? []
        let count = Int(json["count"]?.intValue ?? Int64(items.count))
        let total = json["totalBytes"]?.intValue ?? 0
        let times = items.compactMap { time($0["createdAt"]?.stringValue) }
        // Without the list (truncated result) the ids of the oldest and newest still carry their times.
        func idTime(_ key: String) -> Time? {
            json[key]?.stringValue.flatMap { try? ArtifactID(parsing: $0) }.map { Time($0.time) }
        }
        s.artifacts = ArtifactSummary(count: count, totalBytes: total, oldest: times.min() ?? idTime("oldest"),
                                      newest: times.max() ?? idTime("newest"))
        if items.isEmpty, let newest = idTime("newest"), s.lastSuccessfulTime.map({ $0 < newest }) ?? true {
            s.lastSuccessfulTime = newest
        }
        let records: [BackupRecord] = items.compactMap { a in
            guard let id = a["id"]?.stringValue else { return nil }
            return BackupRecord(id: id, time: time(a["createdAt"]?.stringValue), sizeBytes: a["sizeBytes"]?.intValue,
                                sha256: a["sha256"]?.stringValue, verified: a["verified"]?.boolValue)
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
        let ids = (json["ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        let pinned = Set((json["pinnedIDs"]?.arrayValue ?? []).compactMap(\.stringValue))
        let fromIDs: [JSONValue] = ids.compactMap { id in
            guard let t = try? ArtifactID(parsing: id) else { return nil }
            return ["id": .string(id), "createdAt": .string(Time(t.time).rfc3339), "pinned": .bool(pinned.contains(id))]
        }
        if json["artifacts"]?.arrayValue != nil && items.count == count {
            s.retentionPlan = RetentionPreview.plan(policy.spec, artifacts: items, nextBackup: next)
        } else if fromIDs.count == count {
            s.retentionPlan = RetentionPreview.plan(policy.spec, artifacts: fromIDs, nextBackup: next)
        } else {
            s.retentionPlan = nil
        }
        return [PlannedEvent(reason: "CatalogRefreshed",
                             message: "\(count) artifacts, \(bytes(total)) in \(json["location"]?.stringValue ?? "the store")")]
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

    static func plan(_ spec: BackupPolicySpec, artifacts: [JSONValue], nextBackup: Date?) -> RetentionPlanStatus? {
        guard let rules = rules(spec.retention), let next = nextBackup else { return nil }
        var items = artifacts.compactMap { a -> RetentionItem? in
            guard let id = a["id"]?.stringValue, let t = a["createdAt"]?.stringValue.flatMap({ Time(rfc3339: $0) }) else { return nil }
            return RetentionItem(id: id, createdAt: t.date, pinned: a["pinned"]?.boolValue ?? false)
        }
        items.append(RetentionItem(id: "(next backup)", createdAt: next))
        let zone = TimeZone(identifier: spec.timeZone ?? "UTC") ?? TimeZone(identifier: "UTC")!
        let plan = RetentionPlanner.plan(items, rules: rules, now: next, timeZone: zone)
        let deletions = plan.toDelete.filter { $0.id != "(next backup)" }.prefix(limit)
            .map { PlannedDeletion(id: $0.id, reason: plan.reason(for: $0)) }
        return RetentionPlanStatus(nextPruneTime: Time(next), wouldDelete: Array(deletions))
    }
}
