import Agent
import BackstopCore
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

/// `source.s3` without `bucket`: every bucket of the endpoint. Other tests share the moto
/// server, so each test here puts its objects under its own prefix (which applies inside every
/// bucket) and asserts on its own buckets only; restores select them with `buckets`.
extension S3MirrorTests {
    /// The source spec without a bucket.
    func everyBucket(_ h: AgentHarness, prefix: String) throws -> JSONValue {
        var fields = try h.s3Fields(s3, bucket: "unused", prefix: prefix)
        fields["bucket"] = nil
        return ["s3": .object(fields)]
    }

    func restoreTarget(_ h: AgentHarness, _ extra: [String: JSONValue]) throws -> JSONValue {
        var fields = try h.s3Fields(s3, bucket: "unused")
        fields["bucket"] = nil
        fields["prefix"] = nil
        for (name, value) in extra { fields[name] = value }
        return ["s3": .object(fields)]
    }

    /// The snapshot listing's lines, as stored.
    func listing(_ run: AgentHarness.Run, in bucket: String) async throws -> [JSONValue] {
        let key = try #require(run.result["artifact"]?["key"]?.stringValue)
        let bytes = try await client.getObject(bucket: bucket, key: key).body.collect(upTo: 1 << 20)
        return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { try JSONValue(parsing: String($0)) }
    }

