import Agent
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("Cleanup of live data (seed 000 §2): SQL rows in batches, S3 objects, volume files")
struct CleanupTests {
    @Test("dry run counts, the real run deletes exactly the old rows, objects and files")
    func cleanupTargets() async throws {
        let h = try AgentHarness("cleanup")
        let s3 = try TestServices.s3()
        let client = S3StoreTests.client(s3)
        let bucket = uniqueName("drop")
        try await client.createBucket(bucket)
        for key in ["exports/a.csv", "exports/b.csv", "keep/c.csv"] {
            try await client.putObject(bucket: bucket, key: key, body: .string("x,y\n"))
        }
        // A newer object under the same prefix, written seconds later (LastModified has whole
        // seconds): the run's reference time puts the cutoff between the two writes.
        try await Task.sleep(for: .milliseconds(2500))
        let between = Date()
        try await Task.sleep(for: .milliseconds(2500))
        try await client.putObject(bucket: bucket, key: "exports/new.csv", body: .string("x,y\n"))
        let database = uniqueDB("cleanup")
        try await h.createDatabase(database)
        defer { Task { await h.dropDatabase(database) } }
        let db = try await h.connect(database)
        _ = try await db.executeScript("""
            CREATE TABLE agent_runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL, output text);
            INSERT INTO agent_runs (created_at, output) SELECT now() - interval '400 days' - g * interval '1 minute', 'old' FROM generate_series(1, 25) g;
            INSERT INTO agent_runs (created_at, output) SELECT now() - interval '10 days', 'new' FROM generate_series(1, 5) g;
            """)
        await db.close()
        let reports = h.dir.appendingPathComponent("reports/benchmark")
        try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
        for (name, age) in [("old1.json", 40.0), ("old2.json", 31.0), ("new.json", 2.0)] {
            let path = reports.appendingPathComponent(name).path
            _ = FileManager.default.createFile(atPath: path, contents: Data("{}".utf8))
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-age * 86400)], ofItemAtPath: path)
        }

        var s3Target = try h.s3Fields(s3, bucket: bucket, prefix: "exports/")
        s3Target["maxAge"] = "7d"
        s3Target["timeoutSeconds"] = nil
        let spec: JSONValue = [
            // maxAge 7d from a week after `between`: the S3 cutoff falls between old and new.
            "now": .string(ISO8601DateFormatter().string(from: between.addingTimeInterval(7 * 86400))),
            "targets": [
                ["sql": ["connection": .object(h.pgFields(database)), "table": "agent_runs", "timestampColumn": "created_at",
                         "maxAge": "365d", "batchSize": 7]],
                ["s3": .object(s3Target)],
                ["volume": ["path": .string(h.dir.appendingPathComponent("reports").path), "subPath": "benchmark/", "maxAge": "30d"]],
            ],
        ]
        let dry = try await h.run("cleanup", spec, dryRun: true)
        #expect(dry.exitCode == 0, "\(dry.stdout)")
        #expect(dry.result["results"]?[0]?["wouldDelete"] == 25)
        #expect(dry.result["results"]?[1]?["wouldDelete"] == 2)
        #expect(dry.result["results"]?[1]?["total"] == 3)
        // Seen from 7 days ahead the old files are 47 and 38 days old, the new one 9 days.
        #expect(dry.result["results"]?[2]?["wouldDelete"] == 2)
        #expect(try await client.listAllObjects(bucket: bucket).count == 4)

        let run = try await h.run("cleanup", spec)
        #expect(run.exitCode == 0, "\(run.stdout)")
        #expect(run.result["results"]?[0]?["deleted"] == 25)
        #expect(run.result["results"]?[1]?["deleted"] == 2)
        #expect(run.result["results"]?[2]?["deleted"] == 2)
        let check = try await h.connect(database)
        #expect(try await check.query("SELECT count(*) FROM agent_runs").first?[0, as: Int64.self] == 5)
        await check.close()
        #expect(try await client.listAllObjects(bucket: bucket).map(\.key).sorted() == ["exports/new.csv", "keep/c.csv"],
                "the old objects under the prefix go, the newer one stays")
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports.path) == ["new.json"])

        // A missing table fails that target only, with a clear reason and a non-zero exit.
        let missing = try await h.run("cleanup", ["targets": [["sql": ["connection": .object(h.pgFields(database)), "table": "nope",
                                                                       "timestampColumn": "created_at", "maxAge": "1d"]]]])
        #expect(missing.exitCode == 4 && missing.reason == "TableMissing")
    }
}
