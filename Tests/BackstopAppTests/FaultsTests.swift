import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// 50 policies converge while KubeSim answers 10 % of requests 500, 5 % 429 (Retry-After 1),
/// 1 % 409 and drops every watch every 2 s (the runtime issue's mix).
@Suite(.serialized) struct FaultsTests {
    @Test func fiftyPoliciesConvergeUnderTheFaultMix() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await ResilienceTests.createDatabase(pg, rows: 100)
        let e2e = try await E2E.start("faults")
        let ns = "many"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        _ = try await e2e.volume(ns, "backups")
        for i in 0..<50 {
            try e2e.apply(ResilienceTests.pgPolicy(ns, "p\(i)", db: db, pg: pg, schedule: "@every 1m"))
        }
        e2e.sim.faults.injectRate(.internalError, probability: 0.10)
        e2e.sim.faults.injectRate(.tooManyRequests(retryAfter: 1), probability: 0.05)
        e2e.sim.faults.injectRate(.conflict, probability: 0.01)
        let dropper = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                e2e.sim.faults.dropAllWatches()
            }
        }
        let op = try e2e.startOperator()
        defer {
            dropper.cancel()
            Task { await op.kill9(); _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() }
        }
        func done() -> [String] {
            (0..<50).filter { i in
                let p = e2e.policy(ns, "p\(i)")
                return !(p?.status?.conditions?.isTrue("LastBackupSucceeded") == true && (p?.status?.artifacts?.count ?? 0) >= 1
                    && p?.status?.lastBackup?.verified == true)
            }.map { "p\($0)" }
        }
        let converged = await eventually(.seconds(240)) { done().isEmpty }
        e2e.sim.faults.clear()
        let pending = done()
        #expect(converged, "not converged: \(pending.prefix(10)) e.g. \(pending.first.flatMap { e2e.policy(ns, $0) }.map(Demo.summary) ?? "")\n\(op.output.suffix(3000))")
        // Faults really happened, and the operator survived them.
        #expect(e2e.sim.requestLog.entries.contains { $0.status == 500 })
        #expect(op.isRunning)
        // One backup Job per slot even under conflicts and retries.
        let jobs = try e2e.sim.store.list("batch/v1", "Job", namespace: ns)
        let keys = jobs.filter { $0["metadata"]?["labels"]?["backstop.dev/operation"] == "backup" }.compactMap { j -> String? in
            guard let p = j["metadata"]?["labels"]?["backstop.dev/policy"]?.stringValue,
                  let s = j["metadata"]?["labels"]?["backstop.dev/slot"]?.stringValue else { return nil }
            return "\(p)/\(s)"
        }
        #expect(Set(keys).count == keys.count)
    }
}
