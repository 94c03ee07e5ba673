import Controllers
import Crypto
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import TestSupport
import Testing

/// ClickHouse and an S3 bucket mirror through the controller: the Job builder's spec for those
/// sources is what the agent reads; then a RestoreRequest puts the backed-up data back over the
/// changed source.
@Suite(.serialized) struct MoreSourcesIntegrationTests {
    func runNow(_ h: ControllerHarness, _ policy: BackupPolicy) async throws -> BackupPolicyStatus? {
        var policy = policy
        policy.metadata.annotations = [Backstop.runNowAnnotation: "1"]
        try h.create(policy)
        h.startController()
        let name = policy.metadata.name!
        _ = try await eventually(.seconds(90)) {
            let result = try await h.policy(name).status?.lastManualRun?.result
            return result != nil && result != .running
        }
        return try await h.policy(name).status
    }

    /// Creates a RestoreRequest over the policy's source with the writer Deployment quiesced
    /// and waits until it finished.
    func restoreOverSource(_ h: ControllerHarness, _ policy: String) async throws -> RestoreRequest {
        _ = try h.sim.store.create(["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                                    "metadata": ["name": "back", "namespace": "team"],
                                    "spec": ["policyRef": ["name": .string(policy)], "allowOverwriteSource": true,
                                             "quiesce": [["kind": "Deployment", "name": "writer"]]]])
        let api = h.client.resource(RestoreRequest.self, namespace: "team")
        _ = try await eventually(.seconds(120)) {
            let phase = try await api.get("back").status?.phase
            return phase == .succeeded || phase == .failed
        }
        return try await api.get("back")
    }

