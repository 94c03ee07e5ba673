import ArgumentParser
import Controllers
import Foundation
import KubeClient
import KubeModel
import Logging

/// `backstop-bench floor-peer`: the least an operator can do on the run-now path, as a separate
/// process on the same client library: one watch on BackupPolicies, and on a new
/// `backstop.dev/run-now` value one Job POST carrying it. No cache, no planning, no status, no
/// Events. Its reaction is the simulator's and the transport's own cost (watch fan-out, TLS,
/// the create), the floor under any operator measured on this simulator; `backstop-bench
/// operator --peer floor` runs it the same way as the kopf peer.
struct FloorPeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor-peer",
        abstract: "A minimal run-now reactor (watch → Job POST), the simulator's floor for `operator --peer floor`.",
        shouldDisplay: false)

    @Option(help: "kubeconfig of the simulator.") var kubeconfig: String

    func run() async throws {
        let quiet = Logger(label: "floor", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = try KubeClient(config: KubeConfig.fromKubeconfig(path: kubeconfig),
                                    options: KubeClientOptions(qps: 10_000, burst: 10_000), logger: quiet)
        let policies = client.resource(BackupPolicy.self)
        let version = try await policies.list(ListOptions(limit: 1)).resourceVersion
        var answered: [String: String] = [:]
        var created = 0
        for try await event in try await policies.watch(WatchOptions(resourceVersion: version, allowBookmarks: false)) {
            guard let policy = event.object, let value = policy.metadata.annotations?[Backstop.runNowAnnotation],
                  let namespace = policy.metadata.namespace, let name = policy.metadata.name else { continue }
            let key = "\(namespace)/\(name)"
            if answered[key] == value { continue }
            answered[key] = value
            created += 1
            var container = Container(name: "agent", image: "backstop:dev")
            container.args = ["agent", "backup"]
            var pod = PodSpec(containers: [container])
            pod.restartPolicy = "Never"
            var spec = JobSpec(template: PodTemplateSpec(spec: pod))
            spec.backoffLimit = 0
            let owner = OwnerReference(apiVersion: Backstop.apiVersion, kind: "BackupPolicy", name: name, uid: policy.metadata.uid ?? "")
            let job = Job(metadata: ObjectMeta(name: "\(name)-floor-\(created)", namespace: namespace,
                                               labels: [BackstopLabels.policy: name], annotations: [Backstop.runNowAnnotation: value],
                                               ownerReferences: [owner]),
                          spec: spec)
            do {
                _ = try await client.resource(Job.self, namespace: namespace).create(job)
            } catch {
                print("floor-peer: create \(namespace)/\(job.metadata.name ?? ""): \(error)")
            }
        }
    }
}
