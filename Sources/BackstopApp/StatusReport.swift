import Foundation
import KubeClient
import KubeModel

/// `backstop status`: one screen for an incident. Every BackupPolicy with its last success (and
/// how old it is), last verified backup, next run, artifacts and — first, where it matters — why
/// it is failing, and its last drill (result, RTO, RPO); then every running restore and drill at
/// its step, and the restores and drills that failed today; then the cleanup policies
/// (`StatusReportCleanup.swift`); then every SecretRotation: last rotated when, and whether every
/// consumer came back ready.
/// Pure formatting over decoded objects, so it is tested without a cluster.
public enum StatusReport {
    public struct Row: Sendable, Equatable {
        public var namespace: String
        public var name: String
        public var source: String
        public var lastSuccess: Date?
        public var lastVerified: Date?
        public var nextRun: Date?
        public var artifacts: Int?
        /// The newest finished drill: result, age, RTO and RPO.
        public var lastDrill: DrillRecord?
        public var ready: String
        /// `Reason: message` of the condition that explains the trouble; nil when healthy.
        public var problem: String?
    }

    /// The condition that best explains a failing policy: a failed last backup, then a stale
    /// policy, a failed verification, and last `Ready=False` (an invalid spec or missing Secret;
    /// `Ready` also summarises the others, so it is the fallback).
    public static func problem(_ policy: BackupPolicy) -> String? {
        let conditions = policy.status?.conditions ?? []
        func text(_ c: Condition) -> String { c.message.isEmpty ? c.reason : "\(c.reason): \(c.message)" }
        if let c = conditions.find("LastBackupSucceeded"), c.status == .false { return text(c) }
        if let c = conditions.find("Stale"), c.status == .true { return text(c) }
        if let c = conditions.find("Verified"), c.status == .false { return text(c) }
        if let c = conditions.find("LastDrillPassed"), c.status == .false { return text(c) }
        if let c = conditions.find("Ready"), c.status == .false { return text(c) }
        if policy.spec.suspend == true { return "Suspended: spec.suspend is true" }
        return nil
    }

    public static func row(_ policy: BackupPolicy) -> Row {
        let status = policy.status
        let ready = status?.conditions?.find("Ready")?.status.rawValue ?? "Unknown"
        return Row(namespace: policy.metadata.namespace ?? "", name: policy.metadata.name ?? "",
                   source: status?.source ?? policy.spec.source.summary,
                   lastSuccess: status?.lastSuccessfulTime?.date, lastVerified: status?.lastVerifiedTime?.date,
                   nextRun: status?.nextScheduleTime?.date, artifacts: status?.artifacts?.count,
                   lastDrill: status?.lastDrill, ready: ready, problem: problem(policy))
    }

    /// The table, failing policies first, then by namespace and name; problems are listed
    /// in full below it (messages are too long for a column) unless `listProblems` is false
    /// (the whole screen lists them at the top, with the next action).
    public static func render(_ policies: [BackupPolicy], now: Date, listProblems: Bool = true) -> String {
        let rows = policies.map(row).sorted {
            ($0.problem == nil ? 1 : 0, $0.namespace, $0.name) < ($1.problem == nil ? 1 : 0, $1.namespace, $1.name)
        }
        if rows.isEmpty { return "No BackupPolicies found.\n" }
        var table = [["NAMESPACE", "NAME", "SOURCE", "LAST SUCCESS", "LAST VERIFIED", "NEXT RUN", "ARTIFACTS", "LAST DRILL", "READY", "PROBLEM"]]
        for r in rows {
            table.append([r.namespace, r.name, r.source,
                          r.lastSuccess.map { "\(age($0, now: now)) ago" } ?? "never",
                          r.lastVerified.map { "\(age($0, now: now)) ago" } ?? "never",
                          r.nextRun.map { next($0, now: now) } ?? "-",
                          r.artifacts.map(String.init) ?? "-", drillCell(r.lastDrill, now: now), r.ready,
                          r.problem.map { String($0.prefix(while: { $0 != ":" })) } ?? "-"])
        }
        var out = columns(table)
        let failing = rows.filter { $0.problem != nil }
        out += "\n\(rows.count) policies, \(rows.count - failing.count) healthy, \(failing.count) need attention.\n"
        for r in failing where listProblems {
            out += "  \(r.namespace)/\(r.name): \(r.problem!)\n"
        }
        return out
    }

