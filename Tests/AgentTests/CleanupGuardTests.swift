@testable import Agent
import DynamicJSON
import Foundation
import Testing
import TestSupport

/// The guard as a table (pure), and the agent's cleanup targets the first test does not cover:
/// ClickHouse partitions, globs, the guard against a real table, and bad input.
@Suite struct CleanupGuardTests {
    @Test(arguments: [
        // (count, total, maxPercent, maxCount, allowed, refused)
        (0, 0, 50, nil, nil, false),
        (50, 100, 50, nil, nil, false),
        (51, 100, 50, nil, nil, true),
        (100, 100, 50, nil, nil, true),
        (100, 100, 100, nil, nil, false),
        (100, 100, 50, nil, 100, false),
        (101, 101, 50, nil, 100, true),
        (10, 1000, 50, 5, nil, true),
        (5, 1000, 50, 5, nil, false),
        (10, 10, nil, nil, nil, false),
    ] as [(Int64, Int64, Int?, Int64?, Int64?, Bool)])
    func refusesOverEitherLimitUnlessAcknowledged(count: Int64, total: Int64, percent: Int?, limit: Int64?, allowed: Int64?, refused: Bool) {
        let g = CleanupGuard(maxDeletePercent: percent, maxDeleteCount: limit, allowDeleteCount: allowed)
        #expect((g.refusal(count: count, total: total, unit: "rows", target: "t") != nil) == refused)
    }

    @Test func theRefusalQuotesTheNumbersAndTheAcknowledgment() throws {
        let text = try #require(CleanupGuard(maxDeletePercent: 50).refusal(count: 200, total: 200, unit: "rows", target: "agent-runs"))
        #expect(text.contains("would delete 200 of 200 rows (100.0%), over maxDeletePercent=50; nothing was deleted"))
        #expect(text.contains("backstop.dev/allow-delete=agent-runs=200"))
    }
}

