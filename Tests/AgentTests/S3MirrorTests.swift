import Agent
import BackstopCore
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("S3 bucket mirror: incremental snapshots, verify, restore, prune of unreferenced objects")
struct S3MirrorTests {
    let s3: TestServices.S3
    let client: S3Client

    init() throws {
        s3 = try TestServices.s3()
        client = S3StoreTests.client(s3)
    }

    func put(_ bucket: String, _ key: String, _ bytes: [UInt8], type: String = "application/octet-stream") async throws {
        try await client.putObject(bucket: bucket, key: key, body: .bytes(bytes), contentType: type)
    }

    /// key → bytes of every object under `prefix`.
    func contents(_ bucket: String, prefix: String = "") async throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for object in try await client.listAllObjects(bucket: bucket, prefix: prefix) {
            out[object.key] = try await client.getObject(bucket: bucket, key: object.key).body.collect(upTo: 64 << 20)
        }
        return out
    }

    func source(_ h: AgentHarness, bucket: String, prefix: String = "evidence/", secret: String? = nil) throws -> JSONValue {
        var fields = try h.s3Fields(s3, bucket: bucket, secret: secret)
        fields["prefix"] = .string(prefix)
        return ["s3": .object(fields)]
    }

    /// A source bucket: small objects under `evidence/`, a 9 MiB one (multipart path), one outside the prefix.
    func seed(_ bucket: String) async throws {
        try await client.createBucket(bucket)
        for i in 0..<12 { try await put(bucket, "evidence/case-\(i)/report.json", Array("{\"case\": \(i)}".utf8), type: "application/json") }
        try await put(bucket, "evidence/big.bin", (0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try await put(bucket, "evidence/empty", [])
        try await put(bucket, "other/not-backed-up", Array("x".utf8))
    }

    @Test("backup twice (only changed objects copied), verify deeply, wipe, restore: identical; restore elsewhere under another prefix; prune")
    func roundTrip() async throws {
        let h = try AgentHarness("s3m-round")
        let bucket = uniqueName("src"), backups = uniqueName("bk"), elsewhere = uniqueName("dst")
        try await seed(bucket)
        try await client.createBucket(backups)
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: backups, prefix: "minio"))]
        let first = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket),
                                               "id": "20260101T020000Z-aaaa0001"])
        try #require(first.exitCode == 0, "\(first.stdout)")
        #expect(first.result["rowCounts"]?["objects"] == 14)
        let original = try await contents(bucket, prefix: "evidence/")

        // One object changes, one is added: only those two are copied.
        try await put(bucket, "evidence/case-3/report.json", Array("{\"case\": 3, \"amended\": true}".utf8), type: "application/json")
        try await put(bucket, "evidence/new.txt", Array("new".utf8), type: "text/plain")
        let second = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket),
                                                "id": "20260102T020000Z-aaaa0002"])
        try #require(second.exitCode == 0, "\(second.stdout)")
        #expect(second.result["details"]?["copiedObjects"] == 2 && second.result["details"]?["unchangedObjects"] == 13, "\(second.stdout)")
        let manifest = try await h.run("catalog", ["policy": "evidence", "store": store])
        #expect(manifest.result["count"] == 2)
        let blobs = try await client.listAllObjects(bucket: backups, prefix: "minio/evidence/objects/")
        #expect(blobs.count == 16)  // 14 + the amended version + the new object
        let latest = try await contents(bucket, prefix: "evidence/")

        let verify = try await h.run("verify", ["policy": "evidence", "store": store, "verify": ["checksum": true]])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
        let checkNames = verify.result["verification"]?["checks"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(checkNames.contains("objects") && checkNames.contains("objectChecksums"))

        // Wipe the prefix, restore the latest snapshot: same keys, bytes and content types.
        for key in latest.keys { try await client.deleteObject(bucket: bucket, key: key) }
        var target = try h.s3Fields(s3, bucket: bucket)
        target["prefix"] = nil
        let restore = try await h.run("restore", ["policy": "evidence", "store": store, "target": ["s3": .object(target)]])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        #expect(try await contents(bucket, prefix: "evidence/") == latest)
        #expect(try await client.headObject(bucket: bucket, key: "evidence/case-1/report.json")?.contentType == "application/json")

        // The first snapshot into a new bucket under another prefix; removeExtra makes it exact.
        var other = try h.s3Fields(s3, bucket: elsewhere)
        other["prefix"] = "restored/"
        other["createBucket"] = true
        other["removeExtra"] = true
        try await client.createBucket(elsewhere)
        try await put(elsewhere, "restored/stale", Array("old".utf8))
        let older = try await h.run("restore", ["policy": "evidence", "store": store, "artifact": "20260101T020000Z-aaaa0001",
                                                "target": ["s3": .object(other)]])
        #expect(older.exitCode == 0, "\(older.stdout)")
        let copied = try await contents(elsewhere)
        #expect(copied.count == original.count)
        #expect(copied == Dictionary(uniqueKeysWithValues: original.map { ("restored/" + $0.key.dropFirst("evidence/".count), $0.value) }))

        // Prune keeps the newest snapshot and removes the object only the first one listed.
        let later = UTCTimestamp.rfc3339(Date().addingTimeInterval(7200))
        let prune = try await h.run("prune", ["policy": "evidence", "store": store, "retention": ["keepLast": 1], "now": .string(later)])
        #expect(prune.exitCode == 0 && prune.result["deleted"] == 1 && prune.result["objectsDeleted"] == 1, "\(prune.stdout)")
        #expect(try await client.listAllObjects(bucket: backups, prefix: "minio/evidence/objects/").count == 15)
        let afterPrune = try await h.run("verify", ["policy": "evidence", "store": store, "verify": ["checksum": true]])
        #expect(afterPrune.exitCode == 0, "\(afterPrune.stdout)")
    }

    @Test("a corrupted object copy fails a deep verify and is never written by restore; a flipped listing byte is refused")
    func corruption() async throws {
        let h = try AgentHarness("s3m-bad")
        let bucket = uniqueName("src"), backups = uniqueName("bk"), target = uniqueName("dst")
        try await seed(bucket)
        try await client.createBucket(backups)
        try await client.createBucket(target)
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: backups, prefix: "m"))]
        let backup = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket)])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        // Replace one small object's stored copy with different bytes of the same size.
        let blob = try #require(try await client.listAllObjects(bucket: backups, prefix: "m/evidence/objects/").first { $0.size == 12 })
        var bytes = try await client.getObject(bucket: backups, key: blob.key).body.collect(upTo: 1 << 20)
        bytes[0] ^= 0x20
        try await put(backups, blob.key, bytes)
        let shallow = try await h.run("verify", ["policy": "evidence", "store": store])
        #expect(shallow.exitCode == 0, "sizes still match: \(shallow.stdout)")
        let deep = try await h.run("verify", ["policy": "evidence", "store": store, "verify": ["checksum": true]])
        #expect(deep.exitCode == 5 && deep.reason == "VerificationFailed", "\(deep.stdout)")
        var fields = try h.s3Fields(s3, bucket: target)
        fields["prefix"] = nil
        let restore = try await h.run("restore", ["policy": "evidence", "store": store, "target": ["s3": .object(fields)]])
        #expect(restore.exitCode == 5 && restore.reason == "ChecksumMismatch", "\(restore.stdout)")
        let written = try await contents(target)
        let original = try await contents(bucket, prefix: "evidence/")
        #expect(written.allSatisfy { original[$0.key] == $0.value })

        // The listing itself: one flipped byte and verify fails on its sha256, restore refuses up front.
        let key = try #require(backup.result["artifact"]?["key"]?.stringValue)
        var listing = try await client.getObject(bucket: backups, key: key).body.collect(upTo: 1 << 20)
        listing[listing.count / 2] ^= 0x01
        try await put(backups, key, listing)
        let verify = try await h.run("verify", ["policy": "evidence", "store": store])
        #expect(verify.exitCode == 5 && verify.reason == "ChecksumMismatch", "\(verify.stdout)")
        let empty = uniqueName("dst2")
        try await client.createBucket(empty)
        var fresh = try h.s3Fields(s3, bucket: empty)
        fresh["prefix"] = nil
        let refused = try await h.run("restore", ["policy": "evidence", "store": store, "target": ["s3": .object(fresh)]])
        #expect(refused.exitCode == 5 && refused.reason == "ChecksumMismatch", "\(refused.stdout)")
        #expect(try await client.listAllObjects(bucket: empty).isEmpty)
    }

    @Test("wrong source credentials, missing bucket, empty prefix: clear reasons, no secret, no artifact")
    func badInput() async throws {
        let h = try AgentHarness("s3m-input")
        let bucket = uniqueName("src")
        try await seed(bucket)
        let store: JSONValue = ["volume": ["path": .string(h.dir.path), "prefix": "v"]]
        let secret = "wrong-\(UUID().uuidString.prefix(12))"
        let wrong = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket, secret: secret)])
        #expect(wrong.exitCode == 3 && wrong.reason == "AuthenticationFailed", "\(wrong.stdout)")
        #expect(!wrong.stdout.contains(secret) && !h.lines.lines.joined().contains(secret))
        let missing = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: uniqueName("nope"))])
        #expect(missing.exitCode == 3 && missing.reason == "SourceUnreachable", "\(missing.stdout)")
        let empty = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket, prefix: "nothing/")])
        #expect(empty.exitCode == 4 && empty.reason == "SourceEmpty", "\(empty.stdout)")
        let catalog = try await h.run("catalog", ["policy": "evidence", "store": store])
        #expect(catalog.result["count"] == 0)
    }
}
