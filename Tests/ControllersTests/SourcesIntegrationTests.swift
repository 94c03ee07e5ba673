import Controllers
import Foundation
import HTTP
import KubeModel
import TestSupport
import Testing

/// More sources and destinations through the same controller: PostgreSQL to S3 (credentials
/// mounted from a Secret with the default key names) and Redis to a volume.
@Suite(.serialized) struct SourcesIntegrationTests {
    @Test func aPostgresPolicyToS3ProducesAVerifiedArtifactInTheBucket() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let s3 = try TestServices.s3()
        let bucket = "ctl-" + UUID().uuidString.prefix(8).lowercased()
        let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                              credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        try await client.createBucket(bucket)
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.secret("s3-creds", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        var policy = BackupIntegrationTests.policy("to-s3", pg: pg, database: database)
        policy.spec.destination = BackupDestination(s3: S3Destination(endpoint: s3.endpoint, bucket: bucket, prefix: "team",
                                                                      region: s3.region, credentialsSecretRef: S3CredentialsRef(name: "s3-creds")))
        try h.create(policy)
        h.startController()
        #expect(try await eventually { try await h.policy("to-s3").status?.artifacts?.count == 0 })
        try await h.annotate("to-s3", Backstop.runNowAnnotation, "1")
        let done = try await eventually(.seconds(90)) {
            let s = try await h.policy("to-s3").status
            return s?.lastBackup?.verified == true && s?.lastPrune != nil && s?.activeJob == nil
        }
        let s = try await h.policy("to-s3").status
        #expect(done, "status: \(String(describing: s))")
        let id = try #require(s?.lastBackup?.id)
        let keys = try await client.listAllObjects(bucket: bucket, prefix: "team/to-s3/").map(\.key)
        #expect(keys.contains { $0.hasPrefix("team/to-s3/\(id)") && $0.hasSuffix(".manifest.json") })
        #expect(!String(describing: s).contains(s3.secretKey))
        await h.stop()
    }

    @Test func aRedisPolicyToAVolumeProducesAVerifiedArtifact() async throws {
        let redis = try TestServices.redis()
        // The agent refuses an empty Redis: give it a key (password through the environment, not argv).
        let status = try await runTool("/usr/bin/env", ["redis-cli", "-h", redis.host, "-p", String(redis.port), "SET", "ctl:key", "v"],
                                       environment: ["REDISCLI_AUTH": redis.password])
        #expect(status == 0)
        let h = try await ControllerHarness()
        try h.secret("redis-creds", ["password": redis.password])
        try h.claim("backups")
        var spec = BackupPolicySpec(
            schedule: "@daily",
            source: BackupSource(redis: RedisSource(host: redis.host, port: redis.port,
                                                    passwordSecretRef: SecretKeySelector(name: "redis-creds", key: "password"))),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "redis")))
        spec.verify = BackupVerification(checksum: true, listContents: true)
        var policy = BackupPolicy(metadata: ObjectMeta(name: "cache", namespace: "team"), spec: spec)
        policy.metadata.annotations = [Backstop.runNowAnnotation: "now"]
        try h.create(policy)
        h.startController()
        let done = try await eventually(.seconds(90)) {
            let result = try await h.policy("cache").status?.lastManualRun?.result
            return result != nil && result != .running
        }
        let s = try await h.policy("cache").status
        #expect(done, "status: \(String(describing: s))")
        #expect(s?.lastManualRun?.result == .succeeded, "\(String(describing: s?.conditions))")
        #expect(s?.lastBackup?.verified == true)
        #expect(s?.conditions?.find("Verified")?.status == .true)
        // No retention rules: no prune Job, and the count follows the backups.
        #expect(try h.jobs(of: "cache").allSatisfy { $0["metadata"]?["labels"]?[BackstopLabels.operation] != "prune" })
        #expect(s?.artifacts?.count == 1)
        await h.stop()
    }
}

/// Runs a tool to completion without blocking the cooperative pool (exit via terminationHandler).
func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}
