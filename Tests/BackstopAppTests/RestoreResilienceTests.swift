import BackstopApp
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import Testing
import TestSupport

/// RestoreRequests under `kill -9` of the operator (a subprocess bound to manifests/ RBAC) at
/// random points: every request ends, no step's Job runs twice, and the fenced writer comes back
/// to the replicas it had — 5, not 1.
@Suite(.serialized) struct RestoreResilienceTests {
    @Test func killNineThroughTwentyRestoresNeverDuplicatesAStepAndAlwaysResumesTheWriter() async throws {
        let pg = try TestServices.postgres()
        let (server, db) = try await ResilienceTests.createDatabase(pg, rows: 20_000)
        let e2e = try await E2E.start("rkill", workloads: true)
        let ns = "rkill"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db", ["password": pg.password])
        _ = try await e2e.volume(ns, "backups")
        try e2e.apply(ResilienceTests.pgPolicy(ns, "pg", db: db, pg: pg, schedule: "@every 30m"))
        defer { Task { _ = try? await server.psql("DROP DATABASE IF EXISTS \(db) WITH (FORCE)"); await e2e.shutdown() } }
        var op = try e2e.startOperator(name: "backup")
        try e2e.runNow(ns, "pg", "base")
        let backedUp = await e2e.waitFor(ns, "pg", timeout: .seconds(90)) { $0.status?.lastBackup?.verified == true }
        guard let id = backedUp?.status?.lastBackup?.id else {
            Issue.record("no base backup: \(String(describing: backedUp?.status))\n\(op.output.suffix(3000))")
            return
        }
        try e2e.apply(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "writer", "namespace": .string(ns)],
                       "spec": ["replicas": 5, "selector": ["matchLabels": ["app": "writer"]],
                                "template": ["metadata": ["labels": ["app": "writer"]],
                                             "spec": ["terminationGracePeriodSeconds": 1,
                                                      "containers": [["name": "w", "image": "busybox", "command": ["sleep", "600"]]]]]]])
        await op.kill9()

        // Every agent Job that ever exists, by name → the uids it had (a second uid is a second run).
        let recorder = Task { () -> [String: Set<String>] in
            var seen: [String: Set<String>] = [:]
            while !Task.isCancelled {
                for j in (try? e2e.sim.store.list("batch/v1", "Job", namespace: ns, labelSelector: "backstop.dev/restore")) ?? [] {
                    if let name = j["metadata"]?["name"]?.stringValue, let uid = j["metadata"]?["uid"]?.stringValue { seen[name, default: []].insert(uid) }
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return seen
        }
        var killedMidRestore = 0
        for round in 0..<20 {
            try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                           "metadata": ["name": .string("r\(round)"), "namespace": .string(ns)],
                           "spec": ["policyRef": ["name": "pg"], "backup": ["id": .string(id)], "allowOverwriteSource": true,
                                    "quiesce": [["kind": "Deployment", "name": "writer"]]]])
            op = try e2e.startOperator(name: "round-\(round)")
            func anyRunning() -> Bool {
                ((try? e2e.sim.store.list(Backstop.apiVersion, "RestoreRequest", namespace: ns)) ?? [])
                    .contains { ["Quiescing", "Restoring", "Verifying", "Resuming"].contains($0[path: ["status", "phase"]]?.stringValue ?? "") }
            }
            // Two rounds in three wait for a restore to be under way (a loaded machine may take
            // seconds to start the operator); the third kills at any moment, startup included.
            if round % 3 != 0 { _ = await eventually(.seconds(15)) { anyRunning() } }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...2500)))
            if anyRunning() { killedMidRestore += 1 }
            await op.kill9()
            #expect(op.process.terminationReason == .uncaughtSignal, "round \(round) exited by itself: \(op.output.suffix(2000))")
        }
        #expect(killedMidRestore >= 3, "kills landed mid-restore only \(killedMidRestore) times")

        let last = try e2e.startOperator(name: "final")
        defer { Task { await last.kill9() } }
        func requests() -> [RestoreRequest] {
            ((try? e2e.sim.store.list(Backstop.apiVersion, "RestoreRequest", namespace: ns)) ?? []).compactMap { try? $0.decode(RestoreRequest.self) }
        }
        let settled = await eventually(.seconds(240)) {
            requests().count == 20 && requests().allSatisfy { $0.status?.phase == .succeeded || $0.status?.phase == .failed }
        }
        let all = requests()
        #expect(settled, "not finished: \(all.filter { $0.status?.phase != .succeeded && $0.status?.phase != .failed }.map { "\($0.metadata.name ?? ""): \($0.status?.phase?.rawValue ?? "-") \($0.status?.currentStep ?? "")" })\n\(last.output.suffix(3000))")
        #expect(all.allSatisfy { $0.status?.phase == .succeeded }, "\(all.map { "\($0.metadata.name ?? ""): \($0.status?.message ?? "")" })")
        #expect(all.allSatisfy { $0.status?.savedReplicas == ["Deployment/writer": 5] }, "every request saved 5 replicas, never a 0 another had left")
        #expect(all.allSatisfy { $0.metadata.finalizers?.isEmpty ?? true })
        recorder.cancel()
        let seen = await recorder.value
        #expect(seen.values.allSatisfy { $0.count == 1 }, "a step ran twice: \(seen.filter { $0.value.count > 1 }.keys.sorted())")
        #expect(seen.count >= 40, "only \(seen.count) agent Jobs seen")
        // The writer is back at 5, every replica ready.
        let writer = await eventually(.seconds(30)) {
            let d = try? e2e.sim.store.get("apps/v1", "Deployment", namespace: ns, name: "writer")
            return d?[path: ["spec", "replicas"]] == 5 && d?[path: ["status", "readyReplicas"]] == 5
        }
        #expect(writer, "the writer is back at 5 ready replicas")
    }
}
