import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// Folding a finished cleanup Job's result (read by the shared `AgentResultReader`) into the
/// policy's status: per-target results, the run's totals and times, `LastRunSucceeded`, the
/// Events and metric updates it implies. Pure.
enum CleanupResults {
    struct Fold {
        var events: [PlannedEvent] = []
        var metrics: [CleanupMetricUpdate] = []
    }

    static func fold(_ r: AgentResult, job: Job, policy: CleanupPolicy, status s: inout CleanupPolicyStatus,
                     conditions c: inout [Condition], generation: Int64?, now: Time) -> Fold {
        var out = Fold()
        let reports = r.report.results ?? []
        let dryRun = r.report.dryRun ?? policy.spec.dryRun ?? false
        let finished = Time(job.finishedAt ?? now.date)
        s.lastRunJob = job.name
        s.lastRunDryRun = dryRun
        s.lastRunTime = job.metadata.creationTimestamp ?? finished
        s.results = reports.map(result)
        s.lastRunDeleted = reports.reduce(0) { $0 + ($1.deleted ?? 0) }
        for report in reports where (report.deleted ?? 0) > 0 {
            out.metrics.append(.deleted(target: report.target, count: report.deleted ?? 0))
        }
        // An acknowledgment authorises the run it was given for: once used, it is spent.
        for report in reports {
            guard let count = report.acknowledged else { continue }
            let entry = "\(report.target)=\(count)"
            if !(s.allowDeleteUsed ?? []).contains(entry) { s.allowDeleteUsed = (s.allowDeleteUsed ?? []) + [entry] }
        }
        let summary = describe(reports, dryRun: dryRun)
        let manual = job.annotations[BackstopLabels.runNow]
        if r.ok {
            s.lastSuccessfulTime = max(s.lastSuccessfulTime ?? finished, finished)
            c.set(CleanupPolicyConditions.LastRunSucceeded.self, .true, dryRun ? .dryRunSucceeded : .runSucceeded,
                  message: "Job \(job.name): \(summary)", observedGeneration: generation, now: now)
            out.events.append(PlannedEvent(reason: dryRun ? "DryRunSucceeded" : "CleanupSucceeded", message: "\(summary) (Job \(job.name))"))
        } else {
            let reason = r.reason ?? "RunFailed"
            let message = (r.message ?? "the agent reported no result") + spentNote(reports, policy: policy, status: s)
            c.set(CleanupPolicyConditions.LastRunSucceeded.self, .false, .init(rawValue: reason),
                  message: "Job \(job.name): \(message)" + (reports.isEmpty ? "" : "; \(summary)"), observedGeneration: generation, now: now)
            out.events.append(PlannedEvent(warning: true, reason: reason == "DeleteLimitExceeded" ? reason : "CleanupFailed",
                                           message: "\(reason): \(message) (Job \(job.name))"))
        }
        if let manual {
            if s.lastManualRun?.value != manual {
                var run = ManualRun(value: manual)
                run.job = job.name
                run.startedAt = job.metadata.creationTimestamp
                s.lastManualRun = run
            }
            s.lastManualRun?.result = r.ok ? .succeeded : .failed
            s.lastManualRun?.finishedAt = finished
            s.lastManualRun?.message = r.ok ? summary : "\(r.reason ?? "RunFailed"): \(r.message ?? "")"
        }
        return out
    }

    /// For a refusal while the annotation still holds an acknowledgment an earlier run used:
    /// why it did not count, and how to give it again.
    static func spentNote(_ reports: [CleanupTargetReport], policy: CleanupPolicy, status: CleanupPolicyStatus) -> String {
        let annotation = policy.metadata.annotations?[Backstop.allowDeleteAnnotation] ?? ""
        let current = Set(annotation.split(separator: ",").map { $0.filter { !$0.isWhitespace } })
        let spent = reports.filter { $0.reason == "DeleteLimitExceeded" }.flatMap { report in
            (status.allowDeleteUsed ?? []).filter { $0.hasPrefix(report.target + "=") && current.contains($0) }
        }
        guard !spent.isEmpty else { return "" }
        return ". \(Backstop.allowDeleteAnnotation) \(spent.joined(separator: ", ")) was used by an earlier run and authorises no other "
            + "(an acknowledgment is for one run): set the count this run reports, or remove the annotation and set it again"
    }

    static func result(_ report: CleanupTargetReport) -> CleanupResult {
        var out = CleanupResult(target: report.target, deleted: report.deleted)
        out.bytesFreed = report.bytesFreed
        out.wouldDelete = report.wouldDelete
        out.wouldFreeBytes = report.wouldFreeBytes
        out.total = report.total
        out.oldest = report.oldest.flatMap { Time(rfc3339: $0) }
        out.newest = report.newest.flatMap { Time(rfc3339: $0) }
        out.durationSeconds = report.durationSeconds
        out.reason = report.reason
        out.error = report.error.map { String($0.prefix(4000)) }
        return out
    }

    /// "deleted 25 (agent-runs 25, reports 0); failed: exports" — what a person reads first.
    static func describe(_ reports: [CleanupTargetReport], dryRun: Bool) -> String {
        let done = reports.filter { $0.error == nil }
        let failed = reports.filter { $0.error != nil }
        let counts = done.map { "\($0.target) \((dryRun ? $0.wouldDelete : $0.deleted) ?? 0)" }
        let total = done.reduce(Int64(0)) { $0 + ((dryRun ? $1.wouldDelete : $1.deleted) ?? 0) }
        var text = "\(dryRun ? "would delete" : "deleted") \(total)" + (counts.isEmpty ? "" : " (\(counts.joined(separator: ", ")))")
        if !failed.isEmpty { text += "; failed: " + failed.map { "\($0.target) (\($0.reason ?? "error"))" }.joined(separator: ", ") }
        return text
    }
}
