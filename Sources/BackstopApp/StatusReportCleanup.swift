import Foundation
import KubeModel

/// The CleanupPolicy part of `backstop status`: each policy's last run, what it deleted (or
/// would, dry), the next run and — failing policies first — why the last run failed (the guard's
/// refusal quotes its numbers there). Empty when there are no cleanup policies.
extension StatusReport {
    /// `Reason: message` of the condition that explains a failing cleanup policy; nil when healthy.
    public static func problem(_ policy: CleanupPolicy) -> String? {
        let conditions = policy.status?.conditions ?? []
        func text(_ c: Condition) -> String { c.message.isEmpty ? c.reason : "\(c.reason): \(c.message)" }
        if let c = conditions.find(CleanupPolicyConditions.LastRunSucceeded.self), c.status == .false { return text(c) }
        if let c = conditions.find(CleanupPolicyConditions.Ready.self), c.status == .false { return text(c) }
        return nil
    }

    public static func renderCleanups(_ policies: [CleanupPolicy], now: Date, listProblems: Bool = true) -> String {
        guard !policies.isEmpty else { return "" }
        let sorted = policies.sorted {
            (problem($0) == nil ? 1 : 0, $0.metadata.namespace ?? "", $0.metadata.name ?? "")
                < (problem($1) == nil ? 1 : 0, $1.metadata.namespace ?? "", $1.metadata.name ?? "")
        }
        var table = [["NAMESPACE", "CLEANUP", "TARGETS", "LAST RUN", "DELETED", "NEXT RUN", "READY", "PROBLEM"]]
        for p in sorted {
            let s = p.status
            let deleted: String
            if s?.lastRunDryRun == true {
                deleted = "would \(s?.results?.reduce(Int64(0)) { $0 + ($1.wouldDelete ?? 0) } ?? 0)"
            } else {
                deleted = s?.lastRunDeleted.map(String.init) ?? "-"
            }
            table.append([p.metadata.namespace ?? "", p.metadata.name ?? "", String(p.spec.targets.count),
                          s?.lastRunTime.map { "\(age($0.date, now: now)) ago" } ?? "never", deleted,
                          s?.nextRunTime.map { next($0.date, now: now) } ?? "-",
                          s?.conditions?.find(CleanupPolicyConditions.Ready.self)?.status.rawValue ?? "Unknown",
                          problem(p).map { String($0.prefix(while: { $0 != ":" })) } ?? "-"])
        }
        let failing = sorted.filter { problem($0) != nil }
        var out = "\n" + columns(table) + "\n\(sorted.count) cleanup policies, \(failing.count) need attention.\n"
        for p in failing where listProblems {
            out += "  \(p.metadata.namespace ?? "")/\(p.metadata.name ?? ""): \(problem(p)!)\n"
        }
        return out
    }
}
