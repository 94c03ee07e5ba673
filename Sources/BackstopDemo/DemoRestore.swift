import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The demo's restore act: once the first policy has a verified backup, a writer Deployment
/// starts inserting rows into its database; then two RestoreRequests run — one into a new
/// database, one over the live source with the writer fenced (scaled to 0 and back).
enum DemoRestore {
    static let writerName = "demo-writer"
    static let marker = "written by demo-writer"

    /// Runs the act and narrates each request's phase and step; returns them as last read.
    static func run(_ sim: KubeSim, seed: DemoSeed, postgresPort: Int, say: @Sendable (String) -> Void) async throws -> [RestoreRequest] {
        guard let policy = try await firstVerified(sim) else { return [] }
        let ns = policy.metadata.namespace ?? ""
        let name = policy.metadata.name ?? ""
        guard let source = policy.spec.source.postgres,
              let table = seed.databases.first(where: { $0.name == source.database }).map({ $0.tables.first ?? "demo_items" }) else { return [] }
        let sql = "INSERT INTO \(table) (body) VALUES ('\(marker)')"
        _ = try sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(writerName), "namespace": .string(ns)],
            "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(writerName)]],
                     "template": ["metadata": ["labels": ["app": .string(writerName)]], "spec": [
                        "terminationGracePeriodSeconds": 2,
                        "containers": [["name": "writer", "image": "demo/writer",
                                        "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": .string(DemoSeed.secretName), "key": .string(DemoSeed.secretKey)]]]],
                                        "command": ["sh", "-c", .string("while true; do psql -h 127.0.0.1 -p \(postgresPort) -U \(DemoSeed.demoUser) -d \(source.database) -qc \"\(sql)\" >/dev/null 2>&1; sleep 0.2; done")]]],
                     ]]],
        ])
        say("Restore: Deployment \(ns)/\(writerName) writes rows into \(source.database).\(table); restoring \(ns)/\(name)'s newest backup")
        try await Task.sleep(for: .seconds(2))
        // The backup from before the writer started, by id: a drill's fresh backup may be newer.
        let backup: JSONValue = ["id": .string(policy.status?.lastBackup?.id ?? "")]
        let requests: [(String, JSONValue)] = [
            ("\(name)-copy", ["policyRef": ["name": .string(name)], "mode": "Create", "backup": backup,
                              "target": ["postgres": ["database": .string("\(source.database)_restored")]]]),
            ("\(name)-rollback", ["policyRef": ["name": .string(name)], "allowOverwriteSource": true, "backup": backup,
                                  "quiesce": [["kind": "Deployment", "name": .string(writerName)]],
                                  "verify": ["rowCounts": true, "sql": [["name": "no-writer-rows",
                                                                          "query": .string("SELECT count(*) FROM \(table) WHERE body = '\(marker)'"),
                                                                          "expect": "0"]]]]),
        ]
        for (request, spec) in requests {
            _ = try sim.store.create(["apiVersion": .string(Backstop.apiVersion), "kind": "RestoreRequest",
                                      "metadata": ["name": .string(request), "namespace": .string(ns)], "spec": spec])
        }
        var last: [String: String] = [:]
        var seen: [RestoreRequest] = []
        while !Task.isCancelled {
            seen = requests.compactMap { r in
                (try? sim.store.get(Backstop.apiVersion, "RestoreRequest", namespace: ns, name: r.0)).flatMap { try? $0.decode(RestoreRequest.self) }
            }
            for r in seen {
                let line = summary(r)
                if last[r.metadata.name ?? ""] != line {
                    last[r.metadata.name ?? ""] = line
                    say("Restore \(ns)/\(r.metadata.name ?? ""): \(line)")
                }
            }
            if seen.count == requests.count, seen.allSatisfy({ $0.status?.phase == .succeeded || $0.status?.phase == .failed }) { break }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return seen
    }

    static func firstVerified(_ sim: KubeSim) async throws -> BackupPolicy? {
        while !Task.isCancelled {
            let policies = ((try? sim.store.list(Backstop.apiVersion, "BackupPolicy")) ?? []).compactMap { try? $0.decode(BackupPolicy.self) }
                .sorted { ($0.metadata.namespace ?? "", $0.metadata.name ?? "") < ($1.metadata.namespace ?? "", $1.metadata.name ?? "") }
            if let p = policies.first(where: { $0.status?.lastBackup?.verified == true }) { return p }
            try await Task.sleep(for: .milliseconds(500))
        }
        return nil
    }

    /// `Restoring (Restore: Job …)` while it runs; the outcome and the steps' messages at the end.
    static func summary(_ r: RestoreRequest) -> String {
        guard let s = r.status else { return "waiting for the operator" }
        let phase = s.phase?.rawValue ?? "Pending"
        if phase == "Succeeded" || phase == "Failed" {
            let steps = (s.steps ?? []).map { "\($0.name) \($0.phase.rawValue)" }.joined(separator: ", ")
            let saved = (s.savedReplicas ?? [:]).map { "\($0.key) back to \($0.value)" }.joined(separator: ", ")
            return "\(phase) in \(s.durationSeconds ?? 0)s — \(s.message ?? "")" + (saved.isEmpty ? "" : " (\(saved))") + " [\(steps)]"
        }
        let running = s.steps?.first { $0.phase == .running }
        return "\(phase) (\(running?.name ?? s.currentStep ?? "-")\(running?.message.map { ": \($0)" } ?? ""))"
    }
}
