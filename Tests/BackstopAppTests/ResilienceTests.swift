import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import Testing
import TestSupport

/// Failure paths end to end: a wrong password, kill -9 of the operator mid-Job (20+ times), and
/// 50 policies under KubeSim's fault mix.
@Suite(.serialized) struct ResilienceTests {
    static func pgPolicy(_ ns: String, _ name: String, db: String, pg: TestServices.Postgres, schedule: String,
                         secret: String = "db") -> JSONValue {
        PostgresEndToEndTests.policy(ns, name, db: db, pg: pg, destination: ["volume": ["claimName": "backups", "path": .string(name)]],
                                     schedule: schedule)
            .merging(["spec": ["source": ["postgres": ["passwordSecretRef": ["name": .string(secret), "key": "password"]]]]])
    }

    static func scrape(port: Int) async throws -> String {
        let (_, body) = try await HTTPClient().data(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics"))
        return String(decoding: body, as: UTF8.self)
    }

    static func createDatabase(_ pg: TestServices.Postgres, rows: Int = 300) async throws -> (PostgresServer, String) {
        let server = PostgresServer(host: pg.host, port: pg.port, user: pg.user, password: pg.password, bindir: pg.bindir)
        let db = "e2e_\(PostgresEndToEndTests.rand())"
        try await server.psql("CREATE DATABASE \(db)")
        try await server.psql("CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL); "
            + "INSERT INTO orders (item) SELECT md5(g::text) FROM generate_series(1, \(rows)) g;", database: db)
        return (server, db)
    }

    @Test func wrongPasswordFailsWithTheAgentsReasonAWarningAndTheMetricThenTheNextSlotRuns() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await Self.createDatabase(pg)
        let e2e = try await E2E.start("fail")
        let ns = "fail"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": "definitely-wrong"])
        _ = try await e2e.volume(ns, "backups")
        try e2e.apply(Self.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "@every 1m"))
        try e2e.runNow(ns, "pg", "first")
        let port = try FreePort.pick()
        let op = try e2e.startOperator(metricsPort: port)
        defer { Task { await op.kill9(); _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }

        let failed = await e2e.waitFor(ns, "pg", timeout: .seconds(60)) {
            $0.status?.conditions?.isFalse("LastBackupSucceeded") == true && $0.status?.lastManualRun?.result == .failed
        }
        let condition = try #require(failed?.status?.conditions?.find("LastBackupSucceeded"), "\(op.output.suffix(3000))")
        #expect(condition.reason == "AuthenticationFailed", "\(condition)")
        #expect(!condition.message.contains("definitely-wrong"))
        #expect(failed?.status?.conditions?.isFalse("Ready") == true)
        let warnings = e2e.events(ns, about: "pg").filter { $0["type"] == "Warning" }
        #expect(!warnings.isEmpty, "no Warning Event")
        #expect(warnings.allSatisfy { !($0["message"]?.stringValue ?? "").contains("definitely-wrong") })
        let metrics = try await Self.scrape(port: port)
        let failureLine = metrics.split(separator: "\n").first { $0.hasPrefix("backstop_backup_failures_total") && $0.contains("policy=\"pg\"") }
        #expect(failureLine.map { (Double($0.split(separator: " ").last ?? "0") ?? 0) >= 1 } == true, "\(metrics.prefix(4000))")

        // The next scheduled slot still runs; with the password fixed it succeeds.
        _ = try e2e.sim.store.mergePatch("v1", "Secret", namespace: ns, name: "db",
                                         patch: ["data": ["password": .string(Data(pg.password.utf8).base64EncodedString())]])
        let recovered = await e2e.waitFor(ns, "pg", timeout: .seconds(100)) {
            $0.status?.conditions?.isTrue("LastBackupSucceeded") == true && $0.status?.lastScheduleTime != nil
        }
        #expect(recovered?.status?.conditions?.isTrue("LastBackupSucceeded") == true, "\(op.output.suffix(3000))")
        #expect(recovered?.status?.conditions?.isTrue("Ready") == true)
        let slotJobs = e2e.jobs(ns, policy: "pg").filter {
            !["manual", "follow-up"].contains($0["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue ?? "manual")
        }
        #expect(!slotJobs.isEmpty)
    }

    @Test func killNineMidJobTwentyTimesAdoptsTheJobWithoutDuplicatesAndConverges() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await Self.createDatabase(pg, rows: 150_000)  // a dump long enough for kills to land mid-Job
        let e2e = try await E2E.start("kill")
        let ns = "kill"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        let store = try await e2e.volume(ns, "backups")
        try e2e.apply(Self.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "@every 1m"))
        defer { Task { _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }

        // Every backup Job that ever exists: name → the request it answers (run-now value or slot).
        let recorder = Task { () -> [String: String] in
            var seen: [String: String] = [:]
            while !Task.isCancelled {
                for j in e2e.jobs(ns, policy: "pg") where j["metadata"]?["labels"]?["backstop.dev/operation"] == "backup" {
                    guard let name = j["metadata"]?["name"]?.stringValue else { continue }
                    seen[name] = j["metadata"]?["annotations"]?[Backstop.runNowAnnotation]?.stringValue
                        ?? j["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue ?? name
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return seen
        }
        // Each round asks for a backup now and kills the operator at a random point after it.
        var killedWhileActive = 0
        for round in 0..<20 {
            let op = try e2e.startOperator(name: "round-\(round)")
            try e2e.runNow(ns, "pg", "round-\(round)")
            func active() -> Bool { e2e.jobs(ns, policy: "pg").contains { ($0["status"]?["active"]?.intValue ?? 0) > 0 } }
            // Two rounds in three wait for the backup Job to run (the operator may start slowly on a
            // loaded machine, the dump may be quick), then kill within a short random delay; the
            // third kills at any moment, startup included.
            if round % 3 != 0 {
                _ = await eventually(.seconds(15)) { active() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...300)))
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 200...2500)))
            }
            if active() { killedWhileActive += 1 }
            await op.kill9()
            #expect(op.process.terminationReason == .uncaughtSignal, "round \(round) exited by itself: \(op.output.suffix(2000))")
        }
        #expect(killedWhileActive >= 1, "no kill landed while a backup Job ran")

