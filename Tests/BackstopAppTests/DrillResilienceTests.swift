import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// DrillRuns under `kill -9` of the operator (a subprocess bound to manifests/ RBAC) at random
/// points: every drill ends with a result, no step's Job (the fresh backup included) runs twice,
/// and no scratch database or marker row outlives its drill.
@Suite(.serialized) struct DrillResilienceTests {
    @Test func killNineThroughTwentyDrillsNeverRepeatsAStepAndAlwaysCleansUp() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await ResilienceTests.createDatabase(pg, rows: 5_000)
        let e2e = try await E2E.start("dkill")
        let ns = "dkill"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        _ = try await e2e.volume(ns, "backups")
        try e2e.apply(ResilienceTests.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "@every 30m"))
        defer { Task { _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }

        // Every agent Job that ever exists for a drill, by name → its uids (a second uid is a second run).
        let recorder = Task { () -> [String: Set<String>] in
            var seen: [String: Set<String>] = [:]
            while !Task.isCancelled {
                for j in (try? e2e.sim.store.list("batch/v1", "Job", namespace: ns, labelSelector: "backstop.dev/drill")) ?? [] {
                    if let name = j["metadata"]?["name"]?.stringValue, let uid = j["metadata"]?["uid"]?.stringValue { seen[name, default: []].insert(uid) }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return seen
        }
        var killedMidDrill = 0
        for round in 0..<20 {
            try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun",
                           "metadata": ["name": .string("d\(round)"), "namespace": .string(ns)],
                           "spec": ["policyRef": ["name": "pg"], "scratch": ["postgres": ["database": .string("\(db)_s\(round)")]],
                                    "objectives": ["rpo": "1h"]]])
            let op = try e2e.startOperator(name: "round-\(round)")
            func anyRunning() -> Bool {
                ((try? e2e.sim.store.list(Backstop.apiVersion, "DrillRun", namespace: ns)) ?? [])
                    .contains { $0[path: ["status", "phase"]]?.stringValue == "Running" }
            }
            // Two rounds in three wait for a drill to be under way before the random delay, so kills
            // land mid-drill however slowly the operator starts on a loaded machine; the third
            // kills at any moment, startup included.
            if round % 3 != 0 {
                _ = await eventually(.seconds(15)) { anyRunning() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...1_000)))
            } else {
                try await Task.sleep(for: .milliseconds(Int.random(in: 150...2500)))
            }
            if anyRunning() { killedMidDrill += 1 }
            await op.kill9()
            #expect(op.process.terminationReason == .uncaughtSignal, "round \(round) exited by itself: \(op.output.suffix(2000))")
        }
        #expect(killedMidDrill >= 4, "kills landed mid-drill only \(killedMidDrill) times")

        let last = try e2e.startOperator(name: "final")
        defer { Task { await last.kill9() } }
        func drills() -> [DrillRun] {
            ((try? e2e.sim.store.list(Backstop.apiVersion, "DrillRun", namespace: ns)) ?? []).compactMap { try? $0.decode(DrillRun.self) }
        }
        let settled = await eventually(.seconds(300)) { drills().count == 20 && drills().allSatisfy { $0.status?.phase == .completed } }
        let all = drills()
        #expect(settled, "not finished: \(all.filter { $0.status?.phase != .completed }.map { "\($0.metadata.name ?? ""): \($0.status?.currentStep ?? "-") \($0.status?.message ?? "")" })\n\(last.output.suffix(3000))")
        #expect(all.allSatisfy { $0.status?.result == .passed }, "\(all.map { "\($0.metadata.name ?? ""): \($0.status?.message ?? "")" })")
        #expect(all.allSatisfy { $0.status?.measured?.rtoSeconds != nil && $0.status?.marker?.removed == true })
        // The finalizer goes in a write of its own after Completed (and after the policy's record).
        let released = await eventually(.seconds(20)) { drills().allSatisfy { $0.metadata.finalizers?.isEmpty ?? true } }
        #expect(released, "\(drills().filter { !($0.metadata.finalizers?.isEmpty ?? true) }.map { $0.metadata.name ?? "" })")
        // The policy shows the newest finished drill (of those finishing in its second), whichever
        // kill landed between the drill's Completed and the policy's record.
        let newest = all.compactMap { $0.status?.finishedAt?.date }.max()
        func policy() -> BackupPolicy? { try? e2e.sim.store.get(Backstop.apiVersion, "BackupPolicy", namespace: ns, name: "pg").decode(BackupPolicy.self) }
        func shown() -> DrillRun? { all.first { $0.metadata.name == policy()?.status?.lastDrill?.name } }
        let recorded = await eventually(.seconds(20)) {
            guard let drill = shown(), drill.status?.finishedAt?.date == newest else { return false }
            return policy()?.status?.lastDrill?.result == drill.status?.result
                && policy()?.status?.conditions?.find("LastDrillPassed")?.status == (drill.status?.result == .passed ? .true : .false)
        }
        #expect(newest != nil && recorded, "newest finished at \(String(describing: newest)), policy shows \(String(describing: policy()?.status?.lastDrill)) \(String(describing: policy()?.status?.conditions?.find("LastDrillPassed")))")
        // Each drill's fresh backup is one backup of the policy: 20 distinct artifacts.
        #expect(Set(all.compactMap { $0.status?.backup?.id }).count == 20)
        recorder.cancel()
        let seen = await recorder.value
        #expect(seen.values.allSatisfy { $0.count == 1 }, "a step ran twice: \(seen.filter { $0.value.count > 1 }.keys.sorted())")
        #expect(seen.count >= 20 * 6, "only \(seen.count) drill Jobs seen")
        // Nothing left behind: no scratch database, no marker row in the source.
        let left = try await server.psql("SELECT count(*) FROM pg_database WHERE datname LIKE '\(db)_s%'", database: "postgres")
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "scratch databases left: \(left)")
        let markers = try await server.psql("SELECT count(*) FROM backstop.drill_markers", database: db)
        #expect(markers.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "marker rows left: \(markers)")
    }
}
