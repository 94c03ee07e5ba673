import Foundation
import KubeModel

/// `backstop status -o json`: the incident screen as one stable document for scripts
/// (documented in docs/incident.md). Every item carries `namespace`, `name`, `state`
/// (`failing`, `running`, `ok`), `reason`, `message` and `nextAction`, then the times and figures
/// of its kind; times are RFC 3339 UTC, absent fields are unknown or never happened. Lists hold
/// the same objects as the screen, failing first, then by namespace and name.
public struct StatusDocument: Codable, Sendable, Equatable {
    public var apiVersion = "backstop.dev/v1alpha1"
    public var kind = "StatusReport"
    public var generatedAt: String
    /// nil: all namespaces.
    public var namespace: String?
    public var summary: Summary
    public var backupPolicies: [Policy]
    /// Running restores and those that failed in the last 24 hours.
    public var restoreRequests: [Restore]
    /// Running drills and those that failed in the last 24 hours (the last drill of each policy is in `backupPolicies[].lastDrill`).
    public var drillRuns: [Drill]
    public var secretRotations: [Rotation]
    public var cleanupPolicies: [Cleanup]

    public struct Summary: Codable, Sendable, Equatable {
        public var failing = 0, running = 0, ok = 0
        public init(failing: Int = 0, running: Int = 0, ok: Int = 0) {
            self.failing = failing
            self.running = running
            self.ok = ok
        }
    }

    public struct Policy: Codable, Sendable, Equatable {
        public var namespace, name: String
        public var state: StatusAssessment.State
        public var reason, message, nextAction: String?
        public var source: String
        public var lastSuccessfulTime, lastVerifiedTime, nextScheduleTime: String?
        public var lastBackup: LastBackup?
        public var artifacts: Int?
        public var lastDrill: LastDrill?
        public var retention: Retention?
    }

    public struct LastBackup: Codable, Sendable, Equatable {
        public var id: String
        public var time: String?
        public var sizeBytes: Int64?
        public var verified: Bool?
    }

    public struct LastDrill: Codable, Sendable, Equatable {
        public var name: String
        public var result: String?
        public var time: String?
        public var rtoSeconds, rpoSeconds: Int?
    }

    /// What the next prune deletes (`status.retentionPlan`).
    public struct Retention: Codable, Sendable, Equatable {
        public var nextPruneTime: String?
        public var wouldDelete: [Deletion]
    }

    public struct Deletion: Codable, Sendable, Equatable {
        public var id, reason: String
    }

    /// `step` (restores, drills, rotations): the step running now; absent once finished.
    public struct Restore: Codable, Sendable, Equatable {
        public var namespace, name: String
        public var state: StatusAssessment.State
        public var reason, message, nextAction: String?
        public var policy: String
        public var backup: String?
        public var phase: String
        public var step: String?
        public var startedAt, finishedAt: String?
        public var durationSeconds: Int?
        /// What Resume scales each quiesced writer back to, e.g. `Deployment/api: 3`.
        public var savedReplicas: [String: Int]?
    }

    public struct Drill: Codable, Sendable, Equatable {
        public var namespace, name: String
        public var state: StatusAssessment.State
        public var reason, message, nextAction: String?
        public var policy: String
        public var phase: String
        public var step, result: String?
        public var rtoSeconds, rpoSeconds: Int?
        public var startedAt, finishedAt: String?
        public var reasons: [String]?
    }

    public struct Rotation: Codable, Sendable, Equatable {
        public var namespace, name: String
        public var state: StatusAssessment.State
        public var reason, message, nextAction: String?
        public var secret: String
        public var phase: String
        public var step: String?
        public var lastRotationTime, nextRotationTime: String?
        /// `ready/total`.
        public var consumersReady: String?
        public var consumers: [Consumer]
    }

    public struct Consumer: Codable, Sendable, Equatable {
        public var kind, name: String
        public var restartedAt: String?
        public var ready: Bool?
    }

    public struct Cleanup: Codable, Sendable, Equatable {
        public var namespace, name: String
        public var state: StatusAssessment.State
        public var reason, message, nextAction: String?
        public var lastRunTime, nextRunTime: String?
        public var lastRunDryRun: Bool?
        public var deleted, wouldDelete: Int64?
    }

