import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import Testing
import TestSupport

/// SecretRotations under `kill -9` of the operator (a subprocess bound to manifests/ RBAC,
/// logging at trace level) at random points, against the real PostgreSQL and a real consumer.
/// Two SecretRotations rotate the same Secret and are started together every round, so runs
/// that overlapped would show; some rounds pin the consumer to the old password, so those runs
/// roll back and kills land in the roll-back. Throughout: the password valid at the source is
/// at every moment held by some Secret (no lock-out), never two runs at once, every run ends
/// Succeeded or RolledBack, and no value (new or old, rolled back or not) ever shows up in the
/// operator's log, an Event, a status, a Job or Pod, or an agent's output.
@Suite(.serialized) struct RotationResilienceTests {
    static let rounds = 11
    static func rollsBack(_ round: Int) -> Bool { round % 4 == 1 }

    @Test func killNineThroughTwoRotationsOfOneSecretNeverLocksOutNeverOverlapsAndAlwaysEnds() async throws {
        let pg = try TestServices.postgres()
        let initial = "Initial-password-0001"
        let role = "rot_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(initial)'")
        await admin.close()
        setenv("BACKSTOP_E2E_LOG_LEVEL", "trace", 1)
        defer { unsetenv("BACKSTOP_E2E_LOG_LEVEL") }
        // Every SecretRotation change of the whole test stays in the history read at the end.
        let e2e = try await E2E.start("srkill", workloads: true, watchHistory: 200_000)
        let ns = "srkill"
        let names = ["db", "db-twin"]
        try e2e.namespace(ns)
        try e2e.secret(ns, "db-creds", ["password": initial])
        try e2e.secret(ns, "pg-admin", ["username": pg.user, "password": pg.password])
        defer { Task { await e2e.shutdown() } }
        let pin = e2e.work.appendingPathComponent("pin")
        // Ready 2 s after it starts: a run spends most of its time in Restart, where kills hurt most.
        let probe = "\(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"
        try e2e.apply(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "api", "namespace": .string(ns)],
                       "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "api"]],
                                "template": ["metadata": ["labels": ["app": "api"]], "spec": [
                                    "terminationGracePeriodSeconds": 1,
                                    "containers": [["name": "app", "image": "busybox", "command": ["sh", "-c", .string(RotationWatch.pinnedConsumer(pin))],
                                                    "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "db-creds", "key": "password"]]]],
                                                    "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]], "periodSeconds": 1, "initialDelaySeconds": 2,
                                                                       "failureThreshold": 1]]]]]]])
        for name in names {
            try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation", "metadata": ["name": .string(name), "namespace": .string(ns)],
                           "spec": ["secretRef": ["name": "db-creds"], "keys": [["key": "password", "generate": ["length": 24]]],
                                    "apply": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "role": .string(role),
                                                           "passwordKey": "password", "adminSecretRef": ["name": "pg-admin"]]],
                                    "rollout": ["timeout": "60s"]]])
        }

        // The watchers: the source's password must be one a Secret holds; at most one pending Secret.
        let watcher = Task { () -> (lockOuts: [String], pendingOverlaps: Int, seen: Set<String>) in
            var lockOuts: [String] = [], pendingOverlaps = 0, seen = Set<String>()
            while !Task.isCancelled {
                let held = RotationWatch.heldValues(e2e, ns)
                seen.formUnion(held)
                let pending = ((try? e2e.sim.store.list("v1", "Secret", namespace: ns, labelSelector: "backstop.dev/rotation")) ?? []).count
                if pending > 1 { pendingOverlaps += 1 }
                var works = false
                for v in held where await RotationWatch.login(pg, role, v) { works = true; break }
                // Held values are read before the logins: a value that left the Secrets meanwhile is re-read once.
                if !works {
                    var again = false
                    for v in RotationWatch.heldValues(e2e, ns) where await RotationWatch.login(pg, role, v) { again = true; break }
                    if !again { lockOuts.append(Date().description) }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (lockOuts, pendingOverlaps, seen)
        }

        func rotation(_ name: String) -> SecretRotation? {
            try? e2e.sim.store.get(Backstop.apiVersion, "SecretRotation", namespace: ns, name: name).decode(SecretRotation.self)
        }
        func underWay() -> Bool { names.contains { rotation($0)?.status?.run.map { $0.finishedAt == nil } ?? false } }
        func rollingBack() -> Bool { names.contains { rotation($0)?.status?.phase?.rawValue == "RollingBack" } }
        var outcomes: [String] = []
        var killedMidRun = 0, killedInRollBack = 0
        var logs: [String] = []
        var scanned = ""
        for round in 0..<Self.rounds {
            if Self.rollsBack(round) { try RotationWatch.pin(pin, to: try #require(RotationWatch.secretValue(e2e, ns, "db-creds", "password"))) }
            for name in names {
                _ = try e2e.sim.store.mergePatch(Backstop.apiVersion, "SecretRotation", namespace: ns, name: name,
                                                 patch: ["metadata": ["annotations": .object([Backstop.runNowAnnotation: .string("r\(round)")])]])
            }
            var op = try e2e.startOperator(name: "round-\(round)")
            if Self.rollsBack(round) {
                // Kill within a second of a roll-back being under way.
                _ = await eventually(.seconds(30)) { rollingBack() }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...1000)))
                if rollingBack() { killedInRollBack += 1 }
            } else {
                // Two rounds in three wait for a run to be under way (a loaded machine may take
                // seconds to start the operator); the third kills at any moment, startup included.
                if round % 3 != 0 { _ = await eventually(.seconds(15)) { underWay() } }
                try await Task.sleep(for: .milliseconds(Int.random(in: 100...2500)))
            }
            if underWay() { killedMidRun += 1 }
            await op.kill9()
            logs.append(op.output)
            // Restarted, the operator finishes what the killed one started, and the other rotation's run.
            op = try e2e.startOperator(name: "round-\(round)-finish")
            let ended = await eventually(.seconds(180)) {
                names.allSatisfy { name in
                    guard let s = rotation(name)?.status else { return false }
                    return s.lastManualRun?.value == "r\(round)" && s.run?.finishedAt != nil
                }
            }
            await op.kill9()
            logs.append(op.output)
            let phases = names.map { rotation($0)?.status?.phase?.rawValue ?? "-" }
            #expect(ended, "round \(round) did not end: \(names.map { String(describing: rotation($0)?.status) })\n\(op.output.suffix(3000))")
            if Self.rollsBack(round) {
                #expect(phases == ["RolledBack", "RolledBack"], "round \(round): a consumer pinned to the old password rolls both runs back: \(phases)")
                try FileManager.default.removeItem(at: pin)
            }
            outcomes += phases
            // A new run deletes the last one's Jobs (and their Pods' output): scan every round's.
            scanned += RotationWatch.nonSecretText(e2e, ns, operatorLogs: [])
        }
        watcher.cancel()
        let (lockOuts, pendingOverlaps, seen) = await watcher.value
        #expect(outcomes.count == 2 * Self.rounds && outcomes.allSatisfy { $0 == "Succeeded" || $0 == "RolledBack" }, "\(outcomes)")
        #expect(outcomes.filter { $0 == "Succeeded" }.count >= Self.rounds, "most runs rotate: \(outcomes)")
        #expect(killedMidRun >= 5, "kills landed mid-rotation only \(killedMidRun) times")
        #expect(killedInRollBack >= 2, "kills landed mid-roll-back only \(killedInRollBack) times")
        #expect(lockOuts.isEmpty, "the source's password was in no Secret at \(lockOuts)")
        #expect(pendingOverlaps == 0, "two pending Secrets at once \(pendingOverlaps) times")
        // From the store's history: the two rotations' runs never both past Validate and unfinished.
        let history = try #require(try RotationWatch.overlaps(e2e, ns, names: names), "the store's history was compacted: raise watchHistory")
        #expect(history.overlaps == 0, "two runs of one Secret overlapped \(history.overlaps) times")
        #expect(history.waitedRuns >= Self.rounds / 2, "started together, one run waits for the other: only \(history.waitedRuns) waited")
        print("rotation kill test: \(outcomes.count) runs \(outcomes), \(killedMidRun) kills mid-run, \(killedInRollBack) mid-roll-back, "
              + "\(history.waitedRuns) runs waited for the other rotation")
        #expect(seen.count >= 15, "only \(seen.count) distinct values seen: the rotations did not rotate")
        let final = try #require(RotationWatch.secretValue(e2e, ns, "db-creds", "password"))
        #expect(final.count == 24)
        #expect(await RotationWatch.login(pg, role, final), "the final password works")

        // Canary scan: no value, new or old, applied or rolled back, outside the Secrets.
        let text = RotationWatch.nonSecretText(e2e, ns, operatorLogs: logs) + scanned
        #expect(text.contains(" DEBUG "), "the operator logged below info (trace)")
        #expect(text.contains("password set (SCRAM verifier"), "the scan includes the agents' output")
        #expect(text.contains("previous password set again") || text.contains("RolledBack"), "the scan includes the roll-backs")
        let leaked = seen.filter { v in text.contains(v) || text.contains(Data(v.utf8).base64EncodedString()) }
        #expect(leaked.isEmpty, "\(leaked.count) credential value(s) leaked outside the Secrets")
    }
}
