@testable import Agent
import DynamicJSON
import Foundation
import Testing
import TestSupport

/// ClickHouse cleanup targets that cannot be pruned: each fails on its own with a reason and a
/// message saying what to fix, and nothing is dropped — neither of that table nor of another.
@Suite(.serialized) struct CleanupClickHouseBadInputTests {
    @Test func aMissingTableANonMergeTreeAnUndatedPartitionKeyAndAnUnreachableServerDropNothing() async throws {
        let h = try AgentHarness("cleanup-ch-bad")
        let ch = try ClickHouseFixture()
        let db = "cleanbad_" + UUID().uuidString.prefix(8).lowercased()
        try await ch.query("CREATE DATABASE \(db)")
        defer { Task { await ch.drop(db) } }
        // Every row is a year old: a working target would drop all of it (the guard is off).
        try await ch.query("CREATE TABLE \(db).logs (d Date, id UInt32) ENGINE = Log")
        try await ch.query("INSERT INTO \(db).logs SELECT today() - 400, number FROM numbers(10)")
        try await ch.query("CREATE TABLE \(db).by_id (d Date, id UInt32) ENGINE = MergeTree PARTITION BY id % 4 ORDER BY id")
        try await ch.query("INSERT INTO \(db).by_id SELECT today() - 400, number FROM numbers(40)")
        func target(_ name: String, table: String, url: String? = nil) -> JSONValue {
            ["name": .string(name), "maxDeletePercent": 100,
             "clickhouse": ["url": .string(url ?? ch.url), "database": .string(db), "table": .string(table), "maxAge": "90d"]]
        }
        let run = try await h.run("cleanup", ["targets": [
            target("missing", table: "nope"), target("log", table: "logs"), target("undated", table: "by_id"),
            target("down", table: "by_id", url: "http://127.0.0.1:1"),
        ]])
        let results = (0..<4).map { run.result["results"]?[$0] }
        #expect(results.map { $0?["reason"]?.stringValue } == ["TableMissing", "NotPartitioned", "NotTimestamp", "SourceUnreachable"], "\(run.stdout)")
        let errors = results.map { $0?["error"]?.stringValue ?? "" }
        #expect(errors[0].contains("no table \(db).nope") && errors[0].contains("spec.targets[].clickhouse"), "\(errors[0])")
        #expect(errors[1].contains("\(db).logs is a Log table: only MergeTree tables have partitions to drop"), "\(errors[1])")
        #expect(errors[2].contains("carries no date") && errors[2].contains("nothing was dropped"), "\(errors[2])")
        #expect(errors[3].contains("127.0.0.1:1"), "\(errors[3])")
        #expect(results.allSatisfy { $0?["deleted"]?.intValue == nil }, "no target reports a deletion: \(run.stdout)")
        #expect(run.exitCode == 4 && run.reason == "TableMissing")
        #expect(run.result["message"]?.stringValue?.contains("and 3 more failed targets") == true)
        #expect(try await ch.query("SELECT count() FROM \(db).logs").hasPrefix("10\n"))
        #expect(try await ch.query("SELECT count(), uniqExact(_partition_id) FROM \(db).by_id FORMAT TSV") == "40\t4\n")
    }
}
