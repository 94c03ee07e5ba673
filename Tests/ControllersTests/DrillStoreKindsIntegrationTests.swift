import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import KubeSim
import TestSupport
import Testing

/// The drills of the other source kinds (ClickHouse, an S3 bucket mirror, Redis): each passes
/// with RTO and RPO measured, the marker found in the scratch copy, the scratch target removed
/// and the marker gone from the source; a scratch target someone else uses is refused at Validate.
extension DrillIntegrationTests {
    @Test func clickHouseBucketMirrorAndRedisDrillsPassAndLeaveNoTrace() async throws {
        let url = try TestServices.clickhouse().url
        let db = "drill_" + UUID().uuidString.prefix(8).lowercased()
        let http = HTTPClient()
        func query(_ sql: String) async throws -> String {
            let r = try await http.execute(HTTPRequest(method: .post, url: url + "/", body: .string(sql)))
            let text = String(decoding: try await r.body.collect(upTo: 1 << 20), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(r.head.isSuccess, "\(sql): \(text)")
            return text
        }
        _ = try await query("CREATE DATABASE \(db)")
        _ = try await query("CREATE TABLE \(db).events (d Date, id UInt32) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id")
        _ = try await query("INSERT INTO \(db).events SELECT today() - number % 10, number FROM system.numbers LIMIT 1000")
        let s3 = try TestServices.s3()
        let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                              credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        let source = "drill-src-" + UUID().uuidString.prefix(8).lowercased()
        let store = "drill-dst-" + UUID().uuidString.prefix(8).lowercased()
        let scratch = "drill-tmp-" + UUID().uuidString.prefix(8).lowercased()
        try await client.createBucket(source)
        try await client.createBucket(store)
        for i in 0..<3 { _ = try await client.putObject(bucket: source, key: "docs/\(i).txt", body: .string("document \(i)")) }

        let h = try await ControllerHarness()
        try h.claim("backups")
        try h.secret("s3-creds", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "analytics", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(clickhouse: ClickHouseSource(url: url, database: db)),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "ch")))))
        let creds = S3CredentialsRef(name: "s3-creds")
        var mirror = S3Source(endpoint: s3.endpoint, bucket: source, credentialsSecretRef: creds)
        mirror.region = s3.region
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "mirror", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(s3: mirror),
            destination: BackupDestination(s3: S3Destination(endpoint: s3.endpoint, bucket: store, prefix: "m", region: s3.region,
                                                             credentialsSecretRef: creds)))))
        h.startController()
        _ = try h.sim.store.create(Self.drill("ch", ["policyRef": ["name": "analytics"], "scratch": ["clickhouse": ["database": .string("\(db)_scratch")]]]))
        _ = try h.sim.store.create(Self.drill("bucket", ["policyRef": ["name": "mirror"], "scratch": ["s3": ["bucket": .string(scratch)]]]))
        for name in ["ch", "bucket"] {
            let d = try await completed(h, name, within: 180)
            #expect(d.status?.result == .passed, "\(name): \(String(describing: d.status))")
            #expect(d.status?.marker?.removed == true)
            let verify = d.status?.steps?.first { $0.name == "Verify" }?.message
            #expect(verify?.hasSuffix("checks passed; the marker is in the scratch copy") == true,
                    "\(name): \(String(describing: verify))")
            Self.expectMeasured(d, freshBackup: true)
        }
        #expect(try await query("SELECT count() FROM system.databases WHERE name = '\(db)_scratch'") == "0", "the scratch database was dropped")
        #expect(try await query("SELECT count() FROM \(db).backstop_drill_markers") == "0", "the marker row is gone from the source")
        #expect(try await query("SELECT count() FROM \(db).events") == "1000")
        #expect(try await client.listAllObjects(bucket: scratch, prefix: "").isEmpty, "the scratch bucket was emptied")
        #expect(try await client.listAllObjects(bucket: source, prefix: "").map(\.key).sorted() == ["docs/0.txt", "docs/1.txt", "docs/2.txt"],
                "the marker object is gone from the source")

        // Scratch targets someone else uses: refused at Validate, before a marker or a backup, and left as they are.
        let taken = "\(db)_taken"
        _ = try await query("CREATE DATABASE \(taken)")
        _ = try await query("CREATE TABLE \(taken).keep (id UInt32) ENGINE = TinyLog")
        _ = try await query("INSERT INTO \(taken).keep VALUES (1), (2)")
        _ = try await client.putObject(bucket: scratch, key: "someone/else.txt", body: .string("not the drill's"))
        func backupJobs(_ policy: String) throws -> Int {
            try h.jobs(of: policy).filter { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue == "backup" }.count
        }
        let backupsBefore = (try backupJobs("analytics"), try backupJobs("mirror"))
        _ = try h.sim.store.create(Self.drill("ch-taken", ["policyRef": ["name": "analytics"], "scratch": ["clickhouse": ["database": .string(taken)]]]))
        _ = try h.sim.store.create(Self.drill("bucket-taken", ["policyRef": ["name": "mirror"], "scratch": ["s3": ["bucket": .string(scratch)]]]))
        for (name, text) in [("ch-taken", "scratch clickhouse database \(taken) already exists and is not this drill's"),
                             ("bucket-taken", "scratch s3://\(scratch)/ holds 1 object(s)")] {
            let refused = try await completed(h, name)
            let validate = refused.status?.steps?.first { $0.name == "Validate" }
            #expect(refused.status?.result == .failed && validate?.phase == .failed, "\(name): \(String(describing: refused.status))")
            #expect(validate?.message?.contains(text) == true && validate?.message?.contains("name another spec.scratch") == true,
                    "\(name): \(String(describing: validate?.message))")
            #expect(refused.status?.steps?.filter { $0.phase == .skipped }.map(\.name) == ["Marker", "Backup", "List", "Restore", "Verify"])
            #expect(refused.status?.marker == nil && refused.status?.freshBackup == nil && refused.status?.measured?.rtoSeconds == nil)
            let jobs = try h.sim.store.list("batch/v1", "Job", namespace: "team").filter { $0[path: ["metadata", "labels", "backstop.dev/drill"]]?.stringValue == name }
            #expect(jobs.compactMap { $0[path: ["metadata", "labels", "backstop.dev/operation"]]?.stringValue } == ["validate"], "\(name): only the probe ran")
        }
        #expect(try backupJobs("analytics") == backupsBefore.0 && (try backupJobs("mirror")) == backupsBefore.1, "no backup Job")
        #expect(try await query("SELECT count() FROM \(db).backstop_drill_markers") == "0", "no marker row was written")
        #expect(try await client.listAllObjects(bucket: source, prefix: "").map(\.key).sorted() == ["docs/0.txt", "docs/1.txt", "docs/2.txt"],
                "no marker object was written")
        #expect(try await query("SELECT count() FROM \(taken).keep") == "2", "someone else's database is left alone")
        #expect(try await client.listAllObjects(bucket: scratch, prefix: "").map(\.key) == ["someone/else.txt"], "someone else's object is left alone")
        _ = try await query("DROP DATABASE IF EXISTS \(taken)")

        // Redis: the backup loaded by a throwaway redis-server inside the restore Job.
        let redis = try TestServices.redis()
        func redisCLI(_ args: [String]) async throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["redis-cli", "-h", redis.host, "-p", String(redis.port)] + args
            process.environment = ProcessInfo.processInfo.environment.merging(["REDISCLI_AUTH": redis.password]) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        _ = try await redisCLI(["SET", "drill:test:key", "v"])
        try h.secret("redis-creds", ["password": redis.password])
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "cache", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(redis: RedisSource(host: redis.host, port: redis.port,
                                                                        passwordSecretRef: SecretKeySelector(name: "redis-creds", key: "password"))),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "redis")))))
        _ = try h.sim.store.create(Self.drill("redis", ["policyRef": ["name": "cache"], "scratch": ["redis": [:]]]))
        let r = try await completed(h, "redis")
        #expect(r.status?.result == .passed, "\(String(describing: r.status))")
        let restore = r.status?.steps?.first { $0.name == "Restore" }
        #expect(restore?.phase == .succeeded && r.status?.marker?.removed == true, "\(String(describing: restore))")
        #expect(restore?.message?.hasSuffix("redisLoad, keyCount, marker") == true, "\(String(describing: restore?.message))")
        Self.expectMeasured(r, freshBackup: true)
        #expect(try await redisCLI(["EXISTS", "backstop:drill:\(r.status?.marker?.id ?? "")"]).trimmingCharacters(in: .whitespacesAndNewlines) == "0",
                "the marker key is gone from the source")
        _ = try h.sim.store.create(Self.drill("redis-elsewhere", ["policyRef": ["name": "cache"], "scratch": ["redis": ["host": "10.0.0.9"]]]))
        let elsewhere = try await completed(h, "redis-elsewhere")
        #expect(elsewhere.status?.result == .failed && elsewhere.status?.message?.contains("scratch: {redis: {}}") == true,
                "\(String(describing: elsewhere.status?.message))")
        _ = try await query("DROP DATABASE IF EXISTS \(db)")
        await h.stop()
    }

    /// RTO and RPO in status, and plausible. Both are whole seconds and these drills' steps
    /// take well under one, so 0 is a fair value: what is checked is that RTO is the Restore and
    /// Verify time the steps recorded, and RPO the marker-to-backup gap of the fresh backup.
    static func expectMeasured(_ drill: DrillRun, freshBackup: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
        let name = drill.metadata.name ?? "?"
        let s = drill.status
        guard let m = s?.measured, let rto = m.rtoSeconds, let rpo = m.rpoSeconds, let restoreSeconds = m.restoreSeconds else {
            Issue.record("\(name): RTO or RPO missing from status: \(String(describing: s?.measured))", sourceLocation: sourceLocation)
            return
        }
        let restore = s?.steps?.first { $0.name == "Restore" }, verify = s?.steps?.first { $0.name == "Verify" }
        guard let from = restore?.startedAt?.date, let to = verify?.finishedAt?.date else {
            Issue.record("\(name): Restore or Verify without times", sourceLocation: sourceLocation)
            return
        }
        let span = to.timeIntervalSince(from)
        #expect(rto >= restoreSeconds && Double(rto) <= span + 1 && span < 120, "\(name): RTO \(rto)s over \(span)s of Restore+Verify: \(m)",
                sourceLocation: sourceLocation)
        #expect((m.backupBytes ?? 0) > 0, "\(name): backup bytes \(m)", sourceLocation: sourceLocation)
        guard freshBackup else {
            #expect(rpo >= 0, "\(name): RPO \(m)", sourceLocation: sourceLocation)
            return
        }
        guard let marked = s?.marker?.writtenAt?.date, let backedUp = s?.backup?.time?.date, s?.freshBackup != nil else {
            Issue.record("\(name): a fresh backup and its marker expected: \(String(describing: s))", sourceLocation: sourceLocation)
            return
        }
        let gap = max(0, backedUp.timeIntervalSince(marked))
        #expect(rpo >= 0 && abs(Double(rpo) - gap) <= 1 && rpo < 60, "\(name): RPO \(rpo)s, marker-to-backup gap \(gap)s", sourceLocation: sourceLocation)
    }
}
