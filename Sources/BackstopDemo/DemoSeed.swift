import DynamicJSON
import BackstopApp
import Foundation
import KubeModel
import YAML

/// Turns the seed examples (docs/examples) into what the demo can run on one machine: every
/// BackupPolicy with a PostgreSQL source, pointed at the local server, writing to a PVC (a
/// local directory under KubeSim), on a short `@every` schedule; plus the namespaces, Secrets,
/// PVCs and demo databases those policies need.
public struct DemoSeed: Sendable {
    public var policies: [JSONValue]
    /// Namespace → databases (with the tables to create) the policies back up.
    public var databases: [Database]
    public static let claimName = "demo-backups"
    public static let secretName = "demo-postgres"
    public static let secretKey = "password"
    public static let demoUser = "backstop_demo"

    public struct Database: Sendable, Hashable {
        public var name: String
        public var tables: [String]
    }

    /// Reads every `*.yaml` in `directory`; falls back to one built-in policy when there is none
    /// (the binary may run outside the repository).
    public static func load(examples directory: URL?, interval: String, postgresPort: Int) throws -> DemoSeed {
        var documents: [JSONValue] = []
        if let directory, let files = try? FileManager.default.contentsOfDirectory(atPath: directory.path) {
            for file in files.sorted() where file.hasSuffix(".yaml") {
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                documents += try YAML.parse(text)
            }
        }
        var seed = DemoSeed(from: documents, interval: interval, postgresPort: postgresPort)
        if seed.policies.isEmpty { seed = DemoSeed(from: [builtin], interval: interval, postgresPort: postgresPort) }
        return seed
    }

    public init(from documents: [JSONValue], interval: String, postgresPort: Int) {
        var policies: [JSONValue] = []
        var names = Set<String>()
        var databases: [String: Set<String>] = [:]
        for doc in documents where doc["kind"]?.stringValue == "BackupPolicy" {
            guard var pg = doc["spec"]?["source"]?["postgres"], let db = pg["database"]?.stringValue,
                  let name = doc["metadata"]?["name"]?.stringValue else { continue }
            let namespace = doc["metadata"]?["namespace"]?.stringValue ?? "default"
            // Two examples may share a name across files; the first wins.
            guard names.insert("\(namespace)/\(name)").inserted else { continue }
            pg["host"] = "127.0.0.1"
            pg["port"] = .int(Int64(postgresPort))
            pg["user"] = .string(Self.demoUser)
            pg["passwordSecretRef"] = ["name": .string(Self.secretName), "key": .string(Self.secretKey)]
            // Guards name triggers of the real applications; the demo databases have none.
            pg["guards"] = nil
            pg["sslMode"] = nil
            let tables = (pg["tables"]?.arrayValue ?? []) + (pg["rowCounts"]?.arrayValue ?? [])
            databases[db, default: []].formUnion(tables.compactMap(\.stringValue))
            var policy: JSONValue = ["apiVersion": .string(Backstop.apiVersion), "kind": "BackupPolicy",
                                     "metadata": ["name": .string(name), "namespace": .string(namespace),
                                                  "labels": ["backstop.dev/demo": "true"]]]
            var spec = doc["spec"] ?? [:]
            spec["schedule"] = .string(interval)
            spec["timeZone"] = nil
            spec["startingDeadlineSeconds"] = nil
            spec["source"] = ["postgres": pg]
            spec["destination"] = ["volume": ["claimName": .string(Self.claimName), "path": .string(namespace)]]
            // Drills, notifications and pod tuning need parts of a real cluster the demo lacks.
            spec["drill"] = nil
            spec["notify"] = nil
            spec["jobTemplate"] = nil
            policy["spec"] = spec
            policies.append(policy)
        }
        self.policies = policies
        self.databases = databases.keys.sorted().map { Database(name: $0, tables: databases[$0]!.sorted()) }
    }

    public var namespaces: [String] {
        Array(Set(policies.compactMap { $0["metadata"]?["namespace"]?.stringValue })).sorted()
    }

    /// Namespaces, the password Secret and the backup PVC in each namespace.
    public func supportingObjects(password: String) -> [JSONValue] {
        var objects: [JSONValue] = []
        for ns in namespaces {
            objects.append(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
            objects.append(["apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                            "metadata": ["name": .string(Self.secretName), "namespace": .string(ns)],
                            "stringData": [Self.secretKey: .string(password)]])
            objects.append(["apiVersion": "v1", "kind": "PersistentVolumeClaim",
                            "metadata": ["name": .string(Self.claimName), "namespace": .string(ns)],
                            "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]])
        }
        return objects
    }

    /// SQL creating the demo role, its databases and a few hundred rows in every table.
    public func setupSQL(password: String) -> [(database: String, sql: String)] {
        let quoted = password.replacingOccurrences(of: "'", with: "''")
        var steps: [(String, String)] = [("postgres", """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(Self.demoUser)') THEN
                CREATE ROLE \(Self.demoUser) LOGIN CREATEDB PASSWORD '\(quoted)';
              ELSE ALTER ROLE \(Self.demoUser) CREATEDB PASSWORD '\(quoted)'; END IF;
            END $$;
            """)]
        for db in databases {
            steps.append(("postgres", "SELECT 'CREATE DATABASE \(db.name) OWNER \(Self.demoUser)' "
                + "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '\(db.name)') \\gexec"))
            var sql = ""
            for table in db.tables.isEmpty ? ["demo_items"] : db.tables {
                sql += """
                    CREATE TABLE IF NOT EXISTS \(table) (id serial PRIMARY KEY, body text NOT NULL,
                                                           created_at timestamptz NOT NULL DEFAULT now());
                    INSERT INTO \(table) (body) SELECT md5(g::text) FROM generate_series(1, 300) g
                      WHERE NOT EXISTS (SELECT FROM \(table));
                    ALTER TABLE \(table) OWNER TO \(Self.demoUser);

                    """
            }
            steps.append((db.name, sql))
        }
        return steps
    }

    /// Used when docs/examples is not at hand.
    static let builtin: JSONValue = [
        "apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
        "metadata": ["name": "demo-postgres", "namespace": "demo"],
        "spec": [
            "schedule": "@every 20s",
            "source": ["postgres": ["host": "127.0.0.1", "database": "demo", "user": "demo",
                                    "rowCounts": ["demo_items"]]],
            "destination": ["volume": ["claimName": "demo-backups"]],
            "retention": ["keepLast": 5],
            "verify": ["checksum": true, "listContents": true],
        ],
    ]
}
