import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import Testing
import TestSupport

/// Every source kind, to a volume and to S3, through the operator and the Job runner, on its
/// schedule; the newest artifact of each restores to the same data. (PostgreSQL: PostgresEndToEndTests.)
@Suite(.serialized) struct SourcesEndToEndTests {
    enum Kind: String, CaseIterable, Sendable { case volume, redis, clickhouse, bucket }

    struct Fixture: Sendable {
        var source: JSONValue
        /// Restores the artifact of `policy` from `store` and says whether the data matches.
        var restoreMatches: @Sendable (_ e2e: E2E, _ policy: String, _ store: JSONValue) async throws -> Bool
        var cleanup: @Sendable () async -> Void = {}
    }

    static func s3Store(_ e2e: E2E, _ s3: TestServices.S3, bucket: String, prefix: String) throws -> JSONValue {
        ["s3": ["endpoint": .string(s3.endpoint), "bucket": .string(bucket), "prefix": .string(prefix), "region": .string(s3.region),
                "accessKeyIdFile": .string(try e2e.writeFile(s3.accessKey, name: "ak")),
                "secretAccessKeyFile": .string(try e2e.writeFile(s3.secretKey, name: "sk"))]]
    }

    @Test(arguments: Kind.allCases)
    func sourceToVolumeAndS3ProducesVerifiedArtifactsThatRestore(kind: Kind) async throws {
        let s3 = try TestServices.s3()
        let e2e = try await E2E.start("src-\(kind)")
        let ns = "src"
        try e2e.namespace(ns)
        try e2e.secret(ns, "s3", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        let storeDir = try await e2e.volume(ns, "backups")
        let bucket = "e2e-\(kind.rawValue)-\(PostgresEndToEndTests.rand())"
        try await S3Client(endpoint: s3.endpoint, region: s3.region,
                           credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey)).createBucket(bucket)
        let fixture = try await Self.fixture(kind, e2e, ns)
        let destinations: [(String, JSONValue, JSONValue)] = [
            ("\(kind.rawValue)-vol", ["volume": ["claimName": "backups", "path": "b"]], ["volume": ["path": .string(storeDir.path), "prefix": "b"]]),
            ("\(kind.rawValue)-s3", ["s3": ["endpoint": .string(s3.endpoint), "bucket": .string(bucket), "prefix": "b",
                                            "region": .string(s3.region), "credentialsSecretRef": ["name": "s3"]]],
             try Self.s3Store(e2e, s3, bucket: bucket, prefix: "b")),
        ]
        for (name, destination, _) in destinations {
            try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
                           "metadata": ["name": .string(name), "namespace": .string(ns)],
                           "spec": ["schedule": "@every 1m", "source": fixture.source, "destination": destination,
                                    "retention": ["keepLast": 3], "verify": ["checksum": true, "listContents": true]]])
        }
        // No run-now: the first scheduled slot (a minute after creation) takes the backups.
        let op = try e2e.startOperator()
        defer { Task { await op.kill9(); await fixture.cleanup(); await e2e.shutdown() } }
        for (name, _, store) in destinations {
            let p = await e2e.waitFor(ns, name, timeout: .seconds(180)) {
                $0.status?.lastBackup?.verified == true && $0.status?.conditions?.isTrue("LastBackupSucceeded") == true
            }
            #expect(p?.status?.lastBackup?.verified == true, "\(name): \(p.map(Demo.summary) ?? "none")\n\(op.output.suffix(2500))")
            #expect(p?.status?.lastScheduleTime != nil)
            #expect((p?.status?.artifacts?.count ?? 0) >= 1)
            let slotJobs = e2e.jobs(ns, policy: name).filter {
                $0["metadata"]?["labels"]?["backstop.dev/operation"] == "backup"
                    && !["manual", "follow-up"].contains($0["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue ?? "manual")
            }
            #expect(!slotJobs.isEmpty, "\(name): no scheduled backup Job")
            #expect(!e2e.events(ns, about: name).isEmpty)
            #expect(try await fixture.restoreMatches(e2e, name, store), "\(name): restored data differs")
        }
    }

    @discardableResult
    static func clickhouse(_ url: String, _ sql: String) async throws -> String {
        let response = try await HTTPClient().execute(HTTPRequest(method: .post, url: url + "/", body: .string(sql)))
        let text = String(decoding: try await response.body.collect(upTo: 16 << 20), as: UTF8.self)
        guard response.head.isSuccess else { throw DemoError.failed("ClickHouse: \(text.prefix(500))") }
        return text
    }

    static func fixture(_ kind: Kind, _ e2e: E2E, _ ns: String) async throws -> Fixture {
        switch kind {
        case .bucket:
            // An S3 bucket mirror (seed 000's `mc mirror`): restore into a new bucket, compare every object.
            let s3 = try TestServices.s3()
            let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                                  credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
            let source = "e2e-mirror-src-\(PostgresEndToEndTests.rand())"
            try await client.createBucket(source)
            var initial: [String: String] = ["evidence/2026/a.pdf": String(repeating: "pdf", count: 3000), "evidence/b.txt": "b\n", "top.json": "{}"]
            for i in 0..<20 { initial["bulk/\(i).txt"] = "object \(i)" }
            let objects = initial
            for (key, text) in objects { _ = try await client.putObject(bucket: source, key: key, body: .string(text)) }
            return Fixture(source: ["s3": ["endpoint": .string(s3.endpoint), "bucket": .string(source), "region": .string(s3.region),
                                           "credentialsSecretRef": ["name": "s3"]]]) { e2e, policy, store in
                let target = "\(source)-r-\(policy.hasSuffix("s3") ? "s3" : "vol")"
                let r = try await e2e.agent("restore", spec: ["policy": .string(policy), "store": store, "artifact": "latest", "target": [
                    "s3": ["endpoint": .string(s3.endpoint), "bucket": .string(target), "region": .string(s3.region), "createBucket": true,
                           "accessKeyIdFile": .string(try e2e.writeFile(s3.accessKey, name: "rak")),
                           "secretAccessKeyFile": .string(try e2e.writeFile(s3.secretKey, name: "rsk"))]]])
                guard r.status == 0 else { Issue.record("restore: \(r.stdout.suffix(1500)) \(r.stderr.suffix(1500))"); return false }
                let restored = try await client.listAllObjects(bucket: target).map(\.key)
                guard Set(restored) == Set(objects.keys) else { Issue.record("restored keys: \(restored.sorted())"); return false }
                for (key, text) in objects {
                    let body = try await client.getObject(bucket: target, key: key).body.collect(upTo: 1 << 20)
                    guard String(decoding: body, as: UTF8.self) == text else { Issue.record("\(key) differs"); return false }
                }
                return true
            }
        case .clickhouse:
            let url = try TestServices.clickhouse().url
            let db = "e2e_ch_\(PostgresEndToEndTests.rand())"
            try await Self.clickhouse(url, "CREATE DATABASE \(db)")
            try await Self.clickhouse(url, "CREATE TABLE \(db).events (d Date, id UInt32, s String) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id")
            try await Self.clickhouse(url, "INSERT INTO \(db).events SELECT toDate('2026-01-01') + (number % 60), toUInt32(number), toString(number * 7) FROM system.numbers LIMIT 3000")
            let query = "SELECT count(), sum(id), groupBitXor(cityHash64(s)) FROM "
            let expected = try await Self.clickhouse(url, query + "\(db).events")
            return Fixture(source: ["clickhouse": ["url": .string(url), "database": .string(db)]]) { e2e, policy, store in
                let target = "\(db)_r_\(policy.hasSuffix("s3") ? "s3" : "vol")"
                let r = try await e2e.agent("restore", spec: ["policy": .string(policy), "store": store, "artifact": "latest",
                                                              "target": ["clickhouse": ["url": .string(url), "database": .string(target)]]])
                guard r.status == 0 else { Issue.record("restore: \(r.stdout.suffix(1500)) \(r.stderr.suffix(1500))"); return false }
                return try await Self.clickhouse(url, query + "\(target).events") == expected
            } cleanup: {
                for suffix in ["", "_r_s3", "_r_vol"] { _ = try? await Self.clickhouse(url, "DROP DATABASE IF EXISTS \(db)\(suffix)") }
            }
        case .volume:
            let data = try await e2e.volume(ns, "app-data")
            let files = ["config/app.yaml": "replicas: 3\n", "uploads/a.txt": String(repeating: "a", count: 5000), "top.txt": "top\n"]
            for (path, text) in files {
                let url = data.appendingPathComponent("site/\(path)")
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
            return Fixture(source: ["volume": ["claimName": "app-data", "path": "site"]]) { e2e, policy, store in
                let target = e2e.work.appendingPathComponent("restore-\(policy)")
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
                let r = try await e2e.agent("restore", spec: ["policy": .string(policy), "store": store, "artifact": "latest",
                                                              "target": ["volume": ["path": .string(target.path)]]])
                guard r.status == 0 else { Issue.record("restore: \(r.stderr.suffix(1500))"); return false }
                return try files.allSatisfy { path, text in
                    try String(contentsOf: target.appendingPathComponent(path), encoding: .utf8) == text
                }
            }
        case .redis:
            let redis = try TestServices.redis()
            let cli = try #require(ChildProcess.which("redis-cli"))
            let marker = "e2e-\(PostgresEndToEndTests.rand())"
            let env = ["REDISCLI_AUTH": redis.password]
            for i in 0..<50 {
                try await ChildProcess.check(cli, ["-h", "127.0.0.1", "-p", String(redis.port), "SET", "\(marker):\(i)", "value-\(i)"], environment: env)
            }
            try e2e.secret(ns, "redis", ["password": redis.password])
            return Fixture(source: ["redis": ["host": "127.0.0.1", "port": .int(Int64(redis.port)),
                                              "passwordSecretRef": ["name": "redis", "key": "password"]]]) { e2e, policy, store in
                let target = e2e.work.appendingPathComponent("redis-\(policy)")
                try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
                let r = try await e2e.agent("restore", spec: ["policy": .string(policy), "store": store, "artifact": "latest",
                                                              "target": ["redis": ["dataDirectory": .string(target.path)]]])
                guard r.status == 0 else { Issue.record("restore: \(r.stderr.suffix(1500))"); return false }
                // Load the restored dump.rdb into a private redis-server and read the keys back.
                let server = try #require(ChildProcess.which("redis-server"))
                let port = try FreePort.pick()
                let p = Process()
                p.executableURL = URL(fileURLWithPath: server)
                p.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--dir", target.path, "--dbfilename", "dump.rdb",
                               "--save", "", "--appendonly", "no"]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                // SIGKILL: redis-server 7 ignores SIGTERM when its shutdown save fails, and the
                // scratch server holds nothing worth saving.
                defer {
                    kill(p.processIdentifier, SIGKILL)
                    p.waitUntilExit()
                }
                var value = ""
                _ = await eventually(.seconds(10)) {
                    value = (try? await ChildProcess.run(cli, ["-h", "127.0.0.1", "-p", String(port), "GET", "\(marker):49"]))?
                        .stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                    return value == "value-49"
                }
                let count = try await ChildProcess.run(cli, ["-h", "127.0.0.1", "-p", String(port), "--scan", "--pattern", "\(marker):*"])
                return value == "value-49" && count.stdout.split(separator: "\n").count == 50
            } cleanup: {
                _ = try? await ChildProcess.run(cli, ["-h", "127.0.0.1", "-p", String(redis.port), "DEL"] + (0..<50).map { "\(marker):\($0)" },
                                                environment: env)
            }
        }
    }
}
