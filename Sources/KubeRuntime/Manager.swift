import KubeClient
import KubeModel
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Options of a `Manager` (what `backstop run` sets from flags).
public struct ManagerOptions: Sendable {
    /// Namespaces to watch; nil means all.
    public var namespaces: [String]?
    /// nil turns leader election off (this process always leads).
    public var leaderElection: LeaderElectionConfig?
    /// Event source component.
    public var component: String
    /// Instance name for events (defaults to the leader-election identity).
    public var instance: String?

    public init(namespaces: [String]? = nil, leaderElection: LeaderElectionConfig? = nil, component: String = "backstop",
                instance: String? = nil) {
        self.namespaces = namespaces
        self.leaderElection = leaderElection
        self.component = component
        self.instance = instance
    }
}

/// A controller the Controllers module contributes to `backstop run`: `setup` creates
/// informers and a `Controller` through the manager.
public struct ControllerRegistration: Sendable {
    public var name: String
    public var setup: @Sendable (Manager) throws -> Void
    public init(name: String, setup: @escaping @Sendable (Manager) throws -> Void) {
        self.name = name
        self.setup = setup
    }
}

/// Owns the shared pieces of the control plane: one client, one informer per watched kind,
/// the controllers, the event recorder and the leader elector. Set up everything, then run
/// `services` in one `ServiceGroup`.
public final class Manager: Sendable {
    public let client: KubeClient
    public let options: ManagerOptions
    public let logger: Logger
    public let recorder: EventRecorder
    public let leadership: Leadership
    public let elector: LeaderElector?
    public let metricsFactory: any MetricsFactory
    /// Per-object gauges (one series per policy), served at `/metrics` beside the factory's registry.
    public let objectGauges: ObjectGauges
    private struct Registry {
        var informers: [String: any Service] = [:]
        var informerOrder: [String] = []
        var syncChecks: [@Sendable () -> Bool] = []
        var controllers: [Controller] = []
    }
    private let registry = Mutex(Registry())

    public init(client: KubeClient, options: ManagerOptions = .init(), logger: Logger? = nil,
                metricsFactory: (any MetricsFactory)? = nil, objectGauges: ObjectGauges = ObjectGauges()) {
        self.client = client
        self.objectGauges = objectGauges
        self.options = options
        self.logger = logger ?? client.logger
        self.metricsFactory = metricsFactory ?? MetricsSystem.factory
        if let election = options.leaderElection {
            let elector = LeaderElector(client: client, config: election, logger: self.logger)
            self.elector = elector
            leadership = elector.leadership
        } else {
            elector = nil
            leadership = .alwaysLeading()
        }
        leadership.exportMetric(factory: self.metricsFactory)
        recorder = EventRecorder(client: client, component: options.component,
                                 instance: options.instance ?? options.leaderElection?.identity ?? LeaderElectionConfig.defaultIdentity(),
                                 logger: self.logger)
    }

    /// The shared informer of `R` (one per type and selector), watching the manager's namespaces.
    public func informer<R: KubeResource>(_ type: R.Type, labelSelector: String? = nil) -> Informer<R> {
        let key = "\(R.resourceType.qualifiedPlural)?\(labelSelector ?? "")"
        return registry.withLock { r in
            if let existing = r.informers[key] as? Informer<R> { return existing }
            let informer = Informer<R>(client: client, namespaces: options.namespaces, labelSelector: labelSelector, logger: logger)
            r.informers[key] = informer
            r.informerOrder.append(key)
            r.syncChecks.append { informer.hasSynced }
            return informer
        }
    }

    /// Creates and registers a controller that runs while this process leads.
    public func controller(name: String, workers: Int = 1, reconcile: @escaping ReconcileFunction) -> Controller {
        let controller = Controller(name: name, workers: workers, logger: logger, metricsFactory: metricsFactory, reconcile: reconcile)
        add(controller)
        return controller
    }

    public func add(_ controller: Controller) {
        controller.runWhileLeading(leadership)
        registry.withLock { $0.controllers.append(controller) }
    }

    /// Ready: every informer listed at least once and leadership known.
    public var isReady: Bool {
        let checks = registry.withLock { $0.syncChecks }
        return leadership.isKnown && checks.allSatisfy { $0() }
    }

    /// Services in start order. ServiceGroup stops them in reverse: controllers drain first,
    /// then the Lease is released, then events are flushed and watches closed.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        let r = registry.withLock { $0 }
        var list: [ServiceGroupConfiguration.ServiceConfiguration] = []
        for key in r.informerOrder { list.append(.init(service: r.informers[key]!)) }
        list.append(.init(service: recorder))
        if let elector { list.append(.init(service: elector)) }
        for controller in r.controllers { list.append(.init(service: controller)) }
        return list
    }

    public var controllers: [Controller] { registry.withLock { $0.controllers } }
}
