import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import Testing
import TestSupport

/// SecretRotations under `kill -9` of the operator (a subprocess bound to manifests/ RBAC,
/// logging at trace level) at random points, against the real PostgreSQL and a real consumer:
/// the password valid at the source is at every moment held by some Secret (no lock-out),
/// never two runs at once, every run ends Succeeded or RolledBack, and no value ever shows up
/// in the operator's log, an Event, a status, a Job or Pod, or an agent's output.
@Suite(.serialized) struct RotationResilienceTests {
    /// False only when the server refuses the password: a connection that fails for another
    /// reason (a timeout on a loaded CI machine) is tried again, it says nothing of the password.
    static func login(_ pg: TestServices.Postgres, _ role: String, _ password: String) async -> Bool {
        for attempt in 0..<5 {
            do {
                let db = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: role, password: password,
                                                                             connectTimeout: .seconds(3)))
                await db.close()
                return true
            } catch let error as PostgresError where error.kind == .authenticationFailed {
                return false
            } catch {
                if attempt < 4 { try? await Task.sleep(for: .milliseconds(200)) }
            }
        }
        return false
    }

    /// Every value the rotated Secret and the pending Secrets hold now (plain text); not the admin's.
    static func heldValues(_ e2e: E2E, _ ns: String) -> Set<String> {
        var values = Set<String>()
        for secret in (try? e2e.sim.store.list("v1", "Secret", namespace: ns)) ?? [] where secret[path: ["metadata", "name"]] != "pg-admin" {
            for (_, v) in secret["data"]?.objectValue ?? [:] {
                if let text = v.stringValue, let data = Data(base64Encoded: text) { values.insert(String(decoding: data, as: UTF8.self)) }
            }
        }
        return values
    }

    @Test func killNineThroughTwentyRotationsNeverLocksOutNeverOverlapsAndAlwaysEnds() async throws {
        let pg = try TestServices.postgres()
        let initial = "Initial-password-0001"
        let role = "rot_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE ROLE \(role) LOGIN PASSWORD '\(initial)'")
        await admin.close()
        setenv("BACKSTOP_E2E_LOG_LEVEL", "trace", 1)
        defer { unsetenv("BACKSTOP_E2E_LOG_LEVEL") }
        let e2e = try await E2E.start("srkill", workloads: true)
        let ns = "srkill"
        try e2e.namespace(ns)
        try e2e.secret(ns, "db-creds", ["password": initial])
        try e2e.secret(ns, "pg-admin", ["username": pg.user, "password": pg.password])
        defer { Task { await e2e.shutdown() } }
        // Ready 2 s after it starts: a run spends most of its time in Restart, where kills hurt most.
        let probe = "\(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"
        try e2e.apply(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "api", "namespace": .string(ns)],
                       "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "api"]],
                                "template": ["metadata": ["labels": ["app": "api"]], "spec": [
                                    "terminationGracePeriodSeconds": 1,
                                    "containers": [["name": "app", "image": "busybox", "command": ["sh", "-c", "while true; do sleep 1; done"],
                                                    "env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "db-creds", "key": "password"]]]],
                                                    "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]], "periodSeconds": 1, "initialDelaySeconds": 2,
                                                                       "failureThreshold": 1]]]]]]])
        try e2e.apply(["apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation", "metadata": ["name": "db", "namespace": .string(ns)],
                       "spec": ["secretRef": ["name": "db-creds"], "keys": [["key": "password", "generate": ["length": 24]]],
                                "apply": ["postgres": ["host": .string(pg.host), "port": .int(Int64(pg.port)), "role": .string(role),
                                                       "passwordKey": "password", "adminSecretRef": ["name": "pg-admin"]]],
                                "rollout": ["timeout": "60s"]]])

        // The watchers: the source's password must be one a Secret holds; at most one pending Secret.
        let watcher = Task { () -> (lockOuts: [String], overlaps: Int, seen: Set<String>) in
            var lockOuts: [String] = [], overlaps = 0, seen = Set<String>()
            while !Task.isCancelled {
                let held = Self.heldValues(e2e, ns)
                seen.formUnion(held)
                let pending = ((try? e2e.sim.store.list("v1", "Secret", namespace: ns, labelSelector: "backstop.dev/rotation")) ?? []).count
                if pending > 1 { overlaps += 1 }
                var works = false
                for v in held where await Self.login(pg, role, v) { works = true; break }
                // Held values are read before the logins: a value that left the Secrets meanwhile is re-read once.
                if !works {
                    var again = false
                    for v in Self.heldValues(e2e, ns) where await Self.login(pg, role, v) { again = true; break }
                    if !again { lockOuts.append(Date().description) }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return (lockOuts, overlaps, seen)
        }

        func rotation() -> SecretRotation? {
            try? e2e.sim.store.get(Backstop.apiVersion, "SecretRotation", namespace: ns, name: "db").decode(SecretRotation.self)
        }
        var outcomes: [String] = []
        var killedMidRun = 0
        var logs: [String] = []
        for round in 0..<20 {
            _ = try e2e.sim.store.mergePatch(Backstop.apiVersion, "SecretRotation", namespace: ns, name: "db",
                                             patch: ["metadata": ["annotations": .object([Backstop.runNowAnnotation: .string("r\(round)")])]])
            var op = try e2e.startOperator(name: "round-\(round)")
            // Two rounds in three wait for the run to be under way (a loaded machine may take
            // seconds to start the operator); the third kills at any moment, startup included.
            if round % 3 != 0 { _ = await eventually(.seconds(15)) { rotation()?.status?.run.map { $0.finishedAt == nil } ?? false } }
            try await Task.sleep(for: .milliseconds(Int.random(in: 100...2500)))
            if let run = rotation()?.status?.run, run.finishedAt == nil { killedMidRun += 1 }
            await op.kill9()
            logs.append(op.output)
            // Restarted, the operator finishes what the killed one started.
            op = try e2e.startOperator(name: "round-\(round)-finish")
            let ended = await eventually(.seconds(120)) {
                guard let s = rotation()?.status else { return false }
                return s.lastManualRun?.value == "r\(round)" && s.run?.finishedAt != nil
            }
            await op.kill9()
            logs.append(op.output)
            let s = rotation()?.status
            #expect(ended, "round \(round) did not end: \(String(describing: s))\n\(op.output.suffix(3000))")
            outcomes.append(s?.phase?.rawValue ?? "-")
        }
        watcher.cancel()
        let (lockOuts, overlaps, seen) = await watcher.value
        #expect(outcomes.count == 20 && outcomes.allSatisfy { $0 == "Succeeded" || $0 == "RolledBack" }, "\(outcomes)")
        #expect(killedMidRun >= 5, "kills landed mid-rotation only \(killedMidRun) times")
        #expect(lockOuts.isEmpty, "the source's password was in no Secret at \(lockOuts)")
        #expect(overlaps == 0, "two runs overlapped \(overlaps) times")
        #expect(seen.count >= 15, "only \(seen.count) distinct values seen: the rotations did not rotate")
        let secret = try e2e.sim.store.get("v1", "Secret", namespace: ns, name: "db-creds")
        let final = try #require(secret[path: ["data", "password"]]?.stringValue.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) })
        #expect(final.count == 24)
        #expect(await Self.login(pg, role, final), "the final password works")

        // Canary scan: no value in the operator's trace logs, Events, statuses, Jobs, Pods or agent output.
        var text = logs.joined(separator: "\n")
        #expect(text.contains(" DEBUG "), "the operator logged below info (trace)")
        for (api, kind) in [("v1", "Event"), ("batch/v1", "Job"), ("v1", "Pod"), ("apps/v1", "Deployment"), (Backstop.apiVersion, "SecretRotation")] {
            for object in (try? e2e.sim.store.list(api, kind, namespace: ns)) ?? [] {
                text += String(decoding: object.serialized(sortedKeys: true), as: UTF8.self)
                if kind == "Pod", let uid = object["metadata"]?["uid"]?.stringValue {
                    for c in object[path: ["spec", "containers"]]?.arrayValue ?? [] {
                        text += e2e.sim.logs(podUID: uid, container: c["name"]?.stringValue ?? "") ?? ""
                    }
                }
            }
        }
        #expect(text.contains("password set (SCRAM verifier"), "the scan includes the agents' output")
        let leaked = seen.filter { v in text.contains(v) || text.contains(Data(v.utf8).base64EncodedString()) }
        #expect(leaked.isEmpty, "\(leaked.count) credential value(s) leaked outside the Secrets")
    }
}
