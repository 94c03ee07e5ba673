import Foundation

/// The guard a cron one-liner never had: a run that would delete more than a share of a
/// target (a wrong timestamp column, a clock far off, a prefix typo) or more than a count
/// deletes nothing of it and says so with the numbers. An acknowledgment of the observed count
/// (the `backstop.dev/allow-delete` annotation) lets exactly that much through. Pure.
struct CleanupGuard: Sendable, Hashable {
    /// nil: no share limit (the controller fills in the default).
    var maxDeletePercent: Int?
    var maxDeleteCount: Int64?
    var allowDeleteCount: Int64?

    /// nil when `count` of `total` may be deleted; else why not, with the numbers and what to do.
    func refusal(count: Int64, total: Int64, unit: String, target: String) -> String? {
        guard count > 0 else { return nil }
        if let allowed = allowDeleteCount, count <= allowed { return nil }
        var over: [String] = []
        if let percent = maxDeletePercent, total > 0, count * 100 > Int64(percent) * total {
            over.append("maxDeletePercent=\(percent)")
        }
        if let limit = maxDeleteCount, count > limit { over.append("maxDeleteCount=\(limit)") }
        guard !over.isEmpty else { return nil }
        let share = total > 0 ? String(format: " (%.1f%%)", Double(count) * 100 / Double(total)) : ""
        let acknowledged = allowDeleteCount.map { " The acknowledgment allows only \($0)." } ?? ""
        return "would delete \(count) of \(total) \(unit)\(share), over \(over.joined(separator: " and ")); nothing was deleted."
            + acknowledged + " If that is intended, annotate the policy backstop.dev/allow-delete=\(target)=\(count) (or raise the limit)"
    }
}
