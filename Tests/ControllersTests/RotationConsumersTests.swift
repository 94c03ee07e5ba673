import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import TestSupport
import Testing

/// Consumers found by every way a pod template can use a Secret, each a real process that
/// reads the password the way it says (env from the whole Secret, a file of a Secret volume, a
/// file of a projected volume; a StatefulSet's env) and, the Deployments, ready only while it logs in with it.
/// (DaemonSets are discovered and restarted too, but KubeSim runs no DaemonSet pods to wait for.)
@Suite(.serialized) struct RotationConsumersTests {
    /// A workload whose container gets `podSpec` merged in; ready while `probe` succeeds.
    static func workload(_ kind: String, _ name: String, probe: String, container: JSONValue = [:], podSpec: JSONValue = [:]) -> JSONValue {
        var c: JSONValue = ["name": "app", "image": "busybox", "command": ["sh", "-c", "while true; do sleep 1; done"],
                            "readinessProbe": ["exec": ["command": ["sh", "-c", .string(probe)]], "initialDelaySeconds": 1,
                                               "periodSeconds": 1, "failureThreshold": 1]]
        for (k, v) in container.objectValue ?? [:] { c[k] = v }
        var spec: JSONValue = ["terminationGracePeriodSeconds": 1, "containers": [c]]
        for (k, v) in podSpec.objectValue ?? [:] { spec[k] = v }
        var object: JSONValue = ["apiVersion": "apps/v1", "kind": .string(kind), "metadata": ["name": .string(name), "namespace": "team"],
                                 "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                                          "template": ["metadata": ["labels": ["app": .string(name)]], "spec": spec]]]
        if kind == "StatefulSet" { object[path: ["spec", "serviceName"]] = .string(name) }
        return object
    }

    /// The hex SHA-256 of `text`, computed as the consumer computes it (`sha256sum`).
    static func sha256(_ text: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf %s \"$V\" | sha256sum | cut -d' ' -f1"]
        p.environment = ["V": text, "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func rolledOut(_ h: ControllerHarness, _ kind: String, _ name: String) throws -> Bool {
        RolloutState.rollout(try h.sim.store.get("apps/v1", kind, namespace: "team", name: name)).isDone
    }

    @Test func consumersOfEveryKindAreFoundRestartedAndReadyAtMostMaxConcurrentAtATime() async throws {
        let h = try await ControllerHarness(workloads: true)
        let pg = try TestServices.postgres()
        let old = RotationIntegrationTests.oldPassword
        let role = try await Rotation.roleWithSecrets(h, pg, password: old)
        func login(_ password: String) -> String {
            "PGPASSWORD=\"\(password)\" \(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \(role) -d postgres -tAc 'select 1' >/dev/null 2>&1"
        }
        let consumers: [(kind: String, name: String, object: JSONValue)] = [
            ("Deployment", "env-from", Self.workload("Deployment", "env-from", probe: login("$password"),
                                                     container: ["envFrom": [["secretRef": ["name": "db-creds"]]]])),
            ("Deployment", "secret-file", Self.workload("Deployment", "secret-file", probe: login("$(cat /etc/db/password)"),
                                                        container: ["volumeMounts": [["name": "creds", "mountPath": "/etc/db"]]],
                                                        podSpec: ["volumes": [["name": "creds", "secret": ["secretName": "db-creds"]]]])),
            ("Deployment", "projected", Self.workload("Deployment", "projected", probe: login("$(cat /etc/all/db-password)"),
                                                      container: ["volumeMounts": [["name": "all", "mountPath": "/etc/all"]]],
                                                      podSpec: ["volumes": [["name": "all", "projected": ["sources": [
                                                          ["secret": ["name": "db-creds", "items": [["key": "password", "path": "db-password"]]]],
                                                      ]]]]])),
            // A StatefulSet (OrderedReady) replaces no pod while one is not ready, so a probe that
            // logs in would hold the old pod unready once the old password is refused and stall
            // the rollout (docs/rotation.md); this one says which password it started with instead.
            ("StatefulSet", "stateful", Self.workload("StatefulSet", "stateful", probe: "[ -n \"$PGPASSWORD\" ]",
                                                      container: ["env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "db-creds", "key": "password"]]]],
                                                                  "command": ["sh", "-c", "printf %s \"$PGPASSWORD\" | sha256sum; while true; do sleep 1; done"]])),
        ]
        for c in consumers { _ = try h.sim.store.create(c.object) }
        // Ready on the old password: each one reads it the way it says.
        #expect(try await eventually(.seconds(45)) { try consumers.allSatisfy { try Self.rolledOut(h, $0.kind, $0.name) } },
                "consumers ready on the old password")
        var spec = Rotation.pgSpec(pg, role: role)
        spec[path: ["rollout", "maxConcurrent"]] = 2
        _ = try h.sim.store.create(Rotation.resource("db", spec))
        h.startController()
        try await Rotation.runNow(h, "db", "go")
        let done = try await Rotation.finished(h, "db", runNow: "go", within: 120)
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "Succeeded", "\(String(describing: s))")
        let new = try #require(try Rotation.secretValue(h, "db-creds", "password"))
        let newWorks = await Rotation.pgLogin(pg, role, new), oldWorks = await Rotation.pgLogin(pg, role, old)
        #expect(newWorks && !oldWorks)
        // Every one was found by discovery, restarted, and is ready, on the new password (the old one is refused).
        #expect(s.consumers?.map(\.key).sorted() == consumers.map { "\($0.kind)/\($0.name)" }.sorted(), "\(String(describing: s.consumers))")
        #expect(s.consumers?.allSatisfy { $0.ready == true && $0.restartedAt != nil } == true && s.consumersReady == "4/4")
        let pod = try h.sim.store.get("v1", "Pod", namespace: "team", name: "stateful-0")
        let started = h.sim.logs(podUID: pod[path: ["metadata", "uid"]]?.stringValue ?? "", container: "app") ?? ""
        #expect(started.hasPrefix(try Self.sha256(new)), "the StatefulSet's pod started with the new password")
        for c in consumers {
            let object = try h.sim.store.get("apps/v1", c.kind, namespace: "team", name: c.name)
            #expect(object[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] != nil, "\(c.name) restarted")
            #expect(RolloutState.rollout(object).isDone, "\(c.name) ready")
        }

        // Pacing, from the store's history: a consumer is restarting from its restart annotation
        // until its rollout is done; never more than maxConcurrent (2) at once, and 2 were.
        var events = try h.sim.store.history("apps/v1", "Deployment", namespace: "team", name: nil)
            + h.sim.store.history("apps/v1", "StatefulSet", namespace: "team", name: nil)
        events.sort { $0.resourceVersion < $1.resourceVersion }
        #expect(Set(events.filter { $0.type == .added }.compactMap { $0.object["metadata"]?["name"]?.stringValue }).count == 4,
                "the history holds every consumer from its creation")
        var restarting: [String: Bool] = [:]
        var most = 0
        for event in events {
            let name = event.object["metadata"]?["name"]?.stringValue ?? ""
            let restarted = event.object[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] != nil
            restarting[name] = restarted && !RolloutState.rollout(event.object).isDone
            most = max(most, restarting.values.filter { $0 }.count)
        }
        #expect(most == 2, "at most maxConcurrent (2) consumers restarting at once, and that many: \(most)")
        await h.stop()
    }
}
