import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// A CleanupPolicy on a one-minute schedule (the shortest there is) plus a run-now every round,
/// while `kill -9` hits the operator (a subprocess bound to manifests/ RBAC) at random points:
/// no slot or run-now value ever gets a second Job, runs cut short are repeated safely, and
/// once the operator stays up the status is exact.
@Suite(.serialized) struct CleanupResilienceTests {
    @Test func killNineDuringScheduledRunsNeverDuplicatesASlotAndTheStatusEndsExact() async throws {
        let pg = try TestServices.postgres()
        let server = PostgresServer(host: pg.host, port: pg.port, user: pg.user, password: pg.password, bindir: pg.bindir)
        let db = "e2e_cleanup_\(UUID().uuidString.prefix(6).lowercased())"
        try await server.psql("CREATE DATABASE \(db)")
        // 60 000 rows that age past maxAge (1h) over the next 60 seconds, 1 000 per second:
        // every run has something to delete, in batches of 5 (many short transactions, so a run lasts long enough to be killed in).
        try await server.psql("""
            CREATE TABLE events (id serial PRIMARY KEY, created_at timestamptz NOT NULL);
            CREATE INDEX ON events (created_at);
            INSERT INTO events (created_at) SELECT now() - interval '1 hour' + (g / 1000.0) * interval '1 second' FROM generate_series(1, 60000) g;
            """, database: db)
        let e2e = try await E2E.start("ckill")
        let ns = "ckill"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        defer { Task { _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy", "metadata": ["name": "events", "namespace": .string(ns)],
                       "spec": ["schedule": "* * * * *", "startingDeadlineSeconds": 600, "targets": [[
                           "name": "events", "maxDeletePercent": 100,
                           "sql": ["connection": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(db),
                                                  "user": .string(pg.user), "passwordSecretRef": ["name": "db", "key": "password"], "sslMode": "disable"],
                                   "table": "events", "timestampColumn": "created_at", "maxAge": "1h", "batchSize": 5]]]]])

        // Every cleanup Job that ever exists: name → uids (a second uid is a second run of one slot);
        // what each Job's agent reported deleting (its Pod's termination message: the truth);
        // and what the operator wrote to status for each Job it recorded.
        let recorder = Task { () -> RunLedger in
            var ledger = RunLedger()
            while !Task.isCancelled {
                ledger.observe(e2e, namespace: ns, policy: "events")
                try? await Task.sleep(for: .milliseconds(50))
            }
            ledger.observe(e2e, namespace: ns, policy: "events")
            return ledger
        }
        var killedDuringRun = 0
        func runNow(_ value: String) throws {
            _ = try e2e.sim.store.mergePatch(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: "events",
                                             patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: .string(value)]]])
        }
        for round in 0..<10 {
            try runNow("round-\(round)")
            let op = try e2e.startOperator(name: "cleanup-\(round)")
            // Most rounds kill while the round's Job runs (its Pod deleting rows), some before.
            func runningJob() -> Bool {
                ((try? e2e.sim.store.list("batch/v1", "Job", namespace: ns, labelSelector: "backstop.dev/cleanup=events")) ?? [])
                    .contains { $0[path: ["status", "completionTime"]] == nil && ($0[path: ["status", "failed"]]?.intValue ?? 0) == 0 }
            }
            // (A loaded machine may take seconds to start the operator and the Pod.)
            if round % 3 != 2 { _ = await eventually(.seconds(15)) { runningJob() } }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0...100)))
            if runningJob() { killedDuringRun += 1 }
            await op.kill9()
            #expect(op.process.terminationReason == .uncaughtSignal, "round \(round) exited by itself: \(op.output.suffix(2000))")
            if round % 2 == 1 {
                // Every other round the operator stays down until the run has ended (and a
                // little longer): the next operator records a run it did not see finish.
                _ = await eventually(.seconds(30)) { !runningJob() }
                try await Task.sleep(for: .seconds(4))
            }
        }
        print("cleanup e2e: \(killedDuringRun) of 10 kills landed while a cleanup Job ran")
        #expect(killedDuringRun >= 3, "kills landed during a run only \(killedDuringRun) times")

        // The operator stays up; run-now until every row has aged in and is gone, then once more:
        // that run must report exactly nothing deleted of an empty table.
        let last = try e2e.startOperator(name: "final")
        defer { Task { await last.kill9() } }
        func policy() -> CleanupPolicy? {
            (try? e2e.sim.store.get(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: "events")).flatMap { try? $0.decode(CleanupPolicy.self) }
        }
        func remaining() async throws -> Int { Int(try await server.psql("SELECT count(*) FROM events", database: db).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        func finished(_ value: String) async -> Bool {
            await eventually(.seconds(60)) {
                guard let run = policy()?.status?.lastManualRun, run.value == value else { return false }
                return run.result == .succeeded || run.result == .failed
            }
        }
        var drain = 0
        while try await remaining() > 0, drain < 30 {
            drain += 1
            try runNow("drain-\(drain)")
            _ = await finished("drain-\(drain)")
            try await Task.sleep(for: .seconds(2))
        }
        try runNow("final")
        let settled = await finished("final")
        recorder.cancel()
        let ledger = await recorder.value
        let seen = ledger.uids
        let s = policy()?.status
        #expect(try await remaining() == 0, "every row aged past maxAge is deleted")
        #expect(settled && s?.lastManualRun?.result == .succeeded, "no clean run after the table emptied: \(String(describing: s))\n\(last.output.suffix(3000))")
        #expect(s?.lastRunDeleted == 0 && s?.results?.first?.deleted == 0 && s?.results?.first?.total == 0,
                "the run after the table emptied reports exactly nothing deleted: \(String(describing: s?.results))")
        #expect(s?.lastSuccessfulTime != nil && s?.nextRunTime != nil)
        #expect(seen.values.allSatisfy { $0.count == 1 }, "a slot ran twice: \(seen.filter { $0.value.count > 1 }.keys.sorted())")
        #expect(seen.count >= 10, "only \(seen.count) cleanup Jobs seen")
        // Per-run accuracy across the kills: each run's deleted count as the operator recorded it
        // (status while it showed that run, or the run's Event) is what its agent reported, no
        // run is left unrecorded, and the runs add up to exactly the rows deleted (all 60 000).
        let recorded = ledger.recorded(events: e2e.events(ns, about: "events"))
        #expect(ledger.agentDeleted.values.reduce(0, +) == 60_000, "the agents' reports add up to the rows deleted: \(ledger.agentDeleted)")
        #expect(Set(recorded.keys) == Set(ledger.agentDeleted.keys),
                "runs the agent finished but the operator never recorded: \(Set(ledger.agentDeleted.keys).subtracting(recorded.keys).sorted()); recorded but unseen: \(Set(recorded.keys).subtracting(ledger.agentDeleted.keys).sorted())")
        #expect(recorded.filter { ledger.agentDeleted[$0.key] != $0.value }.isEmpty,
                "recorded counts that differ from the agent's: \(recorded.filter { ledger.agentDeleted[$0.key] != $0.value }) vs \(ledger.agentDeleted)")
        #expect(recorded.values.reduce(0, +) == 60_000)
        print("cleanup e2e: \(recorded.count) runs recorded, \(ledger.agentDeleted.count) finished by agents")

        // kubectl 1.32 shows the printer columns from the CRD.
        let get = try await e2e.kubectl("get", "cleanuppolicies", "-n", ns)
        #expect(get.succeeded, "\(get.stderr)")
        let row = KubectlTables.single(get.stdout)
        #expect(row?["NAME"] == "events" && row?["SCHEDULE"] == "* * * * *" && row?["DELETED"] == "0" && row?["DRY RUN"] == "false", "\(get.stdout)")
        #expect(row?["LAST RUN"]?.wholeMatch(of: #/^\d+(s|m\d*s?)$/#) != nil && row?["AGE"]?.wholeMatch(of: #/^\d+(s|m\d*s?)$/#) != nil, "\(get.stdout)")
        #expect(row?["NEXT"] == policy()?.status?.nextRunTime?.rfc3339 || row?["NEXT"]?.hasSuffix("Z") == true, "\(get.stdout)")
        #expect(row?["READY"] == "True" && row?["REASON"] == "Scheduled", "\(get.stdout)")

        // One Job per slot and per run-now value among the Jobs still there (history keeps the newest).
        let kept = (try? e2e.sim.store.list("batch/v1", "Job", namespace: ns, labelSelector: "backstop.dev/cleanup=events")) ?? []
        let answers = kept.compactMap { $0["metadata"]?["annotations"]?["backstop.dev/slot-time"]?.stringValue ?? $0["metadata"]?["annotations"]?[Backstop.runNowAnnotation]?.stringValue }
        #expect(Set(answers).count == answers.count && answers.count == kept.count, "\(answers)")
    }
}

