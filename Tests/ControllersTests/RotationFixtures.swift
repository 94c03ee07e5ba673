import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import TestSupport
import Testing

/// SecretRotations on the in-process KubeSim: consumers are real processes whose readiness
/// probe logs in with the Secret's credential, sources are the real PostgreSQL and Redis.
enum Rotation {
    static func resource(_ name: String, _ spec: JSONValue) -> JSONValue {
        ["apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation", "metadata": ["name": .string(name), "namespace": "team"], "spec": spec]
    }

    static func get(_ h: ControllerHarness, _ name: String) async throws -> SecretRotation {
        try await h.client.resource(SecretRotation.self, namespace: "team").get(name)
    }

    static func runNow(_ h: ControllerHarness, _ name: String, _ value: String) async throws {
        _ = try await h.client.resource(SecretRotation.self, namespace: "team")
            .patch(name, .merge(["metadata": ["annotations": .object([Backstop.runNowAnnotation: .string(value)])]]))
    }

    /// Waits until the run answering run-now `value` has finished.
    static func finished(_ h: ControllerHarness, _ name: String, runNow value: String, within seconds: Int = 120) async throws -> SecretRotation {
        _ = try await eventually(.seconds(seconds)) {
            let s = try await get(h, name).status
            return s?.lastManualRun?.value == value && s?.run?.finishedAt != nil
        }
        return try await get(h, name)
    }

    static func secretValue(_ h: ControllerHarness, _ name: String, _ key: String) throws -> String? {
        let secret = try h.sim.store.get("v1", "Secret", namespace: "team", name: name)
        return secret["data"]?[key]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// A consumer Deployment: `env` from the Secret, ready while `probe` (a shell command) succeeds.
    static func consumer(_ name: String, env: [(String, String, String)], probe: String, replicas: Int = 1, delay: Int = 0) -> JSONValue {
        let envs = env.map { e -> JSONValue in ["name": .string(e.0), "valueFrom": ["secretKeyRef": ["name": .string(e.1), "key": .string(e.2)]]] }
        return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "team"],
                "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": .string(name)]],
                         "template": ["metadata": ["labels": ["app": .string(name)]], "spec": [
                            "terminationGracePeriodSeconds": 1,
                            "containers": [["name": "app", "image": "busybox", "env": .array(envs),
                                            "command": ["sh", "-c", "while true; do sleep 1; done"],
                                            "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]],
                                                               "initialDelaySeconds": .int(Int64(delay)), "periodSeconds": 1, "failureThreshold": 1]]]]]]]
    }

    static func ready(_ h: ControllerHarness, _ name: String) throws -> Bool {
        let d = try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: name)
        return d[path: ["status", "readyReplicas"]]?.intValue == d[path: ["spec", "replicas"]]?.intValue
            && d[path: ["status", "updatedReplicas"]]?.intValue == d[path: ["spec", "replicas"]]?.intValue
    }

    static func restartedAt(_ h: ControllerHarness, _ name: String) throws -> String? {
        try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: name)[
            path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]]?.stringValue
    }

    // MARK: PostgreSQL

    /// A fresh login role with `password`, and the admin's connection settings.
    static func role(_ pg: TestServices.Postgres, password: String) async throws -> String {
        let role = "app_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(password)'")
        await admin.close()
        return role
    }

    /// A real login: true when the server accepts `password` for `role`.
    /// A login role with `password`, its Secret `db-creds` and the admin Secret `pg-admin`: what
    /// every PostgreSQL rotation test starts from. Returns the role's name.
    static func roleWithSecrets(_ h: ControllerHarness, _ pg: TestServices.Postgres, password: String) async throws -> String {
        let role = try await Self.role(pg, password: password)
        try h.secret("db-creds", ["password": password])
        try h.secret("pg-admin", ["username": pg.user, "password": pg.password])
        return role
    }

    static func pgLogin(_ pg: TestServices.Postgres, _ role: String, _ password: String) async -> Bool {
        do {
            let db = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: role, password: password))
            await db.close()
            return true
        } catch {
            return false
        }
    }

    static func pgProbe(_ pg: TestServices.Postgres, _ role: String, truncateTo limit: Int? = nil) -> String {
        let password = limit.map { "PGPASSWORD=$(printf %s \"$PGPASSWORD\" | cut -c1-\($0)) " } ?? ""
        return "\(password)\(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"
    }

    static func pgSpec(_ pg: TestServices.Postgres, role: String, admin: String = "pg-admin", timeout: String = "30s") -> JSONValue {
        ["secretRef": ["name": "db-creds"],
         "keys": [["key": "password", "generate": ["length": 32, "charset": "Alphanumeric"]]],
         "apply": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "role": .string(role), "passwordKey": "password",
                                "adminSecretRef": ["name": .string(admin)]]],
         "rollout": ["maxConcurrent": 1, "timeout": .string(timeout)]]
    }

    // MARK: Redis

    /// `redis-cli PING` as `user` with `password`: true on PONG.
    static func redisLogin(_ redis: TestServices.Redis, user: String, password: String) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["redis-cli", "-h", redis.host, "-p", String(redis.port), "--user", user, "--no-auth-warning", "PING"]
        p.environment = ProcessInfo.processInfo.environment.merging(["REDISCLI_AUTH": password]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).hasPrefix("PONG")
    }

    static func redisAdmin(_ redis: TestServices.Redis, _ args: [String]) async throws {
        let status = try await runTool("/usr/bin/env", ["redis-cli", "-h", redis.host, "-p", String(redis.port), "--no-auth-warning"] + args,
                                       environment: ["REDISCLI_AUTH": redis.password])
        #expect(status == 0)
    }

    // MARK: canary scan

    /// Everything the operator and its agents wrote that is not a Secret: status, Events, Jobs,
    /// Pods (specs, termination messages, and their containers' output: the agents'),
    /// workloads. Secrets legitimately hold the values.
    static func nonSecretText(_ h: ControllerHarness) throws -> String {
        var text = ""
        for (api, kind) in [("v1", "Event"), ("batch/v1", "Job"), ("v1", "Pod"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"),
                            ("backstop.dev/v1alpha1", "SecretRotation")] {
            for object in try h.sim.store.list(api, kind, namespace: "team") {
                text += String(decoding: object.serialized(sortedKeys: true), as: UTF8.self) + "\n"
                if kind == "Pod", let uid = object["metadata"]?["uid"]?.stringValue {
                    for c in object[path: ["spec", "containers"]]?.arrayValue ?? [] {
                        text += (h.sim.logs(podUID: uid, container: c["name"]?.stringValue ?? "") ?? "") + "\n"
                    }
                }
            }
        }
        // The operator's own log (a subprocess harness; empty in-process).
        text += h.operatorLog()
        return text
    }

    /// The value in any form it could leak in: plain, base64.
    static func forms(_ value: String) -> [String] { [value, Data(value.utf8).base64EncodedString()] }
}
