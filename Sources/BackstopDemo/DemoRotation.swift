import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The demo's rotation act: an application role of the first demo database, a consumer
/// Deployment whose readiness probe logs in with the role's Secret, and a SecretRotation run
/// once: new password applied at the source (SCRAM verifier), Secret updated, consumer
/// restarted and ready on the new password. A role of its own, so the backups (which log in as
/// the demo user) are not the act's consumers.
enum DemoRotation {
    static let role = "demo_app"
    static let secretName = "demo-app-db"
    static let consumerName = "demo-api"
    static let rotationName = "demo-app-db"

    static func run(_ sim: KubeSim, postgres: PostgresServer, say: @Sendable (String) -> Void) async throws -> SecretRotation? {
        guard let policy = try await DemoRestore.firstVerified(sim), let database = policy.spec.source.postgres?.database else { return nil }
        let ns = policy.metadata.namespace ?? ""
        let initial = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(24)
        _ = try await postgres.psql("DROP ROLE IF EXISTS \(role); CREATE ROLE \(role) LOGIN PASSWORD '\(initial)'; GRANT CONNECT ON DATABASE \(database) TO \(role);")
        func secret(_ name: String, _ data: [String: String]) throws {
            _ = try sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": .string(name), "namespace": .string(ns)],
                                      "data": .object(data.mapValues { .string(Data($0.utf8).base64EncodedString()) })])
        }
        try secret(secretName, ["password": String(initial)])
        try secret("demo-pg-admin", ["username": postgres.user, "password": postgres.password])
        let probe = "\(postgres.bindir)/psql -h \(postgres.host) -p \(postgres.port) -U \(role) -d \(database) -tAc 'select 1' >/dev/null 2>&1"
        _ = try sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(consumerName), "namespace": .string(ns)],
            "spec": ["replicas": 2, "selector": ["matchLabels": ["app": .string(consumerName)]],
                     "template": ["metadata": ["labels": ["app": .string(consumerName)]], "spec": [
                        "terminationGracePeriodSeconds": 1,
                        "containers": [["name": "api", "image": "demo/api", "command": ["sh", "-c", "while true; do sleep 1; done"],
                                        "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": .string(secretName), "key": "password"]]]],
                                        "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]], "periodSeconds": 1]]],
                     ]]],
        ])
        _ = try sim.store.create([
            "apiVersion": .string(Backstop.apiVersion), "kind": "SecretRotation",
            "metadata": ["name": .string(rotationName), "namespace": .string(ns), "annotations": .object([Backstop.runNowAnnotation: "demo"])],
            "spec": ["secretRef": ["name": .string(secretName)], "keys": [["key": "password", "generate": ["length": 32]]],
                     "apply": ["postgres": ["host": .string(postgres.host), "port": .int(Int64(postgres.port)), "database": .string(database),
                                            "role": .string(role), "passwordKey": "password", "adminSecretRef": ["name": "demo-pg-admin"]]],
                     "rollout": ["maxConcurrent": 1, "timeout": "60s"]],
        ])
        say("Rotation: Deployment \(ns)/\(consumerName) logs in as \(role); rotating its password with SecretRotation \(ns)/\(rotationName)")
        var last = ""
        // Bounded: the demo may end (and its cluster go) before the rotation does.
        let deadline = ContinuousClock.now + .seconds(120)
        while !Task.isCancelled, ContinuousClock.now < deadline {
            let r = (try? sim.store.get(Backstop.apiVersion, "SecretRotation", namespace: ns, name: rotationName)).flatMap { try? $0.decode(SecretRotation.self) }
            let line = r.map(summary) ?? "waiting for the operator"
            if line != last { say("Rotation \(ns)/\(rotationName): \(line)"); last = line }
            if let r, r.status?.lastManualRun?.value == "demo", r.status?.run?.finishedAt != nil { return r }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return nil
    }

    /// `Restarting (Restart: …)` while it runs; the outcome and consumers at the end. Never a value.
    static func summary(_ r: SecretRotation) -> String {
        guard let s = r.status, let phase = s.phase?.rawValue else { return "waiting for the operator" }
        if s.run?.finishedAt != nil {
            return "\(phase) — \(s.message ?? "") (consumers ready: \(s.consumersReady ?? "-"))"
        }
        let running = s.steps?.first { $0.phase == .running }
        return "\(phase) (\(running?.name ?? s.currentStep ?? "-")\(running?.message.map { ": \($0)" } ?? ""))"
    }
}
