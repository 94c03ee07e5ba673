import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim
import Logging
import Testing

/// The workload helpers against KubeSim, whose Deployments run real Pods: save replicas → scale
/// to 0 → no Pod left → back to the saved count, ready, and a rollout restart to done.
@Suite struct WorkloadsIntegrationTests {
    static func deployment(_ name: String, replicas: Int64) -> JSONValue {
        ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "team"],
         "spec": ["replicas": .int(replicas), "selector": ["matchLabels": ["app": .string(name)]],
                  "template": ["metadata": ["labels": ["app": .string(name)]],
                               "spec": ["terminationGracePeriodSeconds": 1,
                                        "containers": [["name": "app", "image": "writer:1", "command": ["sleep", "600"]]]]]]]
    }

    /// Asks until `state` is done (the sim's controller writes status asynchronously).
    static func eventually(_ state: () async throws -> RolloutState) async throws -> RolloutState {
        var last = RolloutState.progressing("not asked")
        for _ in 0..<100 {
            last = try await state()
            if last.isDone { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        return last
    }

    @Test func quiesceResumeAndRestartADeployment() async throws {
        var options = KubeSimOptions()
        options.controllers.workloads = true
        let sim = try await KubeSim.start(options)
        defer { Task { await sim.shutdown() } }
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]])
        _ = try sim.store.create(Self.deployment("writer", replicas: 5))
        let client = try KubeClient(config: KubeConfig(server: sim.url, credentials: .token(sim.adminToken),
                                                       certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) }),
                                    logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let workloads = Workloads(client: client, namespace: "team")
        let ref = WorkloadReference(kind: .deployment, name: "writer")

        // Quiesce: the count to write to status first, then zero.
        #expect(try await Self.eventually { try await workloads.scaledState(of: ref, to: 5) } == .done)
        #expect(try await workloads.podsLeft(of: ref).count == 5)
        let saved = try await workloads.replicas(of: ref)
        #expect(saved == 5)
        try await workloads.scale(ref, to: 0)
        #expect(try await workloads.replicas(of: ref) == 0)
        #expect(try await Self.eventually { try await workloads.scaledState(of: ref, to: 0) } == .done)
        var left = try await workloads.podsLeft(of: ref)
        for _ in 0..<100 where !left.isEmpty {
            try await Task.sleep(for: .milliseconds(50))
            left = try await workloads.podsLeft(of: ref)
        }
        #expect(left.isEmpty, "every Pod (and its process) is gone: \(left)")

        // Resume: exactly the saved count, ready.
        try await workloads.scale(ref, to: saved)
        #expect(try await Self.eventually { try await workloads.scaledState(of: ref, to: saved) } == .done)
        #expect(try await workloads.replicas(of: ref) == 5)

        // Rollout restart: a new template annotation, a new generation, then done again.
        let before = try await workloads.get(ref)["metadata"]?["generation"]?.intValue ?? 0
        let at = Time(seconds: 1_780_000_000)
        try await workloads.restartRollout(ref, at: at)
        let after = try await workloads.get(ref)
        #expect(after[path: ["spec", "template", "metadata", "annotations", Workloads.restartedAtAnnotation]]?.stringValue == at.rfc3339)
        #expect((after["metadata"]?["generation"]?.intValue ?? 0) > before)
        #expect(try await Self.eventually { try await workloads.rolloutState(of: ref) } == .done)

        // A missing workload is a clear NotFound, not a hang.
        await #expect(throws: KubeError.self) {
            _ = try await workloads.replicas(of: WorkloadReference(kind: .deployment, name: "missing"))
        }
    }
}
