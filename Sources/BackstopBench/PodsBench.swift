import ArgumentParser
import DynamicJSON
import Foundation
import KubeSim

/// KubeSim's real-pod workloads: Pods started per second (a Deployment of `replicas` sleeping
/// Pods, create → every Pod Ready), and a `rollout restart` of a 10-replica Deployment of HTTP
/// servers with readiness probes (annotation → rollout complete, every process replaced).
struct PodsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pods",
        abstract: "KubeSim workloads: Pods started per second; rollout restart of 10 probed replicas to all ready.")

    @Option(help: "Replicas of the start-rate Deployment.") var replicas = 100
    @Option(help: "Replicas of the rollout-restart Deployment.") var rolloutReplicas = 10

    func run() async throws {
        var options = KubeSimOptions()
        options.tls = false
        options.controllers.workloads = true
        let sim = try await KubeSim.start(options)
        defer { try? FileManager.default.removeItem(at: sim.dataDirectory) }
        sim.jobRunner.setImage("web-server", command: ["sh", "-c", "exec python3 -m http.server --bind \"$POD_IP\" 8080"])

        let started = Date()
        try sim.store.create(deployment("sleepers", replicas: replicas, container: ["name": "c", "image": "busybox", "command": ["sleep", "600"]]))
        try await waitReady(sim, "sleepers", replicas: replicas, timeout: 300)
        let startSeconds = Date().timeIntervalSince(started)
        emit(String(format: "pods: %d Pods of one Deployment Running and Ready in %.2f s: %.1f Pods/s", replicas, startSeconds,
                    Double(replicas) / startSeconds))
        _ = try sim.store.mergePatch("apps/v1", "Deployment", namespace: "default", name: "sleepers", patch: ["spec": ["replicas": 0]])

        let web: JSONValue = ["name": "web", "image": "web-server",
                              "env": [["name": "POD_IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]]],
                              "readinessProbe": ["httpGet": ["path": "/", "port": 8080], "periodSeconds": 1]]
        try sim.store.create(deployment("web", replicas: rolloutReplicas, container: web))
        try await waitReady(sim, "web", replicas: rolloutReplicas, timeout: 300)
        let restartAt = Date()
        _ = try sim.store.mergePatch("apps/v1", "Deployment", namespace: "default", name: "web", patch: [
            "spec": ["template": ["metadata": ["annotations": ["kubectl.kubernetes.io/restartedAt": .string(ISO8601DateFormatter().string(from: restartAt))]]]],
        ])
        try await waitRolledOut(sim, "web", replicas: rolloutReplicas, timeout: 600)
        emit(String(format: "pods: rollout restart of %d probed replicas (readiness period 1 s, maxSurge/maxUnavailable 25%%) to all ready: %.2f s",
                    rolloutReplicas, Date().timeIntervalSince(restartAt)))
        await sim.shutdown()
    }

    private func deployment(_ name: String, replicas: Int, container: JSONValue) -> JSONValue {
        ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
         "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": ["app": .string(name)]],
                  "template": ["metadata": ["labels": ["app": .string(name)]],
                               "spec": ["terminationGracePeriodSeconds": 1, "containers": [container]]]]]
    }

    private func waitReady(_ sim: KubeSim, _ name: String, replicas: Int, timeout: TimeInterval) async throws {
        try await poll(timeout, "\(name) ready") {
            let d = try sim.store.get("apps/v1", "Deployment", name: name)
            return d[path: ["status", "readyReplicas"]]?.intValue == Int64(replicas)
        }
    }

    /// kubectl rollout status's rule: observed, all updated, no old replicas, all available.
    private func waitRolledOut(_ sim: KubeSim, _ name: String, replicas: Int, timeout: TimeInterval) async throws {
        try await poll(timeout, "\(name) rolled out") {
            let d = try sim.store.get("apps/v1", "Deployment", name: name)
            let s = d["status"] ?? [:]
            let n = Int64(replicas)
            return s["observedGeneration"] == d["metadata"]?["generation"] && s["updatedReplicas"]?.intValue == n
                && s["replicas"]?.intValue == n && s["availableReplicas"]?.intValue == n
        }
    }

    private func poll(_ timeout: TimeInterval, _ what: String, _ done: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while try !done() {
            if Date() > deadline { throw ValidationError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
