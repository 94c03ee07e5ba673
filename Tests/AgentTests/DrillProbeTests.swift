import Agent
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

/// `agent drill probe` on ClickHouse and S3 scratch targets: someone else's database or objects
/// under the scratch prefix are refused with TargetExists and a message saying what to do, and
/// left exactly as they were; a free target, or the drill's own leftover, passes.
@Suite struct DrillProbeTests {
    static func probe(_ target: JSONValue, ownerTag: String = "drill-team-probe") -> JSONValue {
        ["drill": ["action": "probe", "ownerTag": .string(ownerTag)], "target": target]
    }

    @Test func aClickHouseScratchDatabaseThatIsNotTheDrillsIsRefusedAndLeftAlone() async throws {
        let ch = try ClickHouseFixture()
        let h = try AgentHarness("probe-ch")
        let db = "probe_" + UUID().uuidString.prefix(8).lowercased()
        let target: JSONValue = ["clickhouse": ["url": .string(ch.url), "database": .string(db)]]
        defer { Task { try? await ch.query("DROP DATABASE IF EXISTS \(db)") } }

        let free = try await h.run("drill", Self.probe(target))
        #expect(free.exitCode == 0 && free.result["drill"]?["notes"] == nil, "no such database: free. \(free.stdout)")

        try await ch.query("CREATE DATABASE \(db)")
        try await ch.query("CREATE TABLE \(db).keep (id UInt32) ENGINE = TinyLog")
        try await ch.query("INSERT INTO \(db).keep VALUES (1), (2)")
        let refused = try await h.run("drill", Self.probe(target))
        let message = refused.result["message"]?.stringValue ?? ""
        #expect(refused.exitCode == 4 && refused.reason == "TargetExists", "\(refused.stdout)")
        #expect(message.contains("scratch clickhouse database \(db) already exists and is not this drill's")
                && message.contains("name another spec.scratch database, or drop \(db)"), "\(message)")
        #expect(try await ch.query("SELECT count() FROM \(db).keep").trimmingCharacters(in: .whitespacesAndNewlines) == "2", "someone else's data is untouched")
        #expect(try await ch.query("SELECT count() FROM system.tables WHERE database = '\(db)'").hasPrefix("1"), "and nothing was added to it")

        // Tagged by another drill: still not this one's.
        try await ch.query("CREATE TABLE \(db).backstop_scratch_owner (tag String) ENGINE = TinyLog")
        try await ch.query("INSERT INTO \(db).backstop_scratch_owner VALUES ('drill-team-other')")
        let otherDrills = try await h.run("drill", Self.probe(target))
        #expect(otherDrills.exitCode == 4 && otherDrills.reason == "TargetExists", "\(otherDrills.stdout)")
        // This drill's own, left by an interrupted run: the restore replaces it.
        let own = try await h.run("drill", Self.probe(target, ownerTag: "drill-team-other"))
        let notes = own.result["drill"]?["notes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(own.exitCode == 0 && notes.contains { $0.contains("is this drill's own, left by an interrupted run") }, "\(own.stdout)")
        #expect(try await ch.query("SELECT count() FROM \(db).keep").trimmingCharacters(in: .whitespacesAndNewlines) == "2", "a probe never drops")
    }

    @Test func objectsUnderTheS3ScratchPrefixAreRefusedAndLeftAlone() async throws {
        let s3 = try TestServices.s3()
        let client = S3StoreTests.client(s3)
        let h = try AgentHarness("probe-s3")
        let bucket = "probe-" + UUID().uuidString.prefix(8).lowercased()
        func target(prefix: String, bucket: String = bucket) throws -> JSONValue {
            var fields = try h.s3Fields(s3, bucket: bucket, prefix: prefix)
            return ["s3": .object(fields)]
        }

        let missing = try await h.run("drill", Self.probe(try target(prefix: "copy/")))
        #expect(missing.exitCode == 0, "a bucket that does not exist yet holds nothing: \(missing.stdout)")

        try await client.createBucket(bucket)
        for key in ["copy/a.txt", "copy/b.txt", "other/c.txt"] { _ = try await client.putObject(bucket: bucket, key: key, body: .string(key)) }
        let refused = try await h.run("drill", Self.probe(try target(prefix: "copy/")))
        let message = refused.result["message"]?.stringValue ?? ""
        #expect(refused.exitCode == 4 && refused.reason == "TargetExists", "\(refused.stdout)")
        #expect(message.contains("scratch s3://\(bucket)/copy/ holds 2 object(s)")
                && message.contains("name another spec.scratch bucket or prefix, or empty it"), "\(message)")
        let keys = try await client.listAllObjects(bucket: bucket, prefix: "").map(\.key).sorted()
        #expect(keys == ["copy/a.txt", "copy/b.txt", "other/c.txt"], "nothing deleted: \(keys)")
        let body = try await client.getObject(bucket: bucket, key: "copy/a.txt").body.collect(upTo: 1 << 10)
        #expect(String(decoding: body, as: UTF8.self) == "copy/a.txt", "nothing overwritten")

        // Only the scratch prefix counts: objects beside it do not make it taken.
        let beside = try await h.run("drill", Self.probe(try target(prefix: "fresh/")))
        #expect(beside.exitCode == 0, "\(beside.stdout)")
    }
}