    /// A writer Deployment of 2 replicas running `script` in a loop every 100 ms; `env` from Secret
    /// keys. It ignores SIGTERM, so its Pods linger 3 s: the restore must wait them out.
    static func writer(_ script: String, env: [(name: String, secret: String, key: String)] = []) -> JSONValue {
        let vars: [JSONValue] = env.map { ["name": .string($0.name), "valueFrom": ["secretKeyRef": ["name": .string($0.secret), "key": .string($0.key)]]] }
        return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "writer", "namespace": "team"],
                "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "writer"]],
                         "template": ["metadata": ["labels": ["app": "writer"]], "spec": [
                            "terminationGracePeriodSeconds": 3,
                            "containers": [["name": "w", "image": "busybox", "env": .array(vars),
                                            "command": ["sh", "-c", .string("trap '' TERM; while true; do \(script) >/dev/null 2>&1; sleep 0.1; done")]]]]]]]
    }

    /// The fenced writer was gone while the restore Job ran and came back to its 2 replicas.
    func expectFenced(_ h: ControllerHarness, _ restored: RestoreRequest) async throws {
        let s = try #require(restored.status)
        #expect(s.savedReplicas == ["Deployment/writer": 2])
        let job = try #require(s.steps?.first { $0.name == "Restore" }?.job)
        let fence = try FenceHistory(h.sim.store, restoreJob: job, workload: "writer", podLabel: ("app", "writer"))
        #expect(fence.absentDuringRestore, "no writer Pod may exist while the restore Job runs: \(fence)")
        #expect(fence.replicaChanges == [2, 0, 2], "\(fence.replicaChanges)")
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["status", "readyReplicas"]] == 2
        })
    }

    /// When the Resume step started, in milliseconds since the epoch: writes older than this
    /// were made before the restore and must be gone.
    static func resumedAtMillis(_ r: RestoreRequest) throws -> Int64 {
        let started = try #require(r.status?.steps?.first { $0.name == "Resume" }?.startedAt?.date)
        return Int64(started.timeIntervalSince1970 * 1000)
    }

    @Test func aClickHouseRestoreOverTheSourceQuiescesItsWriterAndBringsBackTheRows() async throws {
        let url = try TestServices.clickhouse().url
        let db = "ctl_" + UUID().uuidString.prefix(8).lowercased()
        let http = HTTPClient()
        func run(_ sql: String) async throws -> String {
            let response = try await http.execute(HTTPRequest(method: .post, url: url + "/", body: .string(sql)))
            let body = String(decoding: try await response.body.collect(upTo: 1 << 24), as: UTF8.self)
            #expect(response.head.isSuccess, "\(sql): \(body)")
            return body.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // `ms`: when a writer row was written (0 for the seed rows).
        _ = try await run("CREATE DATABASE \(db)")
        _ = try await run("CREATE TABLE \(db).events (d Date, id UInt32, src String, ms UInt64) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id")
        _ = try await run("INSERT INTO \(db).events SELECT today() - number % 10, number, 'seed', 0 FROM system.numbers LIMIT 1000")
        let rowsQuery = "SELECT d, id, src, ms FROM \(db).events WHERE src != 'writer' ORDER BY id FORMAT TSV"
        let backedUp = try await run(rowsQuery)
        let h = try await ControllerHarness(workloads: true)
        try h.claim("backups")
        let policy = BackupPolicy(metadata: ObjectMeta(name: "analytics", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(clickhouse: ClickHouseSource(url: url, database: db)),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "ch"))))
        let s = try await runNow(h, policy)
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s?.conditions))")
        #expect(s?.lastBackup?.verified == true)
        // The app writes on; the damage: the table emptied and stray rows put in.
        let insert = "INSERT INTO \(db).events SELECT today(), 1000000 + rand() % 1000000, 'writer', $(date +%s%3N)"
        _ = try h.sim.store.create(Self.writer("curl -sf --data-binary \"\(insert)\" \(url)/"))
        #expect(try await eventually(.seconds(30)) { Int(try await run("SELECT count() FROM \(db).events WHERE src = 'writer'")) ?? 0 > 5 },
                "the writer writes")
        _ = try await run("TRUNCATE TABLE \(db).events")
        _ = try await run("INSERT INTO \(db).events SELECT today(), 5000000 + number, 'stray', 0 FROM system.numbers LIMIT 5")
        #expect(try await eventually(.seconds(30)) { Int(try await run("SELECT count() FROM \(db).events WHERE src = 'writer'")) ?? 0 > 5 })

        let restored = try await restoreOverSource(h, "analytics")
        #expect(restored.status?.phase == .succeeded, "\(String(describing: restored.status))")
        try await expectFenced(h, restored)
        #expect(try await run(rowsQuery) == backedUp, "the table holds the backup's rows again, the stray ones gone")
        let before = try Self.resumedAtMillis(restored)
        #expect(try await run("SELECT count() FROM \(db).events WHERE src = 'writer' AND ms < \(before)") == "0",
                "rows written before the restore are gone; only the resumed writer's are new")
        await h.stop()
        _ = try? await run("DROP DATABASE IF EXISTS \(db)")
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    /// Every object of the bucket: key → sha256 of its body.
    static func checksums(_ client: S3Client, _ bucket: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for key in try await client.listAllObjects(bucket: bucket, prefix: "").map(\.key) {
            out[key] = sha256(try await client.getObject(bucket: bucket, key: key).body.collect(upTo: 1 << 24))
        }
        return out
    }

    @Test func anS3MirrorRestoreOverTheSourceQuiescesItsWriterAndBringsBackTheObjects() async throws {
        let s3 = try TestServices.s3()
        let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                              credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        let source = "ctl-src-" + UUID().uuidString.prefix(8).lowercased()
        let target = "ctl-dst-" + UUID().uuidString.prefix(8).lowercased()
        try await client.createBucket(source)
        try await client.createBucket(target)
        for i in 0..<3 { _ = try await client.putObject(bucket: source, key: "docs/\(i).txt", body: .string("document \(i)")) }
        let backedUp = try await Self.checksums(client, source)
        let h = try await ControllerHarness(workloads: true)
        try h.secret("s3-creds", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        let creds = S3CredentialsRef(name: "s3-creds")
        var mirror = S3Source(endpoint: s3.endpoint, bucket: source, credentialsSecretRef: creds)
        mirror.region = s3.region
        let policy = BackupPolicy(metadata: ObjectMeta(name: "mirror", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(s3: mirror),
            destination: BackupDestination(s3: S3Destination(endpoint: s3.endpoint, bucket: target, prefix: "m", region: s3.region,
                                                             credentialsSecretRef: creds))))
        let s = try await runNow(h, policy)
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s?.conditions))")
        #expect(s?.lastBackup?.id != nil)
        let keys = try await client.listAllObjects(bucket: target, prefix: "m/mirror/").map(\.key)
        #expect(keys.contains { $0.hasSuffix(".manifest.json") })
        // The app uploads on (signed with the Secret's keys, as an app would), each object named by
        // the nanosecond it was written; the damage: one object gone, one overwritten, one added.
        let put = "curl -sf -X PUT --aws-sigv4 aws:amz:\(s3.region):s3 --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" " +
            "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' " +
            "--data-binary w \(s3.endpoint)/\(source)/writer/$(date +%s%N).txt"
        _ = try h.sim.store.create(Self.writer(put, env: [("AWS_ACCESS_KEY_ID", "s3-creds", "AWS_ACCESS_KEY_ID"),
                                                          ("AWS_SECRET_ACCESS_KEY", "s3-creds", "AWS_SECRET_ACCESS_KEY")]))
        #expect(try await eventually(.seconds(30)) {
            try await client.listAllObjects(bucket: source, prefix: "writer/").count > 5
        }, "the writer writes")
        try await client.deleteObject(bucket: source, key: "docs/1.txt")
        _ = try await client.putObject(bucket: source, key: "docs/2.txt", body: .string("tampered"))
        _ = try await client.putObject(bucket: source, key: "docs/extra.txt", body: .string("not in the backup"))

        let restored = try await restoreOverSource(h, "mirror")
        #expect(restored.status?.phase == .succeeded, "\(String(describing: restored.status))")
        try await expectFenced(h, restored)
        let now = try await Self.checksums(client, source)
        #expect(now.filter { !$0.key.hasPrefix("writer/") } == backedUp, "the backup's keys with the backup's checksums")
        let before = try Self.resumedAtMillis(restored)
        let older = now.keys.filter { $0.hasPrefix("writer/") && (Int64($0.dropFirst(7).dropLast(4)) ?? 0) / 1_000_000 < before }
        #expect(older.isEmpty, "objects written before the restore are gone: \(older.sorted().prefix(3))")
        await h.stop()
    }
}
