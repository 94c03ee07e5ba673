import Agent
import BackstopCore
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("PostgreSQL through S3: round trip, catalog, prune, credentials")
struct S3StoreTests {
    static func client(_ s3: TestServices.S3) -> S3Client {
        S3Client(endpoint: s3.endpoint, region: s3.region, credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
    }

    @Test("backup to S3, catalog, verify, restore; prune keeps the newest two on the real bucket")
    func roundTripAndPrune() async throws {
        let h = try AgentHarness("pg-s3")
        let s3 = try TestServices.s3()
        let bucket = uniqueName("backups")
        try await Self.client(s3).createBucket(bucket)
        let source = uniqueDB("s3_src"), scratch = uniqueDB("s3_dst")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source); await h.dropDatabase(scratch) } }
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: bucket, prefix: "agentfs/pg"))]

        // Five backups, "taken" on different days (explicit ids carry the time).
        let days = ["20260101T020000Z-aaaa0001", "20260105T020000Z-aaaa0002", "20260108T020000Z-aaaa0003",
                    "20260109T020000Z-aaaa0004", "20260110T020000Z-aaaa0005"]
        for id in days {
            let backup = try await h.run("backup", ["policy": "agentfs-postgres", "destination": store, "source": h.sourceSpec(source),
                                                     "id": .string(id), "now": .string(UTCTimestamp.rfc3339(try ArtifactID(parsing: id).time))])
            try #require(backup.exitCode == 0, "\(backup.stdout)")
            #expect(backup.result["artifact"]?["id"]?.stringValue == id)
        }
        let catalog = try await h.run("catalog", ["policy": "agentfs-postgres", "store": store])
        #expect(catalog.result["count"] == 5 && catalog.result["newest"]?.stringValue == days[4])

        let verify = try await h.run("verify", ["policy": "agentfs-postgres", "store": store, "artifact": .string(days[2])])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
        let restore = try await h.run("restore", [
            "policy": "agentfs-postgres", "store": store, "backup": ["before": "2026-01-09T00:00:00Z"], "mode": "create",
            "target": ["postgres": .object(h.pgFields(scratch))], "verify": ["rowCounts": true, "sql": AgentHarness.seedChecks],
        ])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        #expect(restore.result["artifact"]?["id"]?.stringValue == days[2])
        #expect(try await h.rowCounts(scratch) == (try await h.rowCounts(source)))

        let prune: JSONValue = ["policy": "agentfs-postgres", "store": store, "retention": ["keepLast": 2, "maxAge": "30d"],
                                "now": "2026-01-10T12:00:00Z"]
        let dry = try await h.run("prune", prune, dryRun: true)
        #expect(dry.exitCode == 0 && dry.result["deleted"] == 0)
        #expect(dry.result["wouldDelete"] == .array(days[0..<3].reversed().map { .string($0) }))
        #expect(try await Self.client(s3).listAllObjects(bucket: bucket).count == 10)
        let applied = try await h.run("prune", prune)
        #expect(applied.exitCode == 0 && applied.result["deleted"] == 3 && applied.result["kept"] == 2)
        let left = try await Self.client(s3).listAllObjects(bucket: bucket).map(\.key)
        #expect(left.count == 4 && left.allSatisfy { $0.contains("aaaa0004") || $0.contains("aaaa0005") })
    }

    @Test("wrong S3 credentials: clear error, no secret in the output, nothing uploaded")
    func wrongCredentials() async throws {
        let h = try AgentHarness("pg-s3-creds")
        let s3 = try TestServices.s3()
        let bucket = uniqueName("creds")
        try await Self.client(s3).createBucket(bucket)
        let source = uniqueDB("creds_src")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source) } }
        let wrong = "wrongsecret\(UUID().uuidString.prefix(8))"
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: bucket, secret: wrong))]
        let backup = try await h.run("backup", ["policy": "p", "destination": store, "source": h.sourceSpec(source)])
        #expect(backup.exitCode == 3 && backup.reason == "StoreAccessDenied", "\(backup.stdout)")
        #expect(!backup.stdout.contains(wrong) && !h.lines.lines.joined().contains(wrong))
        #expect(try await Self.client(s3).listAllObjects(bucket: bucket).isEmpty)
        #expect(try await Self.client(s3).listMultipartUploads(bucket: bucket).isEmpty)
    }
}
