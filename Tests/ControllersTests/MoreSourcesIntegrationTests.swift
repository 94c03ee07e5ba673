import Controllers
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

    /// Creates a RestoreRequest over the policy's source and waits until it finished.
    func restoreOverSource(_ h: ControllerHarness, _ policy: String) async throws -> RestoreRequest {
        _ = try h.sim.store.create(["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                                    "metadata": ["name": "back", "namespace": "team"],
                                    "spec": ["policyRef": ["name": .string(policy)], "allowOverwriteSource": true]])
        let api = h.client.resource(RestoreRequest.self, namespace: "team")
        _ = try await eventually(.seconds(90)) {
            let phase = try await api.get("back").status?.phase
            return phase == .succeeded || phase == .failed
        }
        return try await api.get("back")
    }

    @Test func aClickHousePolicyProducesAVerifiedArtifact() async throws {
        let url = try TestServices.clickhouse().url
        let db = "ctl_" + UUID().uuidString.prefix(8).lowercased()
        let http = HTTPClient()
        for sql in ["CREATE DATABASE \(db)",
                    "CREATE TABLE \(db).events (d Date, id UInt32) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id",
                    "INSERT INTO \(db).events SELECT today() - number % 10, number FROM system.numbers LIMIT 1000"] {
            let response = try await http.execute(HTTPRequest(method: .post, url: url + "/", body: .string(sql)))
            _ = try await response.body.collect(upTo: 1 << 20)
            #expect(response.head.isSuccess)
        }
        let h = try await ControllerHarness()
        try h.claim("backups")
        let policy = BackupPolicy(metadata: ObjectMeta(name: "analytics", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@daily", source: BackupSource(clickhouse: ClickHouseSource(url: url, database: db)),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "ch"))))
        let s = try await runNow(h, policy)
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s?.conditions))")
        #expect(s?.lastBackup?.verified == true)
        func count() async throws -> String {
            let r = try await http.execute(HTTPRequest(method: .post, url: url + "/", body: .string("SELECT count() FROM \(db).events")))
            return String(decoding: try await r.body.collect(upTo: 1 << 20), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let extra = try await http.execute(HTTPRequest(method: .post, url: url + "/",
                                                       body: .string("INSERT INTO \(db).events SELECT today(), number FROM system.numbers LIMIT 500")))
        _ = try await extra.body.collect(upTo: 1 << 20)
        #expect(try await count() == "1500")
        let restored = try await restoreOverSource(h, "analytics")
        #expect(restored.status?.phase == .succeeded, "\(String(describing: restored.status))")
        #expect(try await count() == "1000", "the table is back to the backup's rows")
        await h.stop()
    }

    @Test func anS3MirrorPolicyProducesAnArtifact() async throws {
        let s3 = try TestServices.s3()
        let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                              credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        let source = "ctl-src-" + UUID().uuidString.prefix(8).lowercased()
        let target = "ctl-dst-" + UUID().uuidString.prefix(8).lowercased()
        try await client.createBucket(source)
        try await client.createBucket(target)
        for i in 0..<3 { _ = try await client.putObject(bucket: source, key: "docs/\(i).txt", body: .string("document \(i)")) }
        let h = try await ControllerHarness()
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
        // The bucket drifts (one object gone, one new), and a restore puts it back as backed up.
        try await client.deleteObject(bucket: source, key: "docs/1.txt")
        _ = try await client.putObject(bucket: source, key: "docs/extra.txt", body: .string("not in the backup"))
        let restored = try await restoreOverSource(h, "mirror")
        #expect(restored.status?.phase == .succeeded, "\(String(describing: restored.status))")
        let now = try await client.listAllObjects(bucket: source, prefix: "").map(\.key).sorted()
        #expect(now == ["docs/0.txt", "docs/1.txt", "docs/2.txt"])
        await h.stop()
    }
}