        try e2e.runNow(ns, "pg", "final")
        let op = try e2e.startOperator(name: "final")
        defer { Task { await op.kill9() } }
        // Converges: the last request ran, every finished Job is recorded, none is left active.
        let converged = await eventually(.seconds(90)) {
            let jobs = e2e.jobs(ns, policy: "pg")
            let settled = jobs.allSatisfy { ($0["status"]?["active"]?.intValue ?? 0) == 0 }
                && jobs.allSatisfy { $0["metadata"]?["annotations"]?["backstop.dev/recorded"] == "true" }
            let run = e2e.policy(ns, "pg")?.status?.lastManualRun
            return settled && run?.value == "final" && run?.result == .succeeded
        }
        let policy = e2e.policy(ns, "pg")
        #expect(converged, "\(policy.map(Demo.summary) ?? "no policy") \(String(describing: policy?.status?.lastManualRun))\n\(op.output.suffix(3000))")
        #expect(policy?.status?.conditions?.isTrue("LastBackupSucceeded") == true)
        // One Job per request: no run-now value and no slot got two backup Jobs.
        let backupJobs = e2e.jobs(ns, policy: "pg").filter { $0["metadata"]?["labels"]?["backstop.dev/operation"] == "backup" }
        let keys = backupJobs.compactMap { j -> String? in
            j["metadata"]?["annotations"]?[Backstop.runNowAnnotation]?.stringValue ?? j["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue
        }
        #expect(Set(keys).count == keys.count, "duplicate Jobs: \(keys.sorted())")
        // Jobs beyond the history limit are deleted, so also check every Job ever seen.
        recorder.cancel()
        let seen = await recorder.value
        var byKey: [String: Set<String>] = [:]
        for (name, key) in seen { byKey[key, default: []].insert(name) }
        #expect(byKey.values.allSatisfy { $0.count == 1 }, "duplicate Jobs: \(byKey.filter { $0.value.count > 1 })")
        #expect(seen.count >= 5, "only \(seen.count) backup Jobs seen")
        // The recorded newest backup is an artifact (with its manifest) in the store.
        let id = try #require(policy?.status?.lastBackup?.id)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("pg/pg").path)) ?? []
        #expect(files.contains { $0.hasPrefix(id) && $0.hasSuffix(".manifest.json") }, "\(id) not in \(files)")
    }
}

extension JSONValue {
    /// JSON merge of `other` into self (objects merged recursively, other values replaced).
    func merging(_ other: JSONValue) -> JSONValue {
        guard case .object(var mine) = self, case .object(let theirs) = other else { return other }
        for (k, v) in theirs { mine[k] = mine[k].map { $0.merging(v) } ?? v }
        return .object(mine)
    }
}
