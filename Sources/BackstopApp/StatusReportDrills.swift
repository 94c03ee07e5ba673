import Foundation
import KubeModel

/// The drill part of `backstop status`: "when did we last prove we can restore X, and with
/// what RTO and RPO" is the policy's LAST DRILL cell; running drills and those that failed
/// in the last 24 hours follow the restores.
extension StatusReport {
    /// `Passed 3h ago, RTO 42s, RPO 5s`; `-` before the first drill.
    static func drillCell(_ record: DrillRecord?, now: Date) -> String {
        guard let record else { return "-" }
        var parts = [record.result?.rawValue ?? "?"]
        if let time = record.time { parts[0] += " \(age(time.date, now: now)) ago" }
        if let rto = record.rtoSeconds { parts.append("RTO \(rto)s") }
        if let rpo = record.rpoSeconds { parts.append("RPO \(rpo)s") }
        return parts.joined(separator: ", ")
    }

    public static func renderDrills(_ drills: [DrillRun], now: Date) -> String {
        func finished(_ d: DrillRun) -> Bool { d.status?.phase == .completed }
        let shown = shownDrills(drills, now: now)
        guard !shown.isEmpty else { return "" }
        var table = [["NAMESPACE", "DRILL", "POLICY", "PHASE", "STEP", "STARTED", "DETAIL"]]
        for d in shown {
            let running = d.status?.steps?.first { $0.phase == .running }
            let phase = finished(d) ? (d.status?.result?.rawValue ?? "Completed") : (d.status?.phase?.rawValue ?? "Pending")
            table.append([d.metadata.namespace ?? "", d.metadata.name ?? "", d.spec.policyRef.name, phase, d.status?.currentStep ?? "-",
                          d.status?.startedAt.map { "\(age($0.date, now: now)) ago" } ?? "-",
                          String((running?.message ?? d.status?.message ?? "").prefix(100))])
        }
        let active = shown.filter { !finished($0) }.count
        return "\n" + columns(table) + "\n\(active) drill(s) running, \(shown.count - active) failed in the last 24 h.\n"
    }

    /// Running drills first, then those that failed in the last 24 hours; by namespace and name.
    public static func shownDrills(_ drills: [DrillRun], now: Date) -> [DrillRun] {
        func finished(_ d: DrillRun) -> Bool { d.status?.phase == .completed }
        return drills.filter { d in
            !finished(d) || (d.status?.result == .failed && (d.status?.finishedAt?.date).map { now.timeIntervalSince($0) < 86400 } == true)
        }.sorted { a, b in
            (finished(a) ? 1 : 0, a.metadata.namespace ?? "", a.metadata.name ?? "") < (finished(b) ? 1 : 0, b.metadata.namespace ?? "", b.metadata.name ?? "")
        }
    }
}
