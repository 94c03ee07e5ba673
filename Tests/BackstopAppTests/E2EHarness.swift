import BackstopApp
import BackstopChaos
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import TestSupport

/// End-to-end setting: KubeSim with the Job runner mapping the agent image to `backstop agent`,
/// the shipped RBAC, and `backstop run` as a subprocess whose token is bound to that RBAC.
final class E2E: Sendable {
    static let agentImage = "backstop.dev/e2e-agent:test"
    let cluster: Cluster
    let work: URL
    let kubeconfig: URL
    let adminKubeconfig: URL

    init(cluster: Cluster, work: URL) throws {
        self.cluster = cluster
        self.work = work
        kubeconfig = work.appendingPathComponent("operator.kubeconfig")
        adminKubeconfig = work.appendingPathComponent("admin.kubeconfig")
        try cluster.writeOperatorKubeconfig(to: kubeconfig)
        try cluster.sim.writeKubeconfig(to: adminKubeconfig)
    }

    var sim: KubeSim { cluster.sim }

    /// `workloads`: Deployments and StatefulSets run real Pods (writers a restore fences).
    /// `watchHistory`: store events kept (a test that reads the store's history after a long run raises it).
    static func start(_ label: String, workloads: Bool = false, watchHistory: Int? = nil) async throws -> E2E {
        let backstop = try OperatorSubprocess.backstopBinary()
        var path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        if let pg = try? TestServices.postgres() { path = "\(pg.bindir):\(path)" }
        let cluster = try await Cluster.start(jobRunner: true, images: [agentImage: [backstop]], environment: ["PATH": path]) {
            $0.controllers.workloads = workloads
            if let watchHistory { $0.watchHistory = watchHistory }
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-\(label)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        return try E2E(cluster: cluster, work: work)
    }

    func startOperator(_ extra: [String] = [], name: String = "operator", metricsPort: Int = 0) throws -> OperatorSubprocess {
        try OperatorSubprocess(kubeconfig: kubeconfig, agentImage: Self.agentImage,
                               extraArgs: ["--identity", "e2e-operator"] + extra, logDirectory: work, name: name,
                               metricsAddress: "127.0.0.1:\(metricsPort)")
    }

    func shutdown() async {
        await cluster.shutdown()
        try? FileManager.default.removeItem(at: work)
    }

    // MARK: objects

    func namespace(_ name: String) throws { try cluster.namespace(name) }

    func secret(_ namespace: String, _ name: String, _ data: [String: String]) throws {
        var encoded: [String: JSONValue] = [:]
        for (k, v) in data { encoded[k] = .string(Data(v.utf8).base64EncodedString()) }
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                  "metadata": ["name": .string(name), "namespace": .string(namespace)], "data": .object(encoded)])
    }

    /// A PVC bound by KubeSim to a local directory; returns that directory.
    func volume(_ namespace: String, _ name: String) async throws -> URL {
        _ = try sim.store.create(["apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "metadata": ["name": .string(name), "namespace": .string(namespace)],
                                  "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]])
        var path: String?
        _ = await eventually(.seconds(10)) {
            path = (try? self.sim.store.get("v1", "PersistentVolumeClaim", namespace: namespace, name: name))?["metadata"]?["annotations"]?["kube-sim.dev/local-path"]?.stringValue
            return path != nil
        }
        guard let path else { throw DemoError.failed("PVC \(namespace)/\(name) was not bound") }
        return URL(fileURLWithPath: path)
    }

    func apply(_ object: JSONValue) throws { _ = try sim.store.create(object) }

    func policy(_ namespace: String, _ name: String) -> BackupPolicy? {
        (try? sim.store.get(Backstop.apiVersion, "BackupPolicy", namespace: namespace, name: name))
            .flatMap { try? $0.decode(BackupPolicy.self) }
    }

    /// Waits until `condition` holds for the policy; returns the last state read.
    @discardableResult
    func waitFor(_ namespace: String, _ name: String, timeout: Duration = .seconds(90),
                 _ condition: @escaping (BackupPolicy) -> Bool) async -> BackupPolicy? {
        var last: BackupPolicy?
        _ = await eventually(timeout) {
            last = self.policy(namespace, name)
            return last.map(condition) ?? false
        }
        return last
    }

    /// `kubectl annotate bp NAME backstop.dev/run-now=VALUE --overwrite`.
    func runNow(_ namespace: String, _ name: String, _ value: String) throws {
        _ = try sim.store.mergePatch(Backstop.apiVersion, "BackupPolicy", namespace: namespace, name: name,
                                     patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: .string(value)]]])
    }

    func jobs(_ namespace: String, policy: String) -> [JSONValue] {
        (try? sim.store.list("batch/v1", "Job", namespace: namespace, labelSelector: "backstop.dev/policy=\(policy)")) ?? []
    }

    func events(_ namespace: String, about name: String) -> [JSONValue] {
        ((try? sim.store.list("v1", "Event", namespace: namespace)) ?? []).filter { $0["involvedObject"]?["name"]?.stringValue == name }
    }

    /// Runs `backstop agent <command>` with `spec` (JSON), as an operator's Job would.
    func agent(_ command: String, spec: JSONValue) async throws -> ChildProcess.Result {
        let file = work.appendingPathComponent("spec-\(UUID().uuidString.prefix(6)).json")
        try Data(spec.serialized()).write(to: file)
        return try await ChildProcess.run(try OperatorSubprocess.backstopBinary(), ["agent", command, "--spec", file.path], timeout: 180)
    }

    func writeFile(_ text: String, name: String) throws -> String {
        let file = work.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    /// kubectl 1.32 against the simulator as admin, with a private HOME.
    func kubectl(_ args: String...) async throws -> ChildProcess.Result {
        let kubectl = ChildProcess.which("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", "kubectl.1.32", "kubectl") ?? "kubectl"
        return try await ChildProcess.run(kubectl, ["--kubeconfig", adminKubeconfig.path] + args,
                                          environment: ["HOME": work.appendingPathComponent("home").path], timeout: 60)
    }
}
