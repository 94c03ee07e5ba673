import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import Prometheus
import ServiceLifecycle

/// Everything `backstop run` can be told. The CLI fills it from flags and BACKSTOP_* variables;
/// the demo and tests fill it directly, so all three start the operator the same way.
public struct OperatorOptions: Sendable {
    public var kubeconfig: String?
    public var context: String?
    /// Namespaces to watch; empty watches all.
    public var namespaces: [String] = []
    public var leaderElect = true
    public var leaderElectionNamespace: String?
    public var leaderElectionID = "backstop-controller"
    public var identity: String?
    public var metricsHost = "0.0.0.0"
    /// 0 picks a free port (see `OperatorProcess.metricsPort()`).
    public var metricsPort = 8080
    public var qps: Double = 20
    public var burst = 30
    public var gracePeriod: Duration = .seconds(30)
    public var leaseDuration: Duration = .seconds(15)
    public var renewDeadline: Duration = .seconds(10)
    public var retryPeriod: Duration = .seconds(2)
    /// The image of agent Jobs (the operator's own image).
    public var agentImage = ControllerSettings.defaultAgentImage
    /// How often a policy whose Secret is missing looks again (ControllerSettings).
    public var secretRecheckInterval: Duration = .seconds(30)
    /// How long a finished Job may lack its Pod's result before it is recorded without it.
    public var resultGracePeriod: Duration = .seconds(30)
    /// Test aid: the ConfigMap controller of the runtime's process-level tests.
    public var testingConfigMapController = false
    /// After the caches synced, wait this long and page out what start-up alone touched (nil: never).
    public var pageOutAfterSync: Duration? = .seconds(30)

    public init() {}

    /// Fills unset values from BACKSTOP_* variables (flags win; see `RunCommand`).
    public mutating func applyEnvironment(_ env: [String: String]) {
        if namespaces.isEmpty, let list = env["BACKSTOP_NAMESPACES"] { namespaces = Self.list(list) }
        if let value = env["BACKSTOP_LEADER_ELECT"] { leaderElect = value != "false" && value != "0" }
        if leaderElectionNamespace == nil { leaderElectionNamespace = env["BACKSTOP_LEADER_ELECTION_NAMESPACE"] }
        if identity == nil { identity = env["BACKSTOP_IDENTITY"] ?? env["POD_NAME"] }
        if let image = env["BACKSTOP_AGENT_IMAGE"], !image.isEmpty { agentImage = image }
    }

    /// Splits `a, b,,c` into `[a, b, c]`.
    public static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Parses `host:port` (the last colon separates, so `[::]:8080` works).
    public mutating func setMetricsAddress(_ address: String) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw OperatorError.invalidOption("--metrics-address must be host:port")
        }
        metricsHost = String(address[..<colon])
        metricsPort = port
    }
}

public enum OperatorError: Error, CustomStringConvertible {
    case invalidOption(String)
    case configuration(String)
    public var description: String {
        switch self {
        case .invalidOption(let m): m
        case .configuration(let m): "cannot load the cluster configuration: \(m)"
        }
    }
}

/// Prometheus is bootstrapped once per process (swift-metrics allows one bootstrap); the demo,
/// tests and `run` all share this registry.
public enum ProcessMetrics {
    public static let registry: PrometheusCollectorRegistry = RuntimeMetrics.bootstrapPrometheus()
}

/// The control plane: a KubeClient, a Manager with every Backstop controller, and the health /
/// metrics server, run as one ServiceGroup.
public final class OperatorProcess: Sendable {
    public let options: OperatorOptions
    public let config: KubeConfig
    public let client: KubeClient
    public let manager: Manager
    public let health: HealthServer
    public let identity: String
    private let logger: Logger

    /// Loads the cluster configuration from `options` (kubeconfig, in-cluster, ~/.kube/config).
    public convenience init(options: OperatorOptions, logger: Logger = Logger(label: "backstop")) throws {
        let config: KubeConfig
        do { config = try KubeConfig.load(kubeconfig: options.kubeconfig, context: options.context) } catch {
            throw OperatorError.configuration("\(error)")
        }
        try self.init(config: config, options: options, logger: logger)
    }

    public init(config: KubeConfig, options: OperatorOptions, logger: Logger = Logger(label: "backstop")) throws {
        self.options = options
        self.config = config
        self.logger = logger
        let registry = ProcessMetrics.registry
        client = try KubeClient(config: config, options: KubeClientOptions(qps: options.qps, burst: options.burst),
                                logger: Logger(label: "backstop.kube"))
        let identity = options.identity ?? LeaderElectionConfig.defaultIdentity()
        self.identity = identity
        let election = options.leaderElect ? LeaderElectionConfig(
            leaseName: options.leaderElectionID, namespace: options.leaderElectionNamespace ?? config.namespace,
            identity: identity, leaseDuration: options.leaseDuration, renewDeadline: options.renewDeadline,
            retryPeriod: options.retryPeriod) : nil
        let manager = Manager(client: client, options: ManagerOptions(
            namespaces: options.namespaces.isEmpty ? nil : options.namespaces, leaderElection: election, instance: identity),
            logger: logger)
        self.manager = manager
        let settings = ControllerSettings(agentImage: options.agentImage,
                                          operatorNamespace: options.leaderElectionNamespace ?? config.namespace,
                                          secretRecheckInterval: options.secretRecheckInterval,
                                          resultGracePeriod: options.resultGracePeriod)
        for registration in backstopControllers(settings) {
            try registration.setup(manager)
        }
        if options.testingConfigMapController { Self.registerTestingController(manager, identity: identity) }
        health = HealthServer(host: options.metricsHost, port: options.metricsPort, registry: registry,
                              objectGauges: manager.objectGauges, logger: logger) {
            manager.isReady
        }
    }

    /// The bound health/metrics port (waits until the server listens).
    public func metricsPort() async -> Int { await health.boundPort() }

    /// One ServiceGroup: health first, then informers, events, election and controllers.
    /// Without `handleSignals` (in-process use) cancel the calling task to stop.
    public func serviceGroup(handleSignals: Bool = true) -> ServiceGroup {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: health)]
        services += manager.services
        if let settle = options.pageOutAfterSync {
            let manager = self.manager
            services.append(.init(service: StartupPageOut(settle: settle, logger: logger) { manager.isReady },
                                  successTerminationBehavior: .ignore))
        }
        var groupConfig = ServiceGroupConfiguration(services: services,
                                                    gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                                                    cancellationSignals: [], logger: logger)
        groupConfig.maximumGracefulShutdownDuration = options.gracePeriod
        return ServiceGroup(configuration: groupConfig)
    }

    /// Runs until SIGTERM/SIGINT (when `handleSignals`) or cancellation stops the group.
    public func run(handleSignals: Bool = true) async throws {
        let watched = options.namespaces
        logger.info("starting", metadata: [
            "server": "\(config.server)", "namespaces": "\(watched.isEmpty ? "all" : watched.joined(separator: ","))",
            "leaderElection": "\(options.leaderElect)", "identity": "\(identity)", "agentImage": "\(options.agentImage)",
            "controllers": "\(manager.controllers.map(\.name).joined(separator: ","))"])
        try await serviceGroup(handleSignals: handleSignals).run()
        logger.info("stopped")
    }

    /// Test aid: annotates every ConfigMap labelled `backstop.dev/test=true` with the identity of
    /// the instance that reconciled it, so process-level tests can watch who leads.
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