    /// Pretty, keys sorted: the same objects give the same bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

extension StatusDocument {
    public init(_ snapshot: StatusSnapshot, now: Date) {
        func t(_ time: Time?) -> String? { time?.rfc3339 }
        func order<T>(_ items: [T], _ key: (T) -> (StatusAssessment.State, String, String)) -> [T] {
            items.sorted { key($0) < key($1) }
        }
        generatedAt = Time(now).rfc3339
        namespace = snapshot.namespace
        backupPolicies = order(snapshot.policies.map { p in
            let a = StatusReport.assess(p), s = p.status
            return Policy(namespace: p.metadata.namespace ?? "", name: p.metadata.name ?? "", state: a.state, reason: a.reason,
                          message: a.message, nextAction: a.nextAction, source: s?.source ?? p.spec.source.summary,
                          lastSuccessfulTime: t(s?.lastSuccessfulTime), lastVerifiedTime: t(s?.lastVerifiedTime),
                          nextScheduleTime: t(s?.nextScheduleTime),
                          lastBackup: s?.lastBackup.map { LastBackup(id: $0.id, time: t($0.time), sizeBytes: $0.sizeBytes, verified: $0.verified) },
                          artifacts: s?.artifacts?.count,
                          lastDrill: s?.lastDrill.map { LastDrill(name: $0.name, result: $0.result?.rawValue, time: t($0.time),
                                                                  rtoSeconds: $0.rtoSeconds, rpoSeconds: $0.rpoSeconds) },
                          retention: s?.retentionPlan.map { Retention(nextPruneTime: t($0.nextPruneTime),
                                                                      wouldDelete: ($0.wouldDelete ?? []).map { Deletion(id: $0.id, reason: $0.reason) }) })
        }) { ($0.state, $0.namespace, $0.name) }
        restoreRequests = order(StatusReport.shownRestores(snapshot.restores, now: now).map { r in
            let a = StatusReport.assess(r), s = r.status
            return Restore(namespace: r.metadata.namespace ?? "", name: r.metadata.name ?? "", state: a.state, reason: a.reason,
                           message: a.message, nextAction: a.nextAction, policy: r.spec.policyRef.name, backup: s?.backup?.id,
                           phase: s?.phase?.rawValue ?? "Pending", step: a.state == .running ? s?.currentStep : nil, startedAt: t(s?.startedAt),
                           finishedAt: t(s?.finishedAt), durationSeconds: s?.durationSeconds, savedReplicas: s?.savedReplicas)
        }) { ($0.state, $0.namespace, $0.name) }
        drillRuns = order(StatusReport.shownDrills(snapshot.drills, now: now).map { d in
            let a = StatusReport.assess(d), s = d.status
            return Drill(namespace: d.metadata.namespace ?? "", name: d.metadata.name ?? "", state: a.state, reason: a.reason,
                         message: a.message, nextAction: a.nextAction, policy: d.spec.policyRef.name, phase: s?.phase?.rawValue ?? "Pending",
                         step: a.state == .running ? s?.currentStep : nil, result: s?.result?.rawValue, rtoSeconds: s?.measured?.rtoSeconds,
                         rpoSeconds: s?.measured?.rpoSeconds, startedAt: t(s?.startedAt), finishedAt: t(s?.finishedAt), reasons: s?.reasons)
        }) { ($0.state, $0.namespace, $0.name) }
        secretRotations = order(snapshot.rotations.map { r in
            let a = StatusReport.assess(r), s = r.status
            return Rotation(namespace: r.metadata.namespace ?? "", name: r.metadata.name ?? "", state: a.state, reason: a.reason,
                            message: a.message, nextAction: a.nextAction, secret: r.spec.secretRef.name, phase: s?.phase?.rawValue ?? "Pending",
                            step: a.state == .running ? s?.currentStep : nil, lastRotationTime: t(s?.lastRotationTime), nextRotationTime: t(s?.nextRotationTime),
                            consumersReady: s?.consumersReady,
                            consumers: (s?.consumers ?? []).map { Consumer(kind: $0.kind, name: $0.name, restartedAt: t($0.restartedAt), ready: $0.ready) })
        }) { ($0.state, $0.namespace, $0.name) }
        cleanupPolicies = order(snapshot.cleanups.map { p in
            let a = StatusReport.assess(p), s = p.status
            let dry = s?.lastRunDryRun == true
            return Cleanup(namespace: p.metadata.namespace ?? "", name: p.metadata.name ?? "", state: a.state, reason: a.reason,
                           message: a.message, nextAction: a.nextAction, lastRunTime: t(s?.lastRunTime), nextRunTime: t(s?.nextRunTime),
                           lastRunDryRun: s?.lastRunDryRun, deleted: dry ? nil : s?.lastRunDeleted,
                           wouldDelete: dry ? s?.results?.reduce(Int64(0)) { $0 + ($1.wouldDelete ?? 0) } : nil)
        }) { ($0.state, $0.namespace, $0.name) }
        var summary = Summary()
        let states = backupPolicies.map(\.state) + restoreRequests.map(\.state) + drillRuns.map(\.state)
            + secretRotations.map(\.state) + cleanupPolicies.map(\.state)
        for state in states {
            switch state {
            case .failing: summary.failing += 1
            case .running: summary.running += 1
            case .ok: summary.ok += 1
            }
        }
        self.summary = summary
    }
}
