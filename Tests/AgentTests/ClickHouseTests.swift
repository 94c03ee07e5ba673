import Agent
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

/// A tiny ClickHouse HTTP client for fixtures and comparisons.
struct ClickHouseFixture {
    let url: String
    let http = HTTPClient()

    init() throws { url = try TestServices.clickhouse().url }

    @discardableResult
    func query(_ sql: String) async throws -> String {
        let response = try await http.execute(HTTPRequest(method: .post, url: url + "/", body: .string(sql)))
        let text = String(decoding: try await response.body.collect(upTo: 64 << 20), as: UTF8.self)
        guard response.head.isSuccess else { throw ClickHouseQueryFailed(text: text) }
        return text
    }

    /// Seed 002's shape: traces (old-style MergeTree), observations partitioned by month, scores
    /// (Log), a view; odd types (Nullable, Array, FixedString, Enum, Decimal, tuples of arrays).
    func createSeed(_ db: String, rows: Int = 20000) async throws {
        try await query("CREATE DATABASE \(db)")
        try await query("""
            CREATE TABLE \(db).traces (d Date, ts DateTime, id String, n UInt64, v Float64, tags Array(String),
              x Nullable(Int32), f FixedString(4), e Enum8('a' = 1, 'b' = 2), dec Decimal(12, 3), nested Array(Array(Nullable(String))))
            ENGINE = MergeTree(d, (id, ts), 8192)
            """)
        try await query("""
            INSERT INTO \(db).traces SELECT toDate('2026-11-01') + number % 30, toDateTime('2026-11-01 00:00:00') + number,
              concat('id-', toString(number)), number, number / 3, arrayMap(i -> toString(i), range(number % 5)),
              if(number % 2 = 1, NULL, toInt32(number)), toFixedString('abcd', 4), if(number % 3 = 0, 'a', 'b'),
              toDecimal64(number, 3) / 7, [[toString(number), NULL], []] FROM system.numbers LIMIT \(rows)
            """)
        try await query("CREATE TABLE \(db).observations (d Date, id UInt32, s String) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id")
        try await query("INSERT INTO \(db).observations SELECT today() - number % 120, number, substring('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 1, number % 40) FROM system.numbers LIMIT 3000")
        try await query("CREATE TABLE \(db).scores (id UInt32, score Float32) ENGINE = Log")
        try await query("INSERT INTO \(db).scores SELECT number, number / 10 FROM system.numbers LIMIT 500")
        try await query("CREATE VIEW \(db).recent AS SELECT id FROM \(db).traces WHERE n > 10")
    }

    /// Every row of a table, sorted, as text (the comparison of source and restored data).
    func dump(_ table: String) async throws -> String {
        try await query("SELECT * FROM \(table) ORDER BY tuple(*) FORMAT TabSeparated")
    }

    func drop(_ db: String) async { _ = try? await query("DROP DATABASE IF EXISTS \(db)") }
}

struct ClickHouseQueryFailed: Error { var text: String }

@Suite("ClickHouse over HTTP: backup, verify, restore (all, one table, renamed), failures")
struct ClickHouseTests {
    static let tables = ["traces", "observations", "scores"]

    func store(_ h: AgentHarness) -> JSONValue {
        try? FileManager.default.createDirectory(atPath: h.path("store"), withIntermediateDirectories: true)
        return ["volume": ["path": .string(h.path("store")), "prefix": "ch"]]
    }

    @Test("round trip: backup, verify, wipe, restore all tables; rows identical; one table restored under another name")
    func roundTrip() async throws {
        let h = try AgentHarness("ch-round")
        let ch = try ClickHouseFixture()
        let db = uniqueDB("ch_src")
        try await ch.createSeed(db)
        defer { Task { await ch.drop(db) } }
        let before = try await Self.tables.asyncMap { try await ch.dump("\(db).\($0)") }
        let backup = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": ["url": .string(ch.url), "database": .string(db)]]])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        #expect(backup.result["rowCounts"] == ["traces": 20000, "observations": 3000, "scores": 500])
        let verify = try await h.run("verify", ["policy": "traces", "store": store(h)])
        #expect(verify.exitCode == 0, "\(verify.stdout)")

        try await ch.query("DROP DATABASE \(db)")
        let restore = try await h.run("restore", ["policy": "traces", "store": store(h),
                                                  "target": ["clickhouse": ["url": .string(ch.url), "database": .string(db)]]])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        let after = try await Self.tables.asyncMap { try await ch.dump("\(db).\($0)") }
        #expect(after == before)
        #expect(try await ch.query("SELECT count() FROM \(db).recent") == "19989\n")

        // Seed 002: "restore with different name (for comparison)"; the original stays.
        let renamed = try await h.run("restore", ["policy": "traces", "store": store(h), "target": ["clickhouse": [
            "url": .string(ch.url), "database": .string(db), "tables": ["traces"], "renameTables": ["traces": "traces_restored"]]]])
        #expect(renamed.exitCode == 0, "\(renamed.stdout)")
        #expect(try await ch.dump("\(db).traces_restored") == before[0])
        // Restoring over existing tables is refused unless mode is clean.
        let clash = try await h.run("restore", ["policy": "traces", "store": store(h),
                                                "target": ["clickhouse": ["url": .string(ch.url), "database": .string(db)]]])
        #expect(clash.exitCode == 4 && clash.reason == "TargetExists", "\(clash.stdout)")
        let clean = try await h.run("restore", ["policy": "traces", "store": store(h), "mode": "clean",
                                                "target": ["clickhouse": ["url": .string(ch.url), "database": .string(db), "tables": ["scores"]]]])
        #expect(clean.exitCode == 0, "\(clean.stdout)")
        #expect(try await ch.dump("\(db).scores") == before[2])
    }

