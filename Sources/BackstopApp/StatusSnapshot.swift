import Foundation
import KubeClient
import KubeModel

/// The objects `backstop status` reports on, read once: every BackupPolicy, RestoreRequest,
/// DrillRun, SecretRotation and CleanupPolicy in one namespace or all.
public struct StatusSnapshot: Sendable {
    public var namespace: String?
    public var policies: [BackupPolicy] = []
    public var restores: [RestoreRequest] = []
    public var drills: [DrillRun] = []
    public var rotations: [SecretRotation] = []
    public var cleanups: [CleanupPolicy] = []

    public init(namespace: String? = nil, policies: [BackupPolicy] = [], restores: [RestoreRequest] = [], drills: [DrillRun] = [],
                rotations: [SecretRotation] = [], cleanups: [CleanupPolicy] = []) {
        self.namespace = namespace
        self.policies = policies
        self.restores = restores
        self.drills = drills
        self.rotations = rotations
        self.cleanups = cleanups
    }

    public static func fetch(_ client: KubeClient, namespace: String?) async throws -> StatusSnapshot {
        StatusSnapshot(namespace: namespace,
                       policies: try await client.resource(BackupPolicy.self, namespace: namespace).listAll().items,
                       restores: try await client.resource(RestoreRequest.self, namespace: namespace).listAll().items,
                       drills: try await client.resource(DrillRun.self, namespace: namespace).listAll().items,
                       rotations: try await client.resource(SecretRotation.self, namespace: namespace).listAll().items,
                       cleanups: try await client.resource(CleanupPolicy.self, namespace: namespace).listAll().items)
    }
}

extension StatusReport {
    /// The whole screen: what is failing (with its reason and next action) first, then one table
    /// per kind — policies with retention's next deletions, restores, drills, cleanups, rotations.
    public static func render(_ snapshot: StatusSnapshot, now: Date) -> String {
        attention(StatusDocument(snapshot, now: now)) + render(snapshot.policies, now: now, listProblems: false)
            + renderRetention(snapshot.policies, now: now) + renderRestores(snapshot.restores, now: now) + renderDrills(snapshot.drills, now: now)
            + renderCleanups(snapshot.cleanups, now: now, listProblems: false) + renderRotations(snapshot.rotations, now: now)
    }

    /// `N failing, N running, N ok`, then every failing object across kinds with its reason,
    /// message and next action.
    static func attention(_ doc: StatusDocument) -> String {
        typealias Line = (kind: String, namespace: String, name: String, reason: String?, message: String?, next: String?)
        var failing: [Line] = []
        for p in doc.backupPolicies where p.state == .failing { failing.append(("BackupPolicy", p.namespace, p.name, p.reason, p.message, p.nextAction)) }
        for r in doc.restoreRequests where r.state == .failing { failing.append(("RestoreRequest", r.namespace, r.name, r.reason, r.message, r.nextAction)) }
        for d in doc.drillRuns where d.state == .failing { failing.append(("DrillRun", d.namespace, d.name, d.reason, d.message, d.nextAction)) }
        for c in doc.cleanupPolicies where c.state == .failing { failing.append(("CleanupPolicy", c.namespace, c.name, c.reason, c.message, c.nextAction)) }
        for r in doc.secretRotations where r.state == .failing { failing.append(("SecretRotation", r.namespace, r.name, r.reason, r.message, r.nextAction)) }
        let s = doc.summary
        var out = "\(s.failing) failing, \(s.running) running, \(s.ok) ok.\n"
        guard !failing.isEmpty else { return out + "\n" }
        out += "\nFAILING\n"
        for f in failing {
            out += "  \(f.kind) \(f.namespace)/\(f.name): \([f.reason, f.message].compactMap { $0 }.joined(separator: ": "))\n"
            if let next = f.next { out += "    next: \(next)\n" }
        }
        return out + "\n"
    }

    /// What each policy's next prune deletes, and why; empty when no prune would delete anything.
    public static func renderRetention(_ policies: [BackupPolicy], now: Date) -> String {
        let planned = policies.filter { !($0.status?.retentionPlan?.wouldDelete ?? []).isEmpty }
            .sorted { ($0.metadata.namespace ?? "", $0.metadata.name ?? "") < ($1.metadata.namespace ?? "", $1.metadata.name ?? "") }
        guard !planned.isEmpty else { return "" }
        var out = "\nRetention, next deletions:\n"
        for p in planned {
            let plan = p.status!.retentionPlan!
            let deletions = plan.wouldDelete ?? []
            let when = plan.nextPruneTime.map { "at \($0.rfc3339) (\(next($0.date, now: now)))" } ?? "at the next prune"
            out += "  \(p.metadata.namespace ?? "")/\(p.metadata.name ?? "") \(when) deletes \(deletions.count):\n"
            for d in deletions.prefix(5) { out += "    \(d.id)  (\(d.reason))\n" }
            if deletions.count > 5 { out += "    … and \(deletions.count - 5) more (kubectl get bp -n \(p.metadata.namespace ?? "") \(p.metadata.name ?? "") -o yaml)\n" }
        }
        return out
    }
}
