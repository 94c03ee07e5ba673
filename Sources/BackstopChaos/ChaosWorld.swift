import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// The cluster and the data the chaos run works on: KubeSim with its Job runner and workload
/// Pods, the CRDs and manifests/ RBAC; in PostgreSQL an `app` database (backed up, drilled,
/// its `events` table cleaned up), a `ledger` database (backed up, restored over itself with
/// its writer fenced) and a login role whose password a SecretRotation rotates while a
/// consumer Deployment logs in with it.
struct ChaosWorld: Sendable {
    static let namespace = "chaos"
    static let agentImage = "backstop.dev/chaos-agent:local"
    static let writer = "ledger-writer"
    static let consumer = "api"
    static let rotatedSecret = "api-db"

    let sim: KubeSim
    let work: URL
    let kubeconfig: URL
    let postgres: PostgresServer
    let appDB: String
    let ledgerDB: String
    let role: String

    static func start(_ options: ChaosOptions, work: URL) async throws -> ChaosWorld {
        let pg = options.postgres
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let app = "chaos_app_\(suffix)", ledger = "chaos_ledger_\(suffix)", role = "chaos_api_\(suffix)"
        try await pg.psql("CREATE DATABASE \(app)")
        try await pg.psql("CREATE DATABASE \(ledger)")
        // Events age past maxAge (1h) at 50 a second for 20 minutes: every cleanup has work.
        try await pg.psql("""
            CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
            INSERT INTO orders (item) SELECT md5(g::text) FROM generate_series(1, 5000) g;
            CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
            CREATE INDEX ON events (created_at);
            INSERT INTO events (created_at) SELECT now() - interval '1 hour' + (g / 50.0) * interval '1 second' FROM generate_series(1, 60000) g;
            """, database: app)
        try await pg.psql("""
            CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);
            INSERT INTO orders (item) SELECT md5(g::text) FROM generate_series(1, 2000) g;
            """, database: ledger)
        let initial = Self.randomValue()
        try await pg.psql("CREATE ROLE \(role) LOGIN PASSWORD '\(initial)'")

        var simOptions = KubeSimOptions()
        simOptions.bookmarkInterval = 1
        simOptions.controllers.jobRunner = true
        simOptions.controllers.pvcBinder = true
        simOptions.controllers.workloads = true
        simOptions.jobRunner.images[agentImage] = [options.backstop]
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        simOptions.jobRunner.environment["PATH"] = "\(pg.bindir):\(path)"
        let sim = try await KubeSim.start(simOptions)
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        for object in try ManifestFiles.load() { _ = try sim.store.create(object) }
        let kubeconfig = work.appendingPathComponent("operator.kubeconfig")
        try sim.writeKubeconfig(to: kubeconfig, user: ManifestFiles.operatorUser)
        try sim.writeKubeconfig(to: work.appendingPathComponent("admin.kubeconfig"))
        let world = ChaosWorld(sim: sim, work: work, kubeconfig: kubeconfig, postgres: pg, appDB: app, ledgerDB: ledger, role: role)
        do { try world.createObjects(initialPassword: initial) } catch {
            await sim.shutdown()
            await world.dropDatabases()
            throw error
        }
        return world
    }

