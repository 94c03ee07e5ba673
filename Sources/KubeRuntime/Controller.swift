import KubeClient
import KubeModel
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// What a reconcile asks for next.
public enum ReconcileResult: Sendable, Equatable {
    /// Converged; nothing to do until something changes.
    case done
    /// Look again after this long (e.g. the next cron slot); resets the error backoff.
    case requeue(after: Duration)
}

/// Throw from a reconcile for a failure that retrying cannot fix (bad spec, missing
/// permission to a resource the user named): logged, counted, and not retried until the object
/// changes again.
public struct TerminalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Passed to each reconcile.
public struct ReconcileContext: Sendable {
    public var controller: String
    public var logger: Logger
    /// Consecutive failed attempts for this key before this one.
    public var failures: Int
}

public typealias ReconcileFunction = @Sendable (ObjectKey, ReconcileContext) async throws -> ReconcileResult

/// Runs a reconcile function over keys from a `WorkQueue` with N workers, only while
/// `leadership` says this process leads (always, without leader election). Informer events
/// enqueue keys (`watches`); results and errors decide requeues. On graceful shutdown it stops
/// taking keys and lets in-flight reconciles finish (the ServiceGroup's graceful-shutdown
/// timeout bounds that). Losing leadership cancels in-flight reconciles at once. A `Service`.
public final class Controller: Service, Sendable {
    public let name: String
    public let workers: Int
    public let queue: WorkQueue<ObjectKey>
    private let reconcile: ReconcileFunction
    private let logger: Logger
    private let metrics: ReconcileMetrics
    private let gate = Mutex<Leadership>(Leadership.alwaysLeading())
    /// Closures returning every key of a primary kind, enqueued when leadership starts.
    private let resyncSources = Mutex<[@Sendable () -> [ObjectKey]]>([])
    private let syncWaits = Mutex<[@Sendable () async -> Void]>([])

    public init(name: String, workers: Int = 1, logger: Logger, metricsFactory: (any MetricsFactory)? = nil,
                reconcile: @escaping ReconcileFunction) {
        self.name = name
        self.workers = max(1, workers)
        self.reconcile = reconcile
        var logger = logger
        logger[metadataKey: "controller"] = "\(name)"
        self.logger = logger
        let factory = metricsFactory ?? MetricsSystem.factory
        queue = WorkQueue(WorkQueue.Options(name: name), metricsFactory: factory)
        metrics = ReconcileMetrics(controller: name, factory: factory)
    }

    /// Run only while `leadership` is `.leading`. Set before `run`.
    public func runWhileLeading(_ leadership: Leadership) { gate.withLock { $0 = leadership } }

    /// The primary kind: every change of an object enqueues its own key.
    public func watches<R: KubeResource>(_ informer: Informer<R>) {
        informer.addHandler { [queue] event in queue.add(event.key) }
        resyncSources.withLock { $0.append { informer.cache.keys + informer.cache.undecodableKeys } }
        syncWaits.withLock { $0.append { await informer.waitUntilSynced() } }
    }

    /// The primary kind, for the objects `relevant` accepts: a change enqueues its key when the
    /// old or the new version is relevant, and becoming leader enqueues only relevant keys. For a
    /// controller that acts on a few objects of a shared kind (scheduled drills of 10,000
    /// policies), so that the others cost it no reconcile and take no CPU from the hot path.
    public func watches<R: KubeResource>(_ informer: Informer<R>, where relevant: @escaping @Sendable (R) -> Bool) {
        watches(informer) { object in relevant(object) ? [ObjectKey(object)] : [] }
        resyncSources.withLock { $0.append { informer.cache.list().filter(relevant).map { ObjectKey($0) } } }
    }

    /// A related kind: each change enqueues the keys `map` returns (e.g. the owner's key).
    public func watches<R: KubeResource>(_ informer: Informer<R>, map: @escaping @Sendable (R) -> [ObjectKey]) {
        informer.addHandler { [queue] event in
            switch event {
            case .added(let o), .deleted(let o): for key in map(o) { queue.add(key) }
            case .updated(let old, let new): for key in Set(map(old) + map(new)) { queue.add(key) }
            case .undecodable: break
            }
        }
        syncWaits.withLock { $0.append { await informer.waitUntilSynced() } }
    }