/// What the resilience test saw of each cleanup run while the operator was being killed.
struct RunLedger {
    var uids: [String: Set<String>] = [:]
    /// Job → rows its agent reported deleting (successful runs).
    var agentDeleted: [String: Int64] = [:]
    /// Job → `lastRunDeleted` while status showed that Job's real run.
    var statusDeleted: [String: Int64] = [:]

    mutating func observe(_ e2e: E2E, namespace ns: String, policy: String) {
        for j in (try? e2e.sim.store.list("batch/v1", "Job", namespace: ns, labelSelector: "backstop.dev/cleanup=\(policy)")) ?? [] {
            if let name = j["metadata"]?["name"]?.stringValue, let uid = j["metadata"]?["uid"]?.stringValue { uids[name, default: []].insert(uid) }
        }
        for pod in (try? e2e.sim.store.list("v1", "Pod", namespace: ns, labelSelector: "backstop.dev/cleanup=\(policy)")) ?? [] {
            guard let job = pod["metadata"]?["labels"]?["backstop.dev/job"]?.stringValue,
                  let message = pod[path: ["status", "containerStatuses"]]?[0]?["state"]?["terminated"]?["message"]?.stringValue,
                  let result = try? JSONValue(parsing: message), result["ok"]?.boolValue != false,
                  let deleted = result["results"]?[0]?["deleted"]?.intValue else { continue }
            agentDeleted[job] = Int64(deleted)
        }
        if let status = (try? e2e.sim.store.get(Backstop.apiVersion, "CleanupPolicy", namespace: ns, name: policy))?["status"],
           let job = status["lastRunJob"]?.stringValue, status["lastRunDryRun"]?.boolValue == false,
           let deleted = status["lastRunDeleted"]?.intValue {
            statusDeleted[job] = Int64(deleted)
        }
    }

    /// Job → deleted, as the operator recorded it: status, else the run's `CleanupSucceeded`
    /// Event ("deleted N (events N) (Job NAME)"). Two sources disagreeing is a failure too.
    func recorded(events: [JSONValue]) -> [String: Int64] {
        var out = statusDeleted
        for event in events where event["reason"]?.stringValue == "CleanupSucceeded" {
            guard let text = event["message"]?.stringValue,
                  let match = text.firstMatch(of: #/^deleted (\d+) .*\(Job ([^)]+)\)$/#), let n = Int64(match.1) else { continue }
            let job = String(match.2)
            out[job] = out[job].map { $0 == n ? n : -1 } ?? n
        }
        return out
    }
}