    @Test("every bucket: all listed (not the store's), incremental, verify, restore of selected buckets, rename of one, prune")
    func everyBucketRoundTrip() async throws {
        let h = try AgentHarness("s3m-all")
        let tag = uniqueName("every") + "/"
        let a = uniqueName("alla"), b = uniqueName("allb"), c = uniqueName("allc"), empty = uniqueName("alle")
        let backups = uniqueName("bk"), renamed = uniqueName("ren")
        for bucket in [a, b, c, empty, backups] { try await client.createBucket(bucket) }
        for i in 0..<3 { try await put(a, "\(tag)doc-\(i).json", Array("{\"a\": \(i)}".utf8), type: "application/json") }
        try await put(a, "\(tag)big.bin", (0..<(9 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try await put(b, "\(tag)x/y.txt", Array("b-y".utf8), type: "text/plain")
        try await put(b, "\(tag)z", [])
        try await put(c, "\(tag)only", Array("c".utf8))
        try await put(c, "outside/prefix", Array("not backed up".utf8))
        // Under the prefix in the store's own bucket: a backup must not contain itself.
        try await put(backups, "\(tag)in-store", Array("skip me".utf8))
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: backups, prefix: "minio"))]
        let spec: JSONValue = ["policy": "minio-buckets", "store": store, "source": try everyBucket(h, prefix: tag)]

        var first = spec
        first["id"] = "20260101T020000Z-bbbb0001"
        let backup = try await h.run("backup", first)
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        #expect(backup.result["rowCounts"]?["objects"] == 7, "\(backup.stdout)")
        let lines = try await listing(backup, in: backups)
        let header = try #require(lines.first)
        #expect(header["version"] == 2 && header["bucket"] == nil)
        let listed = Set(header["buckets"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(listed.isSuperset(of: [a, b, c, empty]) && !listed.contains(backups), "\(listed.count) buckets")
        let entries = lines.dropFirst().dropLast()
        #expect(Set(entries.compactMap { $0["bucket"]?.stringValue }) == [a, b, c])
        let names = entries.map { "\($0["bucket"]?.stringValue ?? "?")/\($0["key"]?.stringValue ?? "?")" }
        #expect(names.sorted() == (["\(a)/\(tag)big.bin", "\(b)/\(tag)x/y.txt", "\(b)/\(tag)z", "\(c)/\(tag)only"]
                                   + (0..<3).map { "\(a)/\(tag)doc-\($0).json" }).sorted())
        let original = [a: try await contents(a), b: try await contents(b), c: try await contents(c, prefix: tag)]

        // Nothing changed but one object: only that one is copied.
        try await put(b, "\(tag)x/y.txt", Array("b-y amended".utf8), type: "text/plain")
        var second = spec
        second["id"] = "20260102T020000Z-bbbb0002"
        let again = try await h.run("backup", second)
        try #require(again.exitCode == 0, "\(again.stdout)")
        #expect(again.result["details"]?["copiedObjects"] == 1 && again.result["details"]?["unchangedObjects"] == 6, "\(again.stdout)")
        #expect(try await client.listAllObjects(bucket: backups, prefix: "minio/minio-buckets/objects/").count == 8)
        let latest = [a: try await contents(a), b: try await contents(b)]

        let verify = try await h.run("verify", ["policy": "minio-buckets", "store": store, "verify": ["checksum": true]])
        #expect(verify.exitCode == 0, "\(verify.stdout)")

        // Wipe a, b and c; restore only a and b, each into the bucket of its name.
        for bucket in [a, b, c] {
            for object in try await client.listAllObjects(bucket: bucket, prefix: tag) { try await client.deleteObject(bucket: bucket, key: object.key) }
        }
        let restore = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                  "target": try restoreTarget(h, ["buckets": [.string(a), .string(b)]])])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        #expect(try await contents(a) == latest[a])
        #expect(try await contents(b) == latest[b])
        #expect(try await client.listAllObjects(bucket: c, prefix: tag).isEmpty, "c was not selected")
        #expect(try await client.headObject(bucket: a, key: "\(tag)doc-1.json")?.contentType == "application/json")

        // One bucket of the first snapshot under another name (created).
        let rename = try await h.run("restore", ["policy": "minio-buckets", "store": store, "artifact": "20260101T020000Z-bbbb0001",
                                                 "target": try restoreTarget(h, ["buckets": [.string(b)], "bucket": .string(renamed),
                                                                                 "createBucket": true])])
        #expect(rename.exitCode == 0, "\(rename.stdout)")
        #expect(try await contents(renamed) == original[b])

        // A rename needs exactly one source bucket; unknown buckets and missing targets are refused before any write.
        let ambiguous = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                    "target": try restoreTarget(h, ["buckets": [.string(a), .string(c)],
                                                                                    "bucket": .string(renamed + "-x"), "createBucket": true])])
        #expect(ambiguous.exitCode == 2 && ambiguous.reason == "SpecInvalid", "\(ambiguous.stdout)")
        let everything = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                     "target": try restoreTarget(h, ["bucket": .string(renamed + "-x"), "createBucket": true])])
        #expect(everything.reason == "SpecInvalid", "\(everything.stdout)")
        let unknown = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                  "target": try restoreTarget(h, ["buckets": [.string(uniqueName("nope"))]])])
        #expect(unknown.reason == "SpecInvalid", "\(unknown.stdout)")
        #expect(try await !client.listBuckets().contains(renamed + "-x"))
        try await client.deleteBucket(empty)
        let missing = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                  "target": try restoreTarget(h, ["buckets": [.string(c), .string(empty)]])])
        #expect(missing.reason == "TargetMissing", "\(missing.stdout)")
        #expect(try await client.listAllObjects(bucket: c, prefix: tag).isEmpty, "nothing written before the refusal")
        let created = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                  "target": try restoreTarget(h, ["buckets": [.string(c), .string(empty)], "createBucket": true])])
        #expect(created.exitCode == 0, "\(created.stdout)")
        #expect(try await contents(c, prefix: tag) == original[c])
        #expect(try await client.listBuckets().contains(empty))

        // removeExtra is per restored bucket, within the prefix.
        try await put(a, "\(tag)stale", Array("old".utf8))
        let exact = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                "target": try restoreTarget(h, ["buckets": [.string(a)], "removeExtra": true])])
        #expect(exact.exitCode == 0 && exact.result["target"]?["removed"] == "1", "\(exact.stdout)")
        #expect(try await contents(a) == latest[a])
        #expect(try await client.headObject(bucket: c, key: "outside/prefix") != nil)

        // Never removeExtra over the store's own keys.
        let overStore = try await h.run("restore", ["policy": "minio-buckets", "store": store,
                                                    "target": try restoreTarget(h, ["buckets": [.string(a)], "bucket": .string(backups),
                                                                                    "prefix": "minio/", "removeExtra": true])])
        #expect(overStore.reason == "SpecInvalid", "\(overStore.stdout)")

        // Prune keeps the newest snapshot; only the blob of the amended object's old version goes.
        let later = UTCTimestamp.rfc3339(Date().addingTimeInterval(7200))
        let prune = try await h.run("prune", ["policy": "minio-buckets", "store": store, "retention": ["keepLast": 1], "now": .string(later)])
        #expect(prune.exitCode == 0 && prune.result["deleted"] == 1 && prune.result["objectsDeleted"] == 1, "\(prune.stdout)")
        let afterPrune = try await h.run("verify", ["policy": "minio-buckets", "store": store, "verify": ["checksum": true]])
        #expect(afterPrune.exitCode == 0, "\(afterPrune.stdout)")
    }

    @Test("every bucket: refused as empty only when no bucket has objects under the prefix; wrong credentials fail the bucket listing")
    func everyBucketEmptyAndDenied() async throws {
        let h = try AgentHarness("s3m-all-empty")
        let tag = uniqueName("none") + "/"
        let store: JSONValue = ["volume": ["path": .string(h.dir.path), "prefix": "v"]]
        try await client.createBucket(uniqueName("alle"))
        let empty = try await h.run("backup", ["policy": "all", "store": store, "source": try everyBucket(h, prefix: tag)])
        #expect(empty.exitCode == 4 && empty.reason == "SourceEmpty", "\(empty.stdout)")
        var allowed = try everyBucket(h, prefix: tag)
        allowed["s3"]?["allowEmpty"] = true
        let recorded = try await h.run("backup", ["policy": "all", "store": store, "source": allowed])
        #expect(recorded.exitCode == 0 && recorded.result["rowCounts"]?["objects"] == 0, "\(recorded.stdout)")

        let one = uniqueName("allo")
        try await client.createBucket(one)
        try await put(one, "\(tag)a", Array("a".utf8))
        let single = try await h.run("backup", ["policy": "all", "store": store, "source": try everyBucket(h, prefix: tag)])
        #expect(single.exitCode == 0 && single.result["rowCounts"]?["objects"] == 1, "\(single.stdout)")

        let secret = "wrong-\(UUID().uuidString.prefix(12))"
        var denied = try everyBucket(h, prefix: tag)
        denied["s3"]?["secretAccessKeyFile"] = .string(try h.write("s3-secret-wrong", secret))
        let wrong = try await h.run("backup", ["policy": "all", "store": store, "source": denied])
        #expect(wrong.exitCode == 3 && wrong.reason == "AuthenticationFailed", "\(wrong.stdout)")
        #expect(!wrong.stdout.contains(secret))
    }

    @Test("a single-bucket snapshot keeps version 1 (no per-entry bucket) and restores by default, renamed, and via buckets")
    func singleBucketSnapshotStillRestores() async throws {
        let h = try AgentHarness("s3m-v1")
        let bucket = uniqueName("src"), backups = uniqueName("bk"), other = uniqueName("dst")
        try await client.createBucket(bucket)
        try await client.createBucket(backups)
        for i in 0..<3 { try await put(bucket, "evidence/\(i)", Array("v1-\(i)".utf8)) }
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: backups, prefix: "m"))]
        let backup = try await h.run("backup", ["policy": "evidence", "store": store, "source": try source(h, bucket: bucket)])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        let lines = try await listing(backup, in: backups)
        #expect(lines.first?["version"] == 1 && lines.first?["bucket"]?.stringValue == bucket && lines.first?["buckets"] == nil)
        #expect(lines.dropFirst().allSatisfy { $0["bucket"] == nil })
        let original = try await contents(bucket)

        for key in original.keys { try await client.deleteObject(bucket: bucket, key: key) }
        let restore = try await h.run("restore", ["policy": "evidence", "store": store, "target": try restoreTarget(h, [:])])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        #expect(try await contents(bucket) == original)
        let renamed = try await h.run("restore", ["policy": "evidence", "store": store,
                                                  "target": try restoreTarget(h, ["buckets": [.string(bucket)], "bucket": .string(other),
                                                                                  "createBucket": true])])
        #expect(renamed.exitCode == 0, "\(renamed.stdout)")
        #expect(try await contents(other) == original)
        let wrong = try await h.run("restore", ["policy": "evidence", "store": store,
                                                "target": try restoreTarget(h, ["buckets": [.string(other)]])])
        #expect(wrong.reason == "SpecInvalid", "\(wrong.stdout)")
    }
}