    /// A password-like value (what a rotation's Secret holds before the first rotation).
    static func randomValue() -> String { "Chaos" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20) }

    private func create(_ object: JSONValue) throws { _ = try sim.store.create(object) }

    private func secret(_ name: String, _ data: [String: String]) throws {
        try create(["apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": ["name": .string(name), "namespace": .string(Self.namespace)],
                    "data": .object(data.mapValues { .string(Data($0.utf8).base64EncodedString()) })])
    }

    private var connection: JSONValue {
        ["host": .string(postgres.host), "port": .int(Int64(postgres.port)), "user": .string(postgres.user),
         "passwordSecretRef": ["name": "db", "key": "password"]]
    }

    private func createObjects(initialPassword: String) throws {
        let ns = Self.namespace
        try create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
        try secret("db", ["password": postgres.password])
        try secret("pg-admin", ["username": postgres.user, "password": postgres.password])
        try secret(Self.rotatedSecret, ["password": initialPassword])
        try create(["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": "backups", "namespace": .string(ns)],
                    "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "10Gi"]]]])
        for (name, db) in [("app", appDB), ("ledger", ledgerDB)] {
            var source = connection
            source["database"] = .string(db)
            source["rowCounts"] = ["orders"]
            // keepLast (the most there is) far above what a run makes: every backup taken must still be there at the end.
            try create(["apiVersion": .string(Backstop.apiVersion), "kind": "BackupPolicy",
                        "metadata": ["name": .string(name), "namespace": .string(ns), "annotations": [Backstop.runNowAnnotation: "start"]],
                        "spec": ["schedule": "@every 1m", "source": ["postgres": source],
                                 "destination": ["volume": ["claimName": "backups", "path": .string(name)]],
                                 "retention": ["keepLast": 1_000],
                                 "verify": ["checksum": true, "listContents": true, "staleAfter": "1h"]]])
        }
        let psql = "\(postgres.bindir)/psql -h \(postgres.host) -p \(postgres.port)"
        let insert = "INSERT INTO orders (item) VALUES ('written by \(Self.writer)')"
        try create(deployment(Self.writer, env: [("PGPASSWORD", "db")],
                              command: "while true; do \(psql) -U \(postgres.user) -d \(ledgerDB) -qc \"\(insert)\" >/dev/null 2>&1; sleep 0.3; done"))
        try create(deployment(Self.consumer, env: [("PGPASSWORD", Self.rotatedSecret)], command: "while true; do sleep 1; done",
                              readiness: "\(psql) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"))
        try create(["apiVersion": .string(Backstop.apiVersion), "kind": "SecretRotation", "metadata": ["name": "api-db", "namespace": .string(ns)],
                    "spec": ["secretRef": ["name": .string(Self.rotatedSecret)], "keys": [["key": "password", "generate": ["length": 24]]],
                             "apply": ["postgres": ["host": .string(postgres.host), "port": .int(Int64(postgres.port)), "role": .string(role),
                                                    "passwordKey": "password", "adminSecretRef": ["name": "pg-admin"]]],
                             "rollout": ["timeout": "90s"]]])
        var cleanupConnection = connection
        cleanupConnection["database"] = .string(appDB)
        cleanupConnection["sslMode"] = "disable"
        try create(["apiVersion": .string(Backstop.apiVersion), "kind": "CleanupPolicy", "metadata": ["name": "events", "namespace": .string(ns)],
                    "spec": ["schedule": "*/5 * * * *", "startingDeadlineSeconds": 600, "targets": [[
                        "name": "events", "maxDeletePercent": 100,
                        "sql": ["connection": cleanupConnection, "table": "events", "timestampColumn": "created_at", "maxAge": "1h",
                                "batchSize": 200]]]]])
    }

    private func deployment(_ name: String, env: [(String, String)], command: String, readiness: String? = nil) -> JSONValue {
        var container: JSONValue = ["name": "main", "image": .string("chaos/\(name)"), "command": ["sh", "-c", .string(command)],
                                    "env": .array(env.map { ["name": .string($0.0), "valueFrom": ["secretKeyRef": ["name": .string($0.1), "key": "password"]]] })]
        if let readiness {
            container["readinessProbe"] = ["exec": ["command": ["sh", "-c", .string(readiness)]], "periodSeconds": 1, "failureThreshold": 1]
        }
        return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": .string(Self.namespace)],
                "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                         "template": ["metadata": ["labels": ["app": .string(name)]],
                                      "spec": ["terminationGracePeriodSeconds": 1, "containers": [container]]]]]
    }

    /// Drops what the run made in PostgreSQL (scratch databases of drills included).
    func dropDatabases() async {
        let scratch = (try? await postgres.psql("SELECT datname FROM pg_database WHERE datname LIKE '\(appDB)%' OR datname LIKE '\(ledgerDB)%'")) ?? ""
        for db in scratch.split(separator: "\n").map(String.init) where !db.isEmpty {
            _ = try? await postgres.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)")
        }
        _ = try? await postgres.psql("DROP ROLE IF EXISTS \(role)")
    }

    // MARK: reading

    func list(_ kind: String) -> [JSONValue] {
        (try? sim.store.list(Backstop.apiVersion, kind, namespace: Self.namespace)) ?? []
    }

    func get<T: Decodable>(_ kind: String, _ name: String, as type: T.Type) -> T? {
        (try? sim.store.get(Backstop.apiVersion, kind, namespace: Self.namespace, name: name)).flatMap { try? $0.decode(T.self) }
    }

    func runNow(_ kind: String, _ name: String, _ value: String) throws {
        _ = try sim.store.mergePatch(Backstop.apiVersion, kind, namespace: Self.namespace, name: name,
                                     patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: .string(value)]]])
    }

    /// The local directory KubeSim bound the backup claim to.
    var backupDirectory: URL? {
        (try? sim.store.get("v1", "PersistentVolumeClaim", namespace: Self.namespace, name: "backups"))?["metadata"]?["annotations"]?["kube-sim.dev/local-path"]?
            .stringValue.map { URL(fileURLWithPath: $0) }
    }
}
