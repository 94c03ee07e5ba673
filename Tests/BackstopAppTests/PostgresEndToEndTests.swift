import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import Testing
import TestSupport

/// PostgreSQL policies to a volume and to S3, run by `backstop run` (subprocess, manifests/
/// RBAC) and KubeSim's Job runner: verified artifacts on schedule, status and Events, restore
/// of the newest artifact reproduces the data, and kubectl shows printer columns and Events.
@Suite(.serialized) struct PostgresEndToEndTests {
    static func rand() -> String { String(UUID().uuidString.prefix(6)).lowercased() }

    static func fingerprint(_ server: PostgresServer, _ db: String) async throws -> String {
        try await server.psql("SELECT count(*) || ':' || md5(string_agg(item, ',' ORDER BY id)) FROM orders", database: db)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func policy(_ ns: String, _ name: String, db: String, pg: TestServices.Postgres, destination: JSONValue,
                       schedule: String = "@every 1m") -> JSONValue {
        ["apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
         "metadata": ["name": .string(name), "namespace": .string(ns)],
         "spec": ["schedule": .string(schedule),
                  "source": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(db),
                                          "user": .string(pg.user), "passwordSecretRef": ["name": "db", "key": "password"],
                                          "rowCounts": ["orders"]]],
                  "destination": destination,
                  "retention": ["keepLast": 5],
                  "verify": ["checksum": true, "listContents": true, "minSizeBytes": 512, "staleAfter": "1h"]]]
    }

    @Test func postgresToVolumeAndS3TakesVerifiedBackupsThatRestore() async throws {
        let pg = try TestServices.postgres(), s3 = try TestServices.s3()
        let server = PostgresServer(host: pg.host, port: pg.port, user: pg.user, password: pg.password, bindir: pg.bindir)
        let e2e = try await E2E.start("pg")
        let db = "e2e_shop_\(Self.rand())", bucket = "e2e-pg-\(Self.rand())", ns = "shop"
        try await server.psql("CREATE DATABASE \(db)")
        try await server.psql("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL); "
            + "INSERT INTO orders (item) SELECT 'item-' || g FROM generate_series(1, 500) g;", database: db)
        let s3Client = S3Client(endpoint: s3.endpoint, region: s3.region,
                                credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        try await s3Client.createBucket(bucket)
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        try e2e.secret(ns, "s3", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        let store = try await e2e.volume(ns, "backups")
        try e2e.apply(Self.policy(ns, "pg-volume", db: db, pg: pg, destination: ["volume": ["claimName": "backups", "path": "pg"]]))
        try e2e.apply(Self.policy(ns, "pg-s3", db: db, pg: pg, destination: [
            "s3": ["endpoint": .string(s3.endpoint), "bucket": .string(bucket), "prefix": "pg", "region": .string(s3.region),
                   "credentialsSecretRef": ["name": "s3"]]]))
        let op = try e2e.startOperator()
        let restoredDatabases = ["\(db)_r_vol", "\(db)_r_s3"]
        defer {
            Task {
                await op.kill9()
                for d in [db] + restoredDatabases { _ = try? await server.psql("DROP DATABASE IF EXISTS \(d) WITH (FORCE)") }
                await e2e.shutdown()
            }
        }

        // A scheduled backup each (slots are whole minutes), then one on demand: verified, in status.
        for name in ["pg-volume", "pg-s3"] {
            let scheduled = await e2e.waitFor(ns, name, timeout: .seconds(100)) {
                $0.status?.lastBackup != nil && $0.status?.lastScheduleTime != nil
            }
            #expect(scheduled?.status?.lastBackup != nil, "\(name): no scheduled backup: \(scheduled.map(Demo.summary) ?? "")\n\(op.output.suffix(3000))")
            #expect(e2e.jobs(ns, policy: name).contains { !["manual", "follow-up"].contains($0["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue ?? "manual") })
            try e2e.runNow(ns, name, "before-upgrade")
        }
        for name in ["pg-volume", "pg-s3"] {
            let p = await e2e.waitFor(ns, name, timeout: .seconds(60)) {
                ($0.status?.artifacts?.count ?? 0) >= 2 && $0.status?.lastBackup?.verified == true
                    && $0.status?.lastManualRun?.result == .succeeded
                    && $0.status?.conditions?.isTrue("LastBackupSucceeded") == true
            }
            let status = try #require(p?.status, "\(name): no status; operator log:\n\(op.output.suffix(3000))")
            #expect(status.artifacts?.count ?? 0 >= 2, "\(name): \(Demo.summary(p!))\n\(op.output.suffix(3000))")
            #expect(status.conditions?.isTrue("Ready") == true, "\(name): \(Demo.summary(p!))")
            #expect(status.conditions?.isTrue("Verified") == true, "\(name): \(Demo.summary(p!))")
            #expect(status.lastSuccessfulTime != nil && status.lastVerifiedTime != nil && status.nextScheduleTime != nil)
            #expect((status.recentBackups?.count ?? 0) >= 2)
            #expect(status.lastBackup?.sha256?.count == 64)
            #expect((status.lastBackup?.sizeBytes ?? 0) >= 512)
            #expect(status.source?.contains(db) == true)
            #expect(status.lastManualRun?.value == "before-upgrade" && status.lastManualRun?.result == .succeeded)
            // Events tell the story; the Jobs are owned by the policy.
            let reasons = e2e.events(ns, about: name).compactMap { $0["reason"]?.stringValue }
            #expect(!reasons.isEmpty, "\(name): no Events")
            let jobs = e2e.jobs(ns, policy: name)
            #expect(!jobs.isEmpty && jobs.allSatisfy { $0["metadata"]?["ownerReferences"]?[0]?["name"]?.stringValue == name })
        }

        // The artifacts are where the policy says: <pvc>/pg/pg-volume/… with manifests beside them.
        let files = (try? FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("pg/pg-volume").path)) ?? []
        #expect(files.filter { $0.hasSuffix(".manifest.json") }.count >= 2, "\(files)")
        let objects = try await s3Client.listAllObjects(bucket: bucket, prefix: "pg/pg-s3/")
        #expect(objects.filter { $0.key.hasSuffix(".manifest.json") }.count >= 2)

        // Restoring the newest artifact of each reproduces the data.
        let original = try await Self.fingerprint(server, db)
        let passwordFile = try e2e.writeFile(pg.password, name: "pgpass")
        let stores: [(String, JSONValue)] = [
            ("pg-volume", ["volume": ["path": .string(store.path), "prefix": "pg"]]),
            ("pg-s3", ["s3": ["endpoint": .string(s3.endpoint), "bucket": .string(bucket), "prefix": "pg", "region": .string(s3.region),
                              "accessKeyIdFile": .string(try e2e.writeFile(s3.accessKey, name: "ak")),
                              "secretAccessKeyFile": .string(try e2e.writeFile(s3.secretKey, name: "sk"))]]),
        ]
        for ((policy, storeSpec), target) in zip(stores, restoredDatabases) {
            let r = try await e2e.agent("restore", spec: [
                "policy": .string(policy), "store": storeSpec, "artifact": "latest", "mode": "create",
                "target": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(target),
                                        "user": .string(pg.user), "passwordFile": .string(passwordFile)]],
                "verify": ["rowCounts": true]])
            #expect(r.status == 0, "\(policy) restore: \(r.stderr.suffix(2000))")
            #expect(try await Self.fingerprint(server, target) == original)
        }

        // kubectl: printer columns and Events.
        let get = try await e2e.kubectl("get", "bp", "-n", ns)
        #expect(get.status == 0, "\(get.stderr)")
        for column in ["NAME", "SOURCE", "SCHEDULE", "LAST SUCCESS", "LAST VERIFIED", "NEXT", "ARTIFACTS", "READY", "AGE"] {
            #expect(get.stdout.contains(column), "\(column) missing:\n\(get.stdout)")
        }
        #expect(get.stdout.contains("pg-volume") && get.stdout.contains("@every 1m") && get.stdout.contains("True"), "\(get.stdout)")
        let describe = try await e2e.kubectl("describe", "bp", "pg-volume", "-n", ns)
        #expect(describe.status == 0, "\(describe.stderr)")
        let eventsSection = describe.stdout.components(separatedBy: "Events:").last ?? ""
        #expect(describe.stdout.contains("Events:") && !eventsSection.contains("<none>"), "\(describe.stdout.suffix(1500))")
        // `backstop status` renders the same policies as healthy.
        let report = try await StatusReport.fetch(try e2e.cluster.client(), namespace: ns)
        #expect(report.contains("2 policies, 2 healthy, 0 need attention."), "\(report)")
    }
}