@Suite("Cleanup: ClickHouse partitions, globs, the guard and bad input", .serialized)
struct CleanupTargetsTests {
    @Test func dropsExactlyThePartitionsWhoseNewestDataIsOlderThanMaxAge() async throws {
        let h = try AgentHarness("cleanup-ch")
        let ch = try ClickHouseFixture()
        let db = "cleanup_" + UUID().uuidString.prefix(8).lowercased()
        try await ch.query("CREATE DATABASE \(db)")
        defer { Task { await ch.drop(db) } }
        // One partition per day, every 5 days over 200 days: 40 partitions of 10 rows.
        try await ch.query("CREATE TABLE \(db).traces (d Date, id UInt32) ENGINE = MergeTree PARTITION BY toYYYYMMDD(d) ORDER BY id")
        try await ch.query("INSERT INTO \(db).traces SELECT today() - intDiv(number, 10) * 5, number FROM system.numbers LIMIT 400")
        let target: JSONValue = ["name": "traces", "maxDeletePercent": 60,
                                 "clickhouse": ["url": .string(ch.url), "database": .string(db), "table": "traces", "maxAge": "90d"]]
        let dry = try await h.run("cleanup", ["targets": [target], "dryRun": true])
        // Days 95..195 ago (21 partitions) end before the cutoff; day 90 ago does not.
        #expect(dry.exitCode == 0, "\(dry.stdout)")
        #expect(dry.result["results"]?[0]?["wouldDelete"] == 21)
        #expect(dry.result["results"]?[0]?["total"] == 40)
        // Oldest and newest are the days of the oldest and newest partition to drop: 100 days apart.
        let days = ["oldest", "newest"].compactMap { dry.result["results"]?[0]?[$0]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) } }
        #expect(days.count == 2 && days[1].timeIntervalSince(days[0]) == 100 * 86400, "\(days)")
        #expect(try await ch.query("SELECT count() FROM \(db).traces").hasPrefix("400"))
        let run = try await h.run("cleanup", ["targets": [target]])
        #expect(run.exitCode == 0, "\(run.stdout)")
        #expect(run.result["results"]?[0]?["deleted"] == 21)
        #expect(try await ch.query("SELECT count(), min(d) >= today() - 90 FROM \(db).traces FORMAT TSV") == "190\t1\n")
        // Repeating the run finds nothing more: dropping is idempotent.
        let again = try await h.run("cleanup", ["targets": [target]])
        #expect(again.result["results"]?[0]?["deleted"] == 0)

        // Over the default-like guard: nothing dropped, the numbers in the message.
        try await ch.query("INSERT INTO \(db).traces SELECT today() - 300, number FROM system.numbers LIMIT 5")
        var tight = target
        tight["maxDeletePercent"] = 1
        let refused = try await h.run("cleanup", ["targets": [tight]])
        #expect(refused.exitCode == 4 && refused.reason == "DeleteLimitExceeded")
        #expect(refused.result["results"]?[0]?["error"]?.stringValue?.contains("would delete 1 of 20 partitions (5.0%)") == true)
        #expect(try await ch.query("SELECT count() FROM \(db).traces").hasPrefix("195"))
    }

    @Test func badInputFailsItsTargetClearlyAndDeletesNothing() async throws {
        let h = try AgentHarness("cleanup-bad")
        let database = uniqueDB("cleanbad")
        try await h.createDatabase(database)
        defer { Task { await h.dropDatabase(database) } }
        let db = try await h.connect(database)
        _ = try await db.executeScript("""
            CREATE TABLE runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL, label text);
            INSERT INTO runs (created_at, label) SELECT now() - g * interval '10 days', 'x' FROM generate_series(1, 100) g;
            """)
        func sql(_ table: String, _ column: String) -> JSONValue {
            ["name": .string("\(table)-\(column)"), "maxDeletePercent": 100,
             "sql": ["connection": .object(h.pgFields(database)), "table": .string(table), "timestampColumn": .string(column), "maxAge": "30d"]]
        }
        var unreachable = h.pgFields(database)
        unreachable["port"] = 1
        let run = try await h.run("cleanup", ["targets": [
            sql("nope", "created_at"), sql("runs", "finished_at"), sql("runs", "label"),
            ["name": "down", "sql": ["connection": .object(unreachable), "table": "runs", "timestampColumn": "created_at", "maxAge": "30d"]],
        ]])
        let reasons = (0..<4).map { run.result["results"]?[$0]?["reason"]?.stringValue }
        #expect(reasons == ["TableMissing", "ColumnMissing", "NotTimestamp", "SourceUnreachable"], "\(run.stdout)")
        #expect(run.result["results"]?[2]?["error"]?.stringValue?.contains("is text, not a timestamp") == true)
        #expect(run.exitCode == 4)
        #expect(try await db.query("SELECT count(*) FROM runs").first?[0, as: Int64.self] == 100)
        await db.close()
    }

    @Test func globsChooseTheFilesAndDirectoriesStay() async throws {
        let h = try AgentHarness("cleanup-glob")
        let root = h.dir.appendingPathComponent("claim")
        for (path, days) in [("reports/a.json", 100.0), ("reports/b.json", 5.0), ("reports/c.txt", 100.0), ("reports/2025/d.json", 100.0)] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data("{}".utf8))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-days * 86400)], ofItemAtPath: url.path)
        }
        let run = try await h.run("cleanup", ["targets": [["name": "reports", "volume": [
            "path": .string(root.path), "subPath": "reports", "include": ["*.json"], "maxAge": "90d"]]]])
        #expect(run.exitCode == 0, "\(run.stdout)")
        #expect(run.result["results"]?[0]?["deleted"] == 2)
        #expect(run.result["results"]?[0]?["total"] == 3)
        let left = try FileManager.default.subpathsOfDirectory(atPath: root.appendingPathComponent("reports").path).sorted()
        #expect(left == ["2025", "b.json", "c.txt"])
    }

    /// `kill -9` of the agent process part-way through a batched DELETE: the batches that
    /// committed stay deleted, and the same spec run again deletes exactly the rest.
    @Test func aRunKilledMidWayIsSafeToRepeat() async throws {
        let h = try AgentHarness("cleanup-kill")
        let database = uniqueDB("cleankill")
        try await h.createDatabase(database)
        defer { Task { await h.dropDatabase(database) } }
        let db = try await h.connect(database)
        _ = try await db.executeScript("""
            CREATE TABLE runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
            CREATE INDEX ON runs (created_at);
            INSERT INTO runs (created_at) SELECT now() - interval '400 days' - g * interval '1 second' FROM generate_series(1, 200000) g;
            INSERT INTO runs (created_at) SELECT now() - interval '1 day' FROM generate_series(1, 1000) g;
            """)
        let spec: JSONValue = ["now": .string(ISO8601DateFormatter().string(from: Date())), "targets": [[
            "name": "runs", "maxDeletePercent": 100,
            "sql": ["connection": .object(h.pgFields(database)), "table": "runs", "timestampColumn": "created_at", "maxAge": "365d", "batchSize": 100]]]]
        let specFile = try h.write("kill-spec.json", spec.jsonString)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("backstop").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no backstop executable beside the tests")
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: binary)
        agent.arguments = ["agent", "cleanup", "--spec", specFile]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        func count() async throws -> Int64 { try await db.query("SELECT count(*) FROM runs").first?[0, as: Int64.self] ?? -1 }
        let started = Date()
        while try await count() > 150_000, Date().timeIntervalSince(started) < 60 { try await Task.sleep(for: .milliseconds(20)) }
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
        // The server may still finish the batch in flight when the client died: wait until the
        // count stands still.
        var left = try await count()
        while true {
            try await Task.sleep(for: .milliseconds(300))
            let now = try await count()
            if now == left { break }
            left = now
        }
        #expect(agent.terminationReason == .uncaughtSignal && left < 200_000 && left > 1000, "killed with \(left) rows left")
        let again = try await h.run("cleanup", spec)
        #expect(again.exitCode == 0, "\(again.stdout)")
        #expect(again.result["results"]?[0]?["deleted"]?.intValue == left - 1000, "the repeat deletes exactly what was left")
        #expect(try await count() == 1000)
        await db.close()
    }
}