    @Test("partitionMaxAge keeps recent partitions only; row counts in the manifest match")
    func recentPartitions() async throws {
        let h = try AgentHarness("ch-part")
        let ch = try ClickHouseFixture()
        let db = uniqueDB("ch_part")
        try await ch.createSeed(db, rows: 100)
        defer { Task { await ch.drop(db) } }
        let backup = try await h.run("backup", ["policy": "obs", "store": store(h), "source": ["clickhouse": [
            "url": .string(ch.url), "database": .string(db), "tables": ["observations"], "partitionMaxAge": "20d"]]])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        // Monthly partitions whose newest day is within 20 days: the current month, maybe the previous one.
        let expected = try await ch.query("""
            SELECT count() FROM \(db).observations WHERE toYYYYMM(d) IN
              (SELECT toYYYYMM(d) FROM \(db).observations GROUP BY toYYYYMM(d) HAVING max(d) >= toDate(now() - 20 * 86400))
            """)
        #expect(backup.result["rowCounts"]?["observations"]?.intValue == Int64(expected.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect((backup.result["rowCounts"]?["observations"]?.intValue ?? 3000) < 3000)
    }

    @Test("a flipped byte fails verify and restore refuses before creating anything")
    func corruption() async throws {
        let h = try AgentHarness("ch-corrupt")
        let ch = try ClickHouseFixture()
        let db = uniqueDB("ch_bad"), target = uniqueDB("ch_bad_dst")
        try await ch.createSeed(db, rows: 1000)
        defer { Task { await ch.drop(db); await ch.drop(target) } }
        let backup = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": ["url": .string(ch.url), "database": .string(db)]]])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        let file = h.path("store") + "/" + (backup.result["artifact"]?["key"]?.stringValue ?? "")
        var bytes = try #require(FileManager.default.contents(atPath: file))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let verify = try await h.run("verify", ["policy": "traces", "store": store(h)])
        #expect(verify.exitCode == 5 && verify.reason == "ChecksumMismatch", "\(verify.stdout)")
        let restore = try await h.run("restore", ["policy": "traces", "store": store(h),
                                                  "target": ["clickhouse": ["url": .string(ch.url), "database": .string(target)]]])
        #expect(restore.exitCode == 5, "\(restore.stdout)")
        #expect(try await ch.query("SELECT count() FROM system.databases WHERE name = '\(target)'") == "0\n")
    }

    @Test("wrong password, missing table, unreachable server: clear reasons, no secret, nothing stored")
    func badInput() async throws {
        let h = try AgentHarness("ch-bad")
        let ch = try ClickHouseFixture()
        let db = uniqueDB("ch_in")
        try await ch.createSeed(db, rows: 20000)
        defer { Task { await ch.drop(db) } }
        // An error after the first blocks arrives as text inside a 200 response: the decoder catches it.
        let midStream = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": [
            "url": .string(ch.url), "database": .string(db), "tables": ["traces"], "maxBlockSize": 1000,
            "where": "throwIf(n = 15000) = 0"]]])
        #expect(midStream.exitCode == 6 && midStream.reason == "QueryFailed", "\(midStream.stdout)")
        #expect(midStream.result["message"]?.stringValue?.contains("Code: 395") == true, "\(midStream.stdout)")
        let secret = "ch-secret-\(UUID().uuidString.prefix(8))"
        let password = try h.write("ch-password", secret)
        let wrong = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": [
            "url": .string(ch.url), "database": .string(db), "passwordFile": .string(password)]]])
        #expect(wrong.exitCode == 3 && wrong.reason == "AuthenticationFailed", "\(wrong.stdout)")
        #expect(!wrong.stdout.contains(secret) && !h.lines.lines.joined().contains(secret))
        let missing = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": [
            "url": .string(ch.url), "database": .string(db), "tables": ["nope"]]]])
        #expect(missing.exitCode == 4 && missing.reason == "TableMissing", "\(missing.stdout)")
        let down = try await h.run("backup", ["policy": "traces", "store": store(h), "source": ["clickhouse": [
            "url": "http://127.0.0.1:1", "database": .string(db)]]])
        #expect(down.exitCode == 3 && down.reason == "SourceUnreachable", "\(down.stdout)")
        let catalog = try await h.run("catalog", ["policy": "traces", "store": store(h)])
        #expect(catalog.result["count"] == 0)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
