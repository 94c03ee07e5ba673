import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import Postgres
import TestSupport
import Testing

/// The preview and the real run against all four stores on the wall clock (no test clock: the
/// run's reference time is the operator's now, as with an operator subprocess).
extension CleanupIntegrationTests {
    @Test func dryRunThenRealRunDeleteExactlyTheOldRowsFilesObjectsAndPartitions() async throws {
        // S3 ages are real seconds: objects written now are old once maxAge (20s) has passed;
        // objects written just before the real run are new and must stay.
        let s3 = try TestServices.s3()
        let client = S3Client(endpoint: s3.endpoint, region: s3.region,
                              credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
        let bucket = "exports-" + UUID().uuidString.prefix(8).lowercased()
        try await client.createBucket(bucket)
        let oldWritesBegan = Date()
        for key in ["exports/a.csv", "exports/b.csv", "exports/c.csv", "keep/d.csv"] {
            _ = try await client.putObject(bucket: bucket, key: key, body: .string("x,y\n1,2\n"))
        }
        let oldWritesEnded = Date()
        let s3MaxAge: TimeInterval = 20

        // Rows one per day over two years (each an hour past its day), a trigger recording the
        // transaction of every deleted row (the batches, seen from the database's side).
        let (dbName, db) = try await database("""
            CREATE TABLE agent_runs (id serial PRIMARY KEY, created_at timestamptz NOT NULL, output text);
            INSERT INTO agent_runs (created_at, output) SELECT now() - g * interval '1 day' - interval '1 hour', 'run ' || g FROM generate_series(0, 729) g;
            CREATE TABLE deletions (xid bigint, id int);
            CREATE FUNCTION note_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO deletions VALUES (txid_current(), OLD.id); RETURN OLD; END $$;
            CREATE TRIGGER note_delete AFTER DELETE ON agent_runs FOR EACH ROW EXECUTE FUNCTION note_delete();
            """)
        let ch = try TestServices.clickhouse().url
        let chdb = "cleanup_" + UUID().uuidString.prefix(8).lowercased()
        let http = HTTPClient()
        func clickhouse(_ sql: String) async throws -> String {
            let response = try await http.execute(HTTPRequest(method: .post, url: ch + "/", body: .string(sql)))
            return String(decoding: try await response.body.collect(upTo: 1 << 20), as: UTF8.self)
        }
        _ = try await clickhouse("CREATE DATABASE \(chdb)")
        _ = try await clickhouse("CREATE TABLE \(chdb).traces (d Date, id UInt32) ENGINE = MergeTree PARTITION BY toYYYYMMDD(d) ORDER BY id")
        // 40 daily partitions, every 5 days over 200 days, 10 rows each.
        _ = try await clickhouse("INSERT INTO \(chdb).traces SELECT today() - intDiv(number, 10) * 5, number FROM system.numbers LIMIT 400")

        let h = try await harness()
        try h.secret("s3-creds", ["AWS_ACCESS_KEY_ID": s3.accessKey, "AWS_SECRET_ACCESS_KEY": s3.secretKey])
        try h.claim("reports")
        var claimDir: String?
        _ = try await eventually(.seconds(30)) { claimDir = try h.claimDirectory("reports"); return claimDir != nil }
        let reports = URL(fileURLWithPath: try #require(claimDir)).appendingPathComponent("benchmark")
        var mtimes: [String: Date] = [:]
        for (path, days) in [("old1.json", 40.0), ("old2.json", 100.0), ("new.json", 10.0), ("notes.txt", 100.0), ("2025/old3.json", 100.0)] {
            let url = reports.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: url.path, contents: Data("{}".utf8))
            mtimes[path] = Date().addingTimeInterval(-days * 86400)
            try FileManager.default.setAttributes([.modificationDate: mtimes[path]!], ofItemAtPath: url.path)
        }
        h.startController()
        let spec: JSONValue = [
            "schedule": "@daily", "dryRun": true,
            "targets": [
                try sqlTarget("agent-runs", database: dbName, table: "agent_runs", maxAge: "365d", extra: ["batchSize": 50, "vacuum": true]).merging(["maxDeletePercent": 60]),
                ["name": "benchmark-reports", "maxDeletePercent": 100,
                 "volume": ["claimName": "reports", "path": "benchmark", "include": ["*.json"], "maxAge": "30d"]],
                ["name": "exports", "maxDeletePercent": 100,
                 "s3": ["endpoint": .string(s3.endpoint), "region": .string(s3.region), "bucket": .string(bucket), "prefix": "exports/",
                        "credentialsSecretRef": ["name": "s3-creds"], "maxAge": .string("\(Int(s3MaxAge))s")]],
                ["name": "traces", "maxDeletePercent": 60,
                 "clickhouse": ["url": .string(ch), "database": .string(chdb), "table": "traces", "maxAge": "90d"]],
            ]]
        // Rows older than 365 days (days 365…729: 365 rows), files older than 30 days matching
        // *.json (3), the three objects under exports/ written before the wait, partitions whose
        // last day ended more than 90 days ago (days 95…195: 21).
        let expected: [String: Int64] = ["agent-runs": 365, "benchmark-reports": 3, "exports": 3, "traces": 21]
        // LastModified has whole seconds: wait until the old objects are surely past maxAge.
        let wait = oldWritesEnded.addingTimeInterval(s3MaxAge + 2).timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }

        let dry = try await createAndRun(h, "retention", spec)
        #expect(dry?.lastManualRun?.result == .succeeded, "\(String(describing: dry?.conditions))")
        #expect(dry?.lastRunDryRun == true)
        for (target, n) in expected {
            #expect(result(dry, target)?.wouldDelete == n, "\(target): \(String(describing: result(dry, target)))")
            #expect(result(dry, target)?.deleted == nil)
        }
        #expect(result(dry, "agent-runs")?.total == 730)
        #expect(result(dry, "benchmark-reports")?.wouldFreeBytes == 6)
        #expect(result(dry, "exports")?.wouldFreeBytes == 24)
        #expect(dry?.lastRunDeleted == 0)
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 730, "the dry run deleted nothing")
        #expect(try await client.listAllObjects(bucket: bucket).count == 4)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: reports.path).count == 6)
        #expect(try await clickhouse("SELECT count() FROM \(chdb).traces") == "400\n")

