import BackstopApp
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim
import Logging

/// A KubeSim with the Backstop CRDs and the shipped manifests/ applied (so RBAC is exactly
/// what an installation gets), plus clients for the admin and for the operator's ServiceAccount.
struct Cluster {
    let sim: KubeSim

    /// `installManifests: false` leaves out manifests/ (a test that installs the Helm chart's RBAC instead).
    static func start(jobRunner: Bool = false, images: [String: [String]] = [:], environment: [String: String] = [:],
                      installManifests: Bool = true, configure: (inout KubeSimOptions) -> Void = { _ in }) async throws -> Cluster {
        var options = KubeSimOptions()
        options.bookmarkInterval = 1
        options.controllers.jobRunner = jobRunner
        options.controllers.pvcBinder = jobRunner
        options.jobRunner.images = images
        options.jobRunner.environment = environment
        configure(&options)
        let sim = try await KubeSim.start(options)
        guard installManifests else { return Cluster(sim: sim) }
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        for object in try ManifestFiles.load() { _ = try sim.store.create(object) }
        return Cluster(sim: sim)
    }

    var operatorToken: String { sim.token(for: ManifestFiles.operatorUser) }

    func config(token: String? = nil) -> KubeConfig {
        KubeConfig(server: sim.url, credentials: .token(token ?? sim.adminToken),
                   certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) }, namespace: "backstop-system")
    }

    func client(token: String? = nil, qps: Double = 200) throws -> KubeClient {
        var options = KubeClientOptions(qps: qps, burst: Int(qps))
        options.retryBackoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(200))
        options.maxRetries = 1
        return try KubeClient(config: config(token: token), options: options,
                              logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    /// A kubeconfig whose user is the operator's ServiceAccount (bound to manifests/ RBAC).
    func writeOperatorKubeconfig(to url: URL) throws {
        try sim.writeKubeconfig(to: url, user: ManifestFiles.operatorUser)
    }

    func namespace(_ name: String) throws {
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]])
    }

    func shutdown() async { await sim.shutdown() }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