    /// A kind the reconciler only reads from the cache (changes enqueue nothing): workers still
    /// wait for its first list, so a not-yet-synced cache never reads as "the object is gone".
    public func reads<R: KubeResource>(_ informer: Informer<R>) {
        syncWaits.withLock { $0.append { await informer.waitUntilSynced() } }
    }

    /// Children: each change enqueues the key of the controlling owner of `ownerKind`.
    public func watchesOwned<R: KubeResource>(_ informer: Informer<R>, ownerKind: String) {
        watches(informer) { object in
            (object.metadata.ownerReferences ?? [])
                .filter { $0.kind == ownerKind && ($0.controller ?? false) }
                .map { ObjectKey(namespace: object.metadata.namespace, name: $0.name) }
        }
    }

    public func run() async throws {
        let leadership = gate.withLock { $0 }
        // A kind that never lists (CRDs not installed) must not keep a SIGTERM waiting.
        let waits = syncWaits.withLock { $0 }
        await cancelWhenGracefulShutdown { for wait in waits { await wait() } }
        var running: Task<Void, Never>?
        for await state in leadership.changes().cancelOnGracefulShutdown() {
            if state == .leading, running == nil {
                for source in resyncSources.withLock({ $0 }) { for key in source() { queue.add(key) } }
                logger.info("starting workers", metadata: ["workers": "\(workers)"])
                running = Task { await self.runWorkers() }
            } else if state != .leading, let task = running {
                logger.warning("not leading any more; stopping workers")
                task.cancel()
                await task.value
                running = nil
            }
        }
        // Graceful shutdown (or cancellation): take no new keys, let in-flight ones finish.
        queue.shutDown()
        await withTaskCancellationHandler {
            await running?.value
        } onCancel: { [running] in
            running?.cancel()
        }
        logger.info("stopped")
    }

    private func runWorkers() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers { group.addTask { await self.worker() } }
        }
    }

    private func worker() async {
        while let key = await queue.get() {
            await process(key)
            queue.done(key)
        }
    }

    private func process(_ key: ObjectKey) async {
        var logger = self.logger
        logger[metadataKey: "key"] = "\(key)"
        let context = ReconcileContext(controller: name, logger: logger, failures: queue.failures(key))
        let started = ContinuousClock.now
        let outcome: String
        do {
            let result = try await reconcile(key, context)
            queue.forget(key)
            switch result {
            case .done:
                outcome = "success"
            case .requeue(let after):
                outcome = "requeue"
                queue.add(key, after: after)
            }
        } catch let error as TerminalError {
            outcome = "terminal"
            queue.forget(key)
            logger.error("reconcile failed permanently; not retrying", metadata: ["error": "\(error)"])
        } catch {
            if Task.isCancelled {
                // Leadership lost or shutdown mid-reconcile: try again when we lead next.
                outcome = "cancelled"
                queue.add(key)
            } else if (error as? KubeError)?.isConflict == true {
                // Optimistic concurrency at work (the cache was behind a write): expected, not a warning.
                outcome = "conflict"
                queue.addRateLimited(key)
                logger.debug("write conflict; retrying from the updated cache", metadata: ["error": "\(error)"])
            } else {
                outcome = "error"
                queue.addRateLimited(key)
                logger.warning("reconcile failed; retrying with backoff", metadata: [
                    "error": "\(error)", "failures": "\(context.failures + 1)"])
            }
        }
        metrics.record(outcome: outcome, duration: ContinuousClock.now - started)
    }
}

struct ReconcileMetrics: Sendable {
    let controller: String
    let factory: any MetricsFactory
    let duration: Metrics.Timer
    let errors: Counter

    init(controller: String, factory: any MetricsFactory) {
        self.controller = controller
        self.factory = factory
        duration = Metrics.Timer(label: "backstop_reconcile_duration_seconds", dimensions: [("controller", controller)], factory: factory)
        errors = Counter(label: "backstop_reconcile_errors_total", dimensions: [("controller", controller)], factory: factory)
    }

    func record(outcome: String, duration elapsed: Duration) {
        Counter(label: "backstop_reconcile_total", dimensions: [("controller", controller), ("result", outcome)], factory: factory)
            .increment()
        if outcome == "error" || outcome == "terminal" { errors.increment() }
        duration.recordNanoseconds(Int64(elapsed.inSeconds * 1e9))
    }
}
