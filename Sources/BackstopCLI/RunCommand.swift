import ArgumentParser
import Controllers
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import ServiceLifecycle

/// `backstop run`: the control plane in one process and one ServiceGroup. Flags fall back to
/// environment variables (BACKSTOP_*), then to defaults. SIGTERM/SIGINT stop taking work, let
/// in-flight reconciles finish within `--grace-period`, then release the Lease.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the Backstop controllers against the cluster.")

    @Option(help: "Kubeconfig path (env KUBECONFIG; default: in-cluster service account, then ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "Kubeconfig context (default: current-context).")
    var context: String?
    @Option(help: "Comma-separated namespaces to watch; empty or unset watches all (env BACKSTOP_NAMESPACES).")
    var namespaces: String?
    @Option(help: "Leader election on or off: true|false (env BACKSTOP_LEADER_ELECT; default true).")
    var leaderElect: Bool?
    @Option(help: "Namespace of the leader-election Lease (env BACKSTOP_LEADER_ELECTION_NAMESPACE; default: the config's namespace).")
    var leaderElectionNamespace: String?
    @Option(help: "Name of the leader-election Lease.")
    var leaderElectionID = "backstop-controller"
    @Option(help: "This instance's identity (env BACKSTOP_IDENTITY or POD_NAME; default hostname + random).")
    var identity: String?
    @Option(help: "Health and metrics listen address host:port (env BACKSTOP_METRICS_ADDRESS; default 0.0.0.0:8080).")
    var metricsAddress: String?
    @Option(help: "trace|debug|info|notice|warning|error|critical (env BACKSTOP_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "json|text (env BACKSTOP_LOG_FORMAT; default json).")
    var logFormat: String?
    @Option(help: "Client-side API budget: requests per second.")
    var qps: Double = 20
    @Option(help: "Client-side API budget: burst.")
    var burst: Int = 30
    @Option(help: "Seconds in-flight reconciles get to finish after SIGTERM.")
    var gracePeriod: Int = 30
    @Option(help: .hidden)
    var leaseDurationSeconds: Int = 15
    @Option(help: .hidden)
    var renewDeadlineSeconds: Int = 10
    @Option(help: .hidden)
    var retryPeriodMilliseconds: Int = 2000
    @Flag(help: .hidden)
    var testingConfigMapController = false

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let levelText = logLevel ?? env["BACKSTOP_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard let format = JSONLogHandler.Format(rawValue: (logFormat ?? env["BACKSTOP_LOG_FORMAT"] ?? "json").lowercased()) else {
            throw ValidationError("--log-format must be json or text")
        }
        JSONLogHandler.bootstrap(level: level, format: format)
        let logger = Logger(label: "backstop")
        let registry = RuntimeMetrics.bootstrapPrometheus()

        let config: KubeConfig
        do { config = try KubeConfig.load(kubeconfig: kubeconfig, context: context) } catch {
            logger.critical("cannot load the cluster configuration", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        let client = try KubeClient(config: config, options: KubeClientOptions(qps: qps, burst: burst),
                                    logger: Logger(label: "backstop.kube"))
        let watched = (namespaces ?? env["BACKSTOP_NAMESPACES"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let elect = leaderElect ?? (env["BACKSTOP_LEADER_ELECT"].map { $0 != "false" && $0 != "0" } ?? true)
        let identity = self.identity ?? env["BACKSTOP_IDENTITY"] ?? env["POD_NAME"] ?? LeaderElectionConfig.defaultIdentity()
        let election = elect ? LeaderElectionConfig(
            leaseName: leaderElectionID,
            namespace: leaderElectionNamespace ?? env["BACKSTOP_LEADER_ELECTION_NAMESPACE"] ?? config.namespace,
            identity: identity, leaseDuration: .seconds(leaseDurationSeconds), renewDeadline: .seconds(renewDeadlineSeconds),
            retryPeriod: .milliseconds(retryPeriodMilliseconds)) : nil
        let manager = Manager(client: client, options: ManagerOptions(
            namespaces: watched.isEmpty ? nil : watched, leaderElection: election, instance: identity), logger: logger)

        for registration in backstopControllers(ControllerSettings()) {
            try registration.setup(manager)
        }
        if testingConfigMapController { Self.registerTestingController(manager, identity: identity) }

        let address = metricsAddress ?? env["BACKSTOP_METRICS_ADDRESS"] ?? "0.0.0.0:8080"
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("--metrics-address must be host:port")
        }
        let health = HealthServer(host: String(address[..<colon]), port: port, registry: registry, logger: logger) {
            manager.isReady
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: health)]
        services += manager.services
        var groupConfig = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                    cancellationSignals: [], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .seconds(gracePeriod)
        logger.info("starting", metadata: [
            "server": "\(config.server)", "namespaces": "\(watched.isEmpty ? "all" : watched.joined(separator: ","))",
            "leaderElection": "\(elect)", "identity": "\(identity)",
            "controllers": "\(manager.controllers.map(\.name).joined(separator: ","))"])
        try await ServiceGroup(configuration: groupConfig).run()
        logger.info("stopped")
    }

    /// Test aid (hidden flag): annotates every ConfigMap labelled `backstop.dev/test=true` with
    /// the identity of the instance that reconciled it, so process-level tests can watch who leads.
    static func registerTestingController(_ manager: Manager, identity: String) {
        let informer = manager.informer(ConfigMap.self, labelSelector: "backstop.dev/test=true")
        let client = manager.client
        let controller = manager.controller(name: "testing-configmaps", workers: 2) { key, _ in
            guard let cm = informer.cache.get(key) else { return .done }
            if cm.metadata.annotations?["backstop.dev/reconciled-by"] != identity {
                _ = try await client.resource(ConfigMap.self, namespace: key.namespace)
                    .patch(key.name, .merge(["metadata": ["annotations": ["backstop.dev/reconciled-by": .string(identity)]]]))
            }
            return .requeue(after: .seconds(1))
        }
        controller.watches(informer)
    }
}
