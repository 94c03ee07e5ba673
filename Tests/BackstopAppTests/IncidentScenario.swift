import BackstopApp
import BackstopChaos
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import TestSupport

/// A bad hour on KubeSim with the real PostgreSQL and `backstop run` as a subprocess: a healthy
/// policy with a verified backup and a retention plan (keepLast 1), a policy whose password
/// Secret is wrong, a drill that restores and verifies but misses its RPO objective, a restore held at Quiesce by a writer
/// Pod outside its Deployment (it never goes away), a password rotated with one consumer
/// restarted healthy, and a dry-run cleanup. `IncidentTests` asks the six questions of it.
struct IncidentScenario {
    static let ns = "incident"
    let e2e: E2E
    let pg: TestServices.Postgres
    let server: PostgresServer
    let db: String
    let role: String
    let wrongPassword: String
    let initialAppPassword: String
    var op: OperatorSubprocess?

    static func start() async throws -> IncidentScenario {
        let pg = try TestServices.postgres()
        let (server, db) = try await ResilienceTests.createDatabase(pg)
        try await server.psql("CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL); "
            + "INSERT INTO events (created_at) SELECT now() - g * interval '1 day' + interval '12 hours' FROM generate_series(1, 20) g;", database: db)
        let role = "inc_" + UUID().uuidString.prefix(8).lowercased()
        let initial = "Initial-app-password-01"
        try await server.psql("CREATE ROLE \(role) LOGIN PASSWORD '\(initial)'")
        let e2e = try await E2E.start("incident", workloads: true)
        var s = IncidentScenario(e2e: e2e, pg: pg, server: server, db: db, role: role, wrongPassword: "not-the-password-\(db)",
                                 initialAppPassword: initial)
        try s.apply()
        s.op = try e2e.startOperator(name: "incident")
        return s
    }

    func shutdown() async {
        if let op { _ = await op.kill9() }
        _ = try? await server.psql("DROP DATABASE IF EXISTS \(db)_restored WITH (FORCE)")
        _ = try? await server.psql("DROP DATABASE IF EXISTS \(db)_drill WITH (FORCE)")
        _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)")
        _ = try? await server.psql("DROP ROLE IF EXISTS \(role)")
        await e2e.shutdown()
    }

    private func apply() throws {
        let ns = Self.ns
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        try e2e.secret(ns, "db-wrong", ["password": wrongPassword])
        try e2e.secret(ns, "app-db", ["password": initialAppPassword])
        try e2e.secret(ns, "pg-admin", ["username": pg.user, "password": pg.password])
        try e2e.apply(pvc("backups"))
        // Daily schedules: no scheduled backup lands inside the test; run-now takes the first.
        let runNow: JSONValue = ["metadata": ["annotations": [Backstop.runNowAnnotation: "incident"]], "spec": ["verify": ["staleAfter": "26h"]]]
        try e2e.apply(ResilienceTests.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "@every 24h")
            .merging(["spec": ["retention": ["keepLast": 1]]]).merging(runNow))
        try e2e.apply(ResilienceTests.pgPolicy(ns, "broken", db: db, pg: pg, schedule: "@every 24h", secret: "db-wrong").merging(runNow))
        // The writer a restore fences, and a Pod with its labels started by hand that cannot go
        // away (a finalizer nobody removes): the restore waits at Quiesce.
        try e2e.apply(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "writer", "namespace": .string(ns)],
                       "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "writer"]],
                                "template": ["metadata": ["labels": ["app": "writer"]], "spec": sleeper]]])
        try e2e.apply(["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "writer-by-hand", "namespace": .string(ns), "labels": ["app": "writer"],
                                                      "finalizers": ["incident.test/hold"]],
                       "spec": sleeper])
        // The rotation's consumer: ready only while its password logs in.
        let probe = "\(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"
        try e2e.apply(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "api", "namespace": .string(ns)],
                       "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "api"]],
                                "template": ["metadata": ["labels": ["app": "api"]], "spec": [
                                    "terminationGracePeriodSeconds": 1,
                                    "containers": [["name": "app", "image": "busybox", "command": ["sh", "-c", "while true; do sleep 1; done"],
                                                    "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "app-db", "key": "password"]]]],
                                                    "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]], "periodSeconds": 1,
                                                                       "failureThreshold": 1]]]]]]])
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation",
                       "metadata": ["name": "app-db", "namespace": .string(ns), "annotations": [Backstop.runNowAnnotation: "incident"]],
                       "spec": ["secretRef": ["name": "app-db"], "keys": [["key": "password", "generate": ["length": 24]]],
                                "apply": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "role": .string(role),
                                                       "passwordKey": "password", "adminSecretRef": ["name": "pg-admin"]]],
                                "rollout": ["timeout": "60s"]]])
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy",
                       "metadata": ["name": "events", "namespace": .string(ns), "annotations": [Backstop.runNowAnnotation: "incident"]],
                       "spec": ["schedule": "@every 24h", "dryRun": true, "targets": [[
                           "name": "events", "maxDeletePercent": 100,
                           "sql": ["connection": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(db),
                                                  "user": .string(pg.user), "passwordSecretRef": ["name": "db", "key": "password"], "sslMode": "disable"],
                                   "table": "events", "timestampColumn": "created_at", "maxAge": "7d"]]]]])
    }

    /// After the healthy policy's first backup: a drill whose RPO objective (1 s) cannot be met.
    func startDrill() throws {
        let ns = Self.ns
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun", "metadata": ["name": "pg-drill", "namespace": .string(ns)],
                       "spec": ["policyRef": ["name": "pg"], "scratch": ["postgres": ["database": .string("\(db)_drill")]],
                                "marker": false, "freshBackup": false,
                                "verify": ["sql": [["name": "orders-kept", "query": "SELECT count(*) FROM orders", "expect": "300"]]],
                                "objectives": ["rto": "30m", "rpo": "1s"]]])
    }

    /// After the drill (a restore of the policy makes a drill wait): a fenced restore.
    func startRestore() throws {
        let ns = Self.ns
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest", "metadata": ["name": "pg-restore", "namespace": .string(ns)],
                       "spec": ["policyRef": ["name": "pg"],
                                "target": ["postgres": ["database": .string("\(db)_restored"), "create": true]],
                                "quiesce": [["kind": "Deployment", "name": "writer"]]]])
    }

    /// Lets the hand-started writer go: the restore moves on from Quiesce.
    func releaseWriter() throws {
        _ = try e2e.sim.store.mergePatch("v1", "Pod", namespace: Self.ns, name: "writer-by-hand", patch: ["metadata": ["finalizers": []]])
        _ = try e2e.sim.store.delete("v1", "Pod", namespace: Self.ns, name: "writer-by-hand")
    }

    private var sleeper: JSONValue {
        ["terminationGracePeriodSeconds": 1, "containers": [["name": "w", "image": "busybox", "command": ["sleep", "600"]]]]
    }

    private func pvc(_ name: String) -> JSONValue {
        ["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": .string(name), "namespace": .string(Self.ns)],
         "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]]
    }

    func get<T: Decodable>(_ type: T.Type, _ kind: String, _ name: String) -> T? {
        (try? e2e.sim.store.get(Backstop.apiVersion, kind, namespace: Self.ns, name: name)).flatMap { try? $0.decode(T.self) }
    }

    /// The rotated password now in the Secret (to prove it shows up in no output).
    func appPassword() -> String? {
        let secret = try? e2e.sim.store.get("v1", "Secret", namespace: Self.ns, name: "app-db")
        return secret?[path: ["data", "password"]]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }
}