        // What the real run must report: the bounds of the rows and partitions it deletes, and
        // the partitions' size on disk.
        let rowBounds = try await db.query("""
            SELECT extract(epoch FROM min(created_at))::float8, extract(epoch FROM max(created_at))::float8 FROM agent_runs WHERE output IN ('run 365', 'run 729')
            """).first
        let oldestRow = Date(timeIntervalSince1970: try #require(try rowBounds?[0, as: Double.self]))
        let newestRow = Date(timeIntervalSince1970: try #require(try rowBounds?[1, as: Double.self]))
        let partitionBytes = Int64(try await clickhouse("""
            SELECT sum(bytes_on_disk) FROM system.parts WHERE database = '\(chdb)' AND table = 'traces' AND active AND max_date <= today() - 95
            """).trimmingCharacters(in: .whitespacesAndNewlines))
        let partitionDays = try await clickhouse("SELECT toString(today() - 195), toString(today() - 95) FORMAT TSV")
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map { UTCTimestamp.parseRFC3339($0 + "T00:00:00Z") }
        #expect(result(dry, "traces")?.wouldFreeBytes == partitionBytes)
        // New objects under the same prefix, well inside maxAge when the real run starts.
        for key in ["exports/new1.csv", "exports/new2.csv"] {
            _ = try await client.putObject(bucket: bucket, key: key, body: .string("x,y\n1,2\n"))
        }

        let real = try await runAgain(h, "retention", "2", spec: ["dryRun": false])
        #expect(real?.lastManualRun?.result == .succeeded, "\(String(describing: real?.conditions))")
        for (target, n) in expected {
            #expect(result(real, target)?.deleted == n, "the real run deletes what the dry run counted: \(target)")
        }
        #expect(real?.lastRunDeleted == expected.values.reduce(0, +))
        #expect(real?.lastSuccessfulTime != nil)
        let ready = real?.conditions?.find(CleanupPolicyConditions.LastRunSucceeded.self)
        #expect(ready?.status == .true && ready?.reason == "RunSucceeded")
        // The real run's numbers, per target. Times in status have whole seconds.
        func near(_ time: Time?, _ date: Date?, within seconds: TimeInterval = 1.5) -> Bool {
            guard let time, let date else { return false }
            return abs(time.date.timeIntervalSince(date)) <= seconds
        }
        let rows = result(real, "agent-runs"), files = result(real, "benchmark-reports")
        let objects = result(real, "exports"), partitions = result(real, "traces")
        #expect(rows?.bytesFreed == nil, "PostgreSQL does not report bytes for deleted rows (docs/cleanup.md)")
        #expect(near(rows?.oldest, oldestRow) && near(rows?.newest, newestRow), "\(String(describing: rows))")
        #expect(files?.bytesFreed == 6 && near(files?.oldest, mtimes["old2.json"]) && near(files?.newest, mtimes["old1.json"]),
                "\(String(describing: files))")
        #expect(objects?.bytesFreed == 24, "three 8-byte objects: \(String(describing: objects))")
        #expect(objects.map { ($0.oldest?.date ?? .distantPast) >= oldWritesBegan.addingTimeInterval(-1.5)
            && ($0.newest?.date ?? .distantFuture) <= oldWritesEnded.addingTimeInterval(1.5) } == true, "\(String(describing: objects))")
        #expect(partitions?.bytesFreed == partitionBytes && partitions?.bytesFreed ?? 0 > 0)
        #expect(partitionDays.count == 2 && near(partitions?.oldest, partitionDays[0], within: 0) && near(partitions?.newest, partitionDays[1], within: 0),
                "\(String(describing: partitions)) \(partitionDays)")
        for (target, _) in expected {
            let seconds = result(real, target)?.durationSeconds
            #expect(seconds.map { $0 >= 0 && $0 < 120 } == true, "\(target): durationSeconds \(String(describing: seconds))")
        }
        #expect((rows?.durationSeconds ?? 0) > 0, "eight batches and a VACUUM take measurable time")
        // SQL: exactly the rows older than the cutoff, in batches of at most 50, one transaction each.
        #expect(try await count(db, "SELECT count(*) FROM agent_runs") == 365)
        #expect(try await count(db, "SELECT count(*) FROM agent_runs WHERE created_at < now() - interval '365 days'") == 0)
        #expect(try await count(db, "SELECT count(DISTINCT xid) FROM deletions") == 8)
        #expect(try await count(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM deletions GROUP BY xid) t") == 50)
        // Statistics may reach pg_stat a moment after the agent's session ends.
        #expect(try await eventually(.seconds(10)) {
            try await count(db, "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'agent_runs' AND last_vacuum IS NOT NULL") == 1
        }, "vacuum: true ran VACUUM (ANALYZE) after deleting")
        // Files: the old *.json only; notes.txt, new.json and the directory stay.
        #expect(try FileManager.default.subpathsOfDirectory(atPath: reports.path).sorted() == ["2025", "new.json", "notes.txt"])
        // S3: the old objects under the prefix go, the new ones under it and the other prefix stay.
        #expect(try await client.listAllObjects(bucket: bucket).map(\.key).sorted() == ["exports/new1.csv", "exports/new2.csv", "keep/d.csv"])
        #expect(try await clickhouse("SELECT count(), min(d) >= today() - 90 FROM \(chdb).traces FORMAT TSV") == "190\t1\n")
        let metrics = try await h.metricsText()
        #expect(metrics.split(separator: "\n").contains { $0.hasPrefix("backstop_cleanup_deleted_total") && $0.contains("cleanuppolicy=\"retention\"")
            && $0.contains("target=\"agent-runs\"") && $0.hasSuffix(" 365") },
                "\(metrics.split(separator: "\n").filter { $0.contains("cleanup") })")
        #expect(metrics.contains("backstop_cleanup_last_success_timestamp_seconds{namespace=\"team\",cleanuppolicy=\"retention\"}")
                || metrics.contains("backstop_cleanup_last_success_timestamp_seconds{cleanuppolicy=\"retention\",namespace=\"team\"}"))
        _ = try await eventually(.seconds(10)) { try h.events(of: "retention").map(\.reason).contains("CleanupSucceeded") }
        let reasons = try h.events(of: "retention").map(\.reason)
        #expect(reasons.contains("DryRunSucceeded") && reasons.contains("CleanupSucceeded"), "\(reasons)")

        // Repeating finds nothing more: deletion is idempotent. (The new objects may have aged
        // past 20s by now; their target is not part of this check.)
        let again = try await runAgain(h, "retention", "3")
        #expect(again?.lastManualRun?.result == .succeeded)
        #expect(["agent-runs", "benchmark-reports", "traces"].map { result(again, $0)?.deleted } == [0, 0, 0], "\(String(describing: again?.results))")
        await db.close()
        _ = try? await clickhouse("DROP DATABASE \(chdb)")
        await h.stop()
    }
}
