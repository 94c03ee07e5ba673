import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The demo's drill act: one DrillRun per policy once it has a verified backup — a marker, a
/// fresh backup, the backup read back, restored into `<database>_drill`, the marker checked,
/// the scratch database dropped — and its verdict with RTO and RPO.
enum DemoDrill {
    /// Runs the act and narrates each drill's step; returns them as last read.
    static func run(_ sim: KubeSim, say: @Sendable (String) -> Void) async throws -> [DrillRun] {
        var created: [(namespace: String, name: String)] = []
        var last: [String: String] = [:]
        var seen: [DrillRun] = []
        while !Task.isCancelled {
            let policies = ((try? sim.store.list(Backstop.apiVersion, "BackupPolicy")) ?? []).compactMap { try? $0.decode(BackupPolicy.self) }
            for policy in policies where policy.status?.lastBackup?.verified == true {
                guard let ns = policy.metadata.namespace, let name = policy.metadata.name, let source = policy.spec.source.postgres,
                      !created.contains(where: { $0 == (ns, "\(name)-drill") }) else { continue }
                _ = try sim.store.create([
                    "apiVersion": .string(Backstop.apiVersion), "kind": "DrillRun",
                    "metadata": ["name": .string("\(name)-drill"), "namespace": .string(ns)],
                    "spec": ["policyRef": ["name": .string(name)], "scratch": ["postgres": ["database": .string("\(source.database)_drill")]],
                             "objectives": ["rto": "30m", "rpo": "26h"]],
                ])
                created.append((ns, "\(name)-drill"))
            }
            seen = created.compactMap { c in
                (try? sim.store.get(Backstop.apiVersion, "DrillRun", namespace: c.namespace, name: c.name)).flatMap { try? $0.decode(DrillRun.self) }
            }
            for d in seen {
                let line = summary(d)
                let key = "\(d.metadata.namespace ?? "")/\(d.metadata.name ?? "")"
                if last[key] != line {
                    last[key] = line
                    say("Drill \(key): \(line)")
                }
            }
            if !created.isEmpty, created.count == policies.count, seen.allSatisfy({ $0.status?.phase == .completed }) { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return seen
    }

    /// `Running (Restore: Job …)` while it runs; `Passed — RTO 3s, RPO 0s, … [steps]` at the end.
    static func summary(_ d: DrillRun) -> String {
        guard let s = d.status else { return "waiting for the operator" }
        if s.phase == .completed {
            let m = s.measured
            let figures = [m?.rtoSeconds.map { "RTO \($0)s" }, m?.rpoSeconds.map { "RPO \($0)s" }, m?.backupBytes.map { "backup \($0) bytes" }]
                .compactMap { $0 }.joined(separator: ", ")
            let steps = (s.steps ?? []).map { "\($0.name) \($0.phase.rawValue)" }.joined(separator: ", ")
            return "\(s.result?.rawValue ?? "Completed") — \(figures)" + (s.result == .failed ? " — \(s.message ?? "")" : "") + " [\(steps)]"
        }
        let running = s.steps?.first { $0.phase == .running }
        return "\(s.phase?.rawValue ?? "Pending") (\(running?.name ?? s.currentStep ?? "-")\(running?.message.map { ": \($0)" } ?? ""))"
    }
}
