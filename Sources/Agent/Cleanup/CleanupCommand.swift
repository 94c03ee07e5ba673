import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

extension AgentRunner {
    /// `backstop agent cleanup`: age-based deletion in live stores (the retention table of an
    /// operations runbook; ClickHouse partitions of a disaster-recovery runbook). Per target:
    /// count first, apply the guard, then delete exactly what was counted — or, dry, nothing.
    /// Every target runs even when one fails; the exit code is the first failure's.
    static func cleanup(_ spec: AgentSpec, _ context: AgentContext) async throws -> (AgentReport, Int32) {
        guard let targets = spec.targets, !targets.isEmpty else { throw AgentError(.specInvalid, "targets is required") }
        let dryRun = spec.dryRun ?? false
        // The reference time is fixed once per run (the controller passes the slot time), so a
        // repeated Job for one slot counts and deletes the same set.
        let now = spec.now == nil ? nil : try spec.clock(context)
        var reports: [CleanupTargetReport] = []
        var first: AgentError?
        for target in targets {
            let started = Date()
            var report = CleanupTargetReport(target: target.name ?? target.label)
            do {
                try await target.apply(now: now ?? context.now(), serverClock: now == nil, dryRun: dryRun, into: &report, context: context)
            } catch {
                let failure = error as? AgentError ?? AgentError(.cleanupFailed, "\(error)")
                report.reason = failure.reason.rawValue
                // Short enough that several targets' results fit the 4 KiB termination message
                // (the full message is in the log and, for the first failure, in `message`).
                report.error = failure.message.count > 400 ? String(failure.message.prefix(399)) + "…" : failure.message
                context.progress("cleanup: \(report.target): \(failure)")
                first = first ?? AgentError(failure.reason, "\(report.target): \(failure.message)")
            }
            report.durationSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
            reports.append(report)
        }
        var result = AgentReport()
        result.dryRun = dryRun
        result.results = reports
        guard let first else { return (result, AgentExitCode.success) }
        let failed = reports.filter { $0.error != nil }.count
        result.reason = first.reason.rawValue
        result.message = failed > 1 ? "\(first.message) (and \(failed - 1) more failed targets)" : first.message
        return (result, first.reason.exitCode)
    }
}

/// What counting one target found, before anything is deleted: the guard's input, the dry
/// run's answer, and (`delete`) how to remove exactly those items.
struct CleanupCandidates: Sendable {
    /// `rows`, `objects`, `files` or `partitions`.
    var unit: String
    var count: Int64
    /// Items the target holds in all (the guard's denominator).
    var total: Int64
    var bytes: Int64?
    var oldest: Date?
    var newest: Date?
    /// Deletes what was counted; returns (deleted, bytes freed when known).
    var delete: @Sendable (AgentContext) async throws -> (Int64, Int64?)
}

extension CleanupTargetSpec {
    var label: String {
        if let sql { return "sql \(sql.connection.database).\(sql.table)" }
        if let s3 { return "s3://\(s3.bucket)/\(s3.prefix ?? "")" }
        if let volume { return "volume \(volume.path)/\(volume.subPath ?? "")" }
        if let clickhouse { return "clickhouse \(clickhouse.database).\(clickhouse.table)" }
        return "(empty target)"
    }

    /// Counts, guards and (unless `dryRun`) deletes; fills `report`. `serverClock`: SQL takes
    /// `now()` from the database server instead of `now`.
    func apply(now: Date, serverClock: Bool, dryRun: Bool, into report: inout CleanupTargetReport, context: AgentContext) async throws {
        let found = try await candidates(now: now, serverClock: serverClock)
        report.total = found.total
        report.oldest = found.oldest.map(UTCTimestamp.rfc3339)
        report.newest = found.newest.map(UTCTimestamp.rfc3339)
        if dryRun {
            report.wouldDelete = found.count
            report.wouldFreeBytes = found.bytes
        }
        let limits = CleanupGuard(maxDeletePercent: maxDeletePercent, maxDeleteCount: maxDeleteCount, allowDeleteCount: allowDeleteCount)
        if let refusal = limits.refusal(count: found.count, total: found.total, unit: found.unit, target: name ?? label) {
            throw AgentError(.deleteLimitExceeded, refusal)
        }
        guard !dryRun, found.count > 0 else {
            if !dryRun { report.deleted = 0 }
            return
        }
        let unacknowledged = CleanupGuard(maxDeletePercent: maxDeletePercent, maxDeleteCount: maxDeleteCount)
        if unacknowledged.refusal(count: found.count, total: found.total, unit: found.unit, target: name ?? label) != nil {
            report.acknowledged = allowDeleteCount
        }
        context.progress("cleanup: \(report.target): deleting \(found.count) of \(found.total) \(found.unit)")
        let (deleted, bytes) = try await found.delete(context)
        report.deleted = deleted
        report.bytesFreed = bytes
    }

    func candidates(now: Date, serverClock: Bool) async throws -> CleanupCandidates {
        let kinds = [sql != nil, s3 != nil, volume != nil, clickhouse != nil].filter { $0 }.count
        guard kinds == 1 else { throw AgentError(.specInvalid, "a cleanup target needs exactly one of sql, s3, volume or clickhouse") }
        if let sql { return try await SQLRowCleanup(spec: sql).candidates(now: serverClock ? nil : now) }
        if let clickhouse { return try await ClickHousePartitionCleanup(spec: clickhouse).candidates(now: now) }
        if let s3 {
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: s3.bucket))
            return try await StoreCleanup(store: store, prefix: s3.prefix ?? "", include: nil, unit: "objects")
                .candidates(before: now.addingTimeInterval(-Double(s3.maxAge.seconds)))
        }
        let volume = volume!
        let store = try VolumeStore(root: volume.path)
        var prefix = AgentPaths.relative(volume.subPath)
        if !prefix.isEmpty { prefix += "/" }
        return try await StoreCleanup(store: store, prefix: prefix, include: volume.include, unit: "files")
            .candidates(before: now.addingTimeInterval(-Double(volume.maxAge.seconds)))
    }
}

/// `volume.subPath` as a key prefix: relative, never leaving the mounted claim.
enum AgentPaths {
    static func relative(_ path: String?) -> String {
        (path ?? "").split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}