    /// Restores an SRE must see: every running one (its step and what it waits for), and those
    /// that failed in the last 24 hours with their reason. Empty when there are none.
    public static func renderRestores(_ requests: [RestoreRequest], now: Date) -> String {
        func finished(_ r: RestoreRequest) -> Bool { r.status?.phase == .succeeded || r.status?.phase == .failed }
        let shown = shownRestores(requests, now: now)
        guard !shown.isEmpty else { return "" }
        var table = [["NAMESPACE", "RESTORE", "POLICY", "BACKUP", "PHASE", "STEP", "STARTED", "DETAIL"]]
        for r in shown {
            let running = r.status?.steps?.first { $0.phase == .running }
            table.append([r.metadata.namespace ?? "", r.metadata.name ?? "", r.spec.policyRef.name, r.status?.backup?.id ?? "-",
                          r.status?.phase?.rawValue ?? "Pending", r.status?.currentStep ?? "-",
                          r.status?.startedAt.map { "\(age($0.date, now: now)) ago" } ?? "-",
                          String((running?.message ?? r.status?.message ?? "").prefix(100))])
        }
        let active = shown.filter { !finished($0) }.count
        return "\n" + columns(table) + "\n\(active) restore(s) running, \(shown.count - active) failed in the last 24 h.\n"
    }

    /// Running restores first, then those that failed in the last 24 hours; by namespace and name.
    public static func shownRestores(_ requests: [RestoreRequest], now: Date) -> [RestoreRequest] {
        func finished(_ r: RestoreRequest) -> Bool { r.status?.phase == .succeeded || r.status?.phase == .failed }
        return requests.filter { r in
            !finished(r) || (r.status?.phase == .failed && (r.status?.finishedAt?.date).map { now.timeIntervalSince($0) < 86400 } == true)
        }.sorted { a, b in
            (finished(a) ? 1 : 0, a.metadata.namespace ?? "", a.metadata.name ?? "") < (finished(b) ? 1 : 0, b.metadata.namespace ?? "", b.metadata.name ?? "")
        }
    }

    /// Reads every BackupPolicy, RestoreRequest, DrillRun, CleanupPolicy and SecretRotation (in `namespace`, or all) through the API and renders them.
    public static func fetch(_ client: KubeClient, namespace: String?, now: Date = Date()) async throws -> String {
        render(try await StatusSnapshot.fetch(client, namespace: namespace), now: now)
    }

    /// kubectl-style age: `45s`, `12m`, `3h`, `5h12m` below 8 h, `4d`, `2d6h` below 3 days.
    public static func age(_ date: Date, now: Date) -> String {
        let s = max(0, Int(now.timeIntervalSince(date)))
        if s < 120 { return "\(s)s" }
        let m = s / 60
        if m < 60 { return "\(m)m" }
        let h = m / 60
        if h < 8 { return m % 60 == 0 ? "\(h)h" : "\(h)h\(m % 60)m" }
        if h < 48 { return "\(h)h" }
        let d = h / 24
        if d < 3, h % 24 != 0 { return "\(d)d\(h % 24)h" }
        return "\(d)d"
    }

    static func next(_ date: Date, now: Date) -> String {
        date <= now ? "due" : "in \(age(now, now: date))"
    }

    static func columns(_ table: [[String]]) -> String {
        var widths = [Int](repeating: 0, count: table[0].count)
        for row in table { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return table.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 3, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }
}
