import DynamicJSON
import Foundation
import KubeSim
import Testing

/// The Job runner: local processes, env from Secrets/ConfigMaps/fieldRefs, volumes as
/// directories, exit codes → Pod phases → Job conditions, backoffLimit, activeDeadlineSeconds.
@Suite struct JobRunnerTests {
    func job(_ name: String, script: String, backoffLimit: Int64 = 6, extraSpec: [String: JSONValue] = [:],
             env: JSONValue = [], mounts: JSONValue = [], volumes: JSONValue = []) -> JSONValue
    {
        var spec: JSONValue = ["backoffLimit": .int(backoffLimit), "template": ["spec": [
            "restartPolicy": "Never", "volumes": volumes,
            "containers": [["name": "main", "image": "busybox", "command": ["sh", "-c", .string(script)],
                            "env": env, "volumeMounts": mounts]],
        ]]]
        for (k, v) in extraSpec { spec[k] = v }
        return ["apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": .string(name), "namespace": "default"], "spec": spec]
    }

    func conditionTypes(_ sim: KubeSim, _ name: String) -> [String] {
        ((try? sim.store.get("batch/v1", "Job", name: name))?[path: ["status", "conditions"]]?.arrayValue ?? [])
            .compactMap { $0["type"]?.stringValue }
    }

    @Test func aLocalShellJobCompletesWithEnvFromSecretsAndAPersistentVolume() async throws {
        let h = try await SimHarness.start {
            $0.controllers.jobRunner = true
            $0.controllers.pvcBinder = true
        }
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        try store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "db", "namespace": "default"],
                          "stringData": ["password": "s3cret"]])
        try store.create(["apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": "backups", "namespace": "default"],
                          "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]])
        try store.create(job("ok", script: "echo \"$PASSWORD $POD\" > /backups/out.txt; echo '{\"size\":3}' > /dev/termination-log",
                             env: [["name": "PASSWORD", "valueFrom": ["secretKeyRef": ["name": "db", "key": "password"]]],
                                   ["name": "POD", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]]],
                             mounts: [["name": "b", "mountPath": "/backups"]],
                             volumes: [["name": "b", "persistentVolumeClaim": ["claimName": "backups"]]]))
        try await eventually(20) { conditionTypes(h.sim, "ok") == ["SuccessCriteriaMet", "Complete"] }
        let j = try store.get("batch/v1", "Job", name: "ok")
        #expect(j[path: ["status", "succeeded"]] == 1)
        #expect(j[path: ["status", "completionTime"]] != nil)
        let pod = try #require(try store.list("v1", "Pod", namespace: "default").first)
        #expect(pod[path: ["status", "phase"]] == "Succeeded")
        #expect(pod[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "terminated", "message"]] == "{\"size\":3}\n")
        let pvc = try store.get("v1", "PersistentVolumeClaim", name: "backups")
        #expect(pvc[path: ["status", "phase"]] == "Bound")
        let dir = try #require(pvc[path: ["metadata", "annotations", "kube-sim.dev/local-path"]]?.stringValue)
        let written = try String(contentsOfFile: dir + "/out.txt", encoding: .utf8)
        #expect(written == "s3cret \(pod["metadata"]!["name"]!.stringValue!)\n")
    }

    @Test func aFailingJobRetriesToBackoffLimitAndEndsFailed() async throws {
        let h = try await SimHarness.start { $0.controllers.jobRunner = true; $0.jobRunner.retryDelay = 0.05 }
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(job("bad", script: "echo nope; exit 3", backoffLimit: 2))
        try await eventually(20) { conditionTypes(h.sim, "bad") == ["FailureTarget", "Failed"] }
        let j = try h.sim.store.get("batch/v1", "Job", name: "bad")
        #expect(j[path: ["status", "failed"]] == 3, "backoffLimit 2 allows three attempts")
        #expect(j[path: ["status", "conditions"]]?[1]?["reason"] == "BackoffLimitExceeded")
        let pods = try h.sim.store.list("v1", "Pod", namespace: "default")
        #expect(pods.count == 3)
        #expect(pods.allSatisfy { $0[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "terminated", "exitCode"]] == 3 })
        let reasons = try h.sim.store.list("v1", "Event", namespace: "default").compactMap { $0["reason"]?.stringValue }
        #expect(reasons.filter { $0 == "SuccessfulCreate" }.count == 3)
        #expect(reasons.contains("BackoffLimitExceeded"))
    }

    @Test func activeDeadlineStopsALongJob() async throws {
        let h = try await SimHarness.start { $0.controllers.jobRunner = true }
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(job("slow", script: "sleep 30", extraSpec: ["activeDeadlineSeconds": 1]))
        try await eventually(20) { conditionTypes(h.sim, "slow") == ["FailureTarget", "Failed"] }
        let j = try h.sim.store.get("batch/v1", "Job", name: "slow")
        #expect(j[path: ["status", "conditions"]]?[1]?["reason"] == "DeadlineExceeded")
    }
}
