import KubeClient
import Metrics
import Synchronization

/// A queue of keys for reconcilers, with client-go's workqueue guarantees:
/// - a key waiting in the queue is held once however often it is added (dedupe);
/// - a key is never handed to two workers at once: re-added while processing, it is handed
///   out again only after `done`;
/// - `add(_:after:)` delays (the earliest pending delay of a key wins);
/// - `addRateLimited` retries with per-key exponential backoff (5 ms → 1000 s with jitter)
///   combined with an overall token bucket, and `forget` resets a key's backoff;
/// - `shutDown` stops handing out work; `waitUntilIdle` waits for in-flight keys to be done.
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
    public struct Options: Sendable {
        public var name: String
        public var itemBackoff: Backoff
        /// The overall limit on rate-limited re-adds (client-go: 10 qps, burst 100).
        public var overallQPS: Double
        public var overallBurst: Int
        public init(name: String, itemBackoff: Backoff = .workItem, overallQPS: Double = 10, overallBurst: Int = 100) {
            self.name = name
            self.itemBackoff = itemBackoff
            self.overallQPS = overallQPS
            self.overallBurst = overallBurst
        }
    }

    private struct Delayed: Comparable {
        var at: ContinuousClock.Instant
        var seq: UInt64
        var key: Key
        static func < (a: Delayed, b: Delayed) -> Bool { (a.at, a.seq) < (b.at, b.seq) }
        static func == (a: Delayed, b: Delayed) -> Bool { a.at == b.at && a.seq == b.seq }
    }

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Key?, Never>
    }

    private struct State {
        var queue: [Key] = []
        var head = 0
        var dirty: Set<Key> = []
        var processing: Set<Key> = []
        var enqueuedAt: [Key: ContinuousClock.Instant] = [:]
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
        var delayed = MinHeap<Delayed>()
        var delayedUntil: [Key: ContinuousClock.Instant] = [:]
        var delayLoopRunning = false
        var sleeper: Task<Void, Never>?
        var sleeperDeadline: ContinuousClock.Instant?
        var failures: [Key: Int] = [:]
        var bucket: TokenBucket
        var shuttingDown = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []

        var depth: Int { queue.count - head }

        mutating func popFront() -> Key? {
            guard head < queue.count else { return nil }
            let key = queue[head]
            head += 1
            if head > 1024, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return key
        }
    }

    public let options: Options
    private let state: Mutex<State>
    private let metrics: QueueMetrics

    public init(_ options: Options, metricsFactory: (any MetricsFactory)? = nil) {
        self.options = options
        state = Mutex(State(bucket: TokenBucket(qps: options.overallQPS, burst: options.overallBurst, now: .now)))
        metrics = QueueMetrics(name: options.name, factory: metricsFactory ?? MetricsSystem.factory)
    }

    public convenience init(name: String) { self.init(Options(name: name)) }

    // MARK: Adding

    /// Queues `key` now (no-op when it is already waiting, or after shutdown).
    public func add(_ key: Key) {
        let handoff = state.withLock { s in addLocked(&s, key, now: .now) }
        handoff?.resume()
    }

    /// Queues `key` after `delay`. A key already waiting for an earlier time keeps that time.
    public func add(_ key: Key, after delay: Duration) {
        guard delay > .zero else { return add(key) }
        let startLoop = state.withLock { s -> Bool in
            guard !s.shuttingDown else { return false }
            let at = ContinuousClock.now + delay
            if let existing = s.delayedUntil[key], existing <= at { return false }
            s.delayedUntil[key] = at
            s.nextID += 1
            s.delayed.insert(Delayed(at: at, seq: s.nextID, key: key))
            if !s.delayLoopRunning {
                s.delayLoopRunning = true
                return true
            }
            if s.sleeperDeadline.map({ at < $0 }) ?? true { s.sleeper?.cancel() }
            return false
        }
        if startLoop { Task { await self.delayLoop() } }
    }

    /// Queues `key` after its backoff: 5 ms doubled per consecutive failure up to 1000 s, with
    /// jitter, and never faster than the overall bucket allows.
    public func addRateLimited(_ key: Key) {
        let delay = state.withLock { s -> Duration in
            let now = ContinuousClock.now
            let failures = s.failures[key, default: 0]
            s.failures[key] = failures + 1
            let itemDelay = options.itemBackoff.delay(attempt: failures)
            let bucketDelay = s.bucket.reserve(now: now) - now
            return max(itemDelay, bucketDelay)
        }
        metrics.retries.increment()
        add(key, after: delay)
    }

    /// Resets the backoff of `key` (after a success).
    public func forget(_ key: Key) { state.withLock { _ = $0.failures.removeValue(forKey: key) } }

    /// Consecutive rate-limited re-adds of `key` since the last `forget`.
    public func failures(_ key: Key) -> Int { state.withLock { $0.failures[key, default: 0] } }

    // MARK: Taking

    /// The next key, waiting while the queue is empty. Returns nil after `shutDown` or when the
    /// calling task is cancelled. Call `done` when finished with the key.
    public func get() async -> Key? {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Key?, Never>) in
                let immediate: Key?? = state.withLock { s in
                    if Task.isCancelled || s.shuttingDown { return .some(nil) }
                    if let key = s.popFront() { return .some(takeLocked(&s, key)) }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                guard let index = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
    }

    /// Marks `key` finished; if it was re-added meanwhile it is queued again now.
    public func done(_ key: Key) {
        let (handoff, idle) = state.withLock { s -> (Handoff?, [CheckedContinuation<Void, Never>]) in
            s.processing.remove(key)
            var handoff: Handoff?
            if s.dirty.contains(key), !s.shuttingDown {
                handoff = enqueueLocked(&s, key)
            }
            var idle: [CheckedContinuation<Void, Never>] = []
            if s.processing.isEmpty {
                idle = s.idleWaiters
                s.idleWaiters = []
            }
            return (handoff, idle)
        }
        handoff?.resume()
        for waiter in idle { waiter.resume() }
    }

    // MARK: Shutdown

    /// Stops handing out keys: waiting and future `get` calls return nil. Keys being processed
    /// may still be `done`; nothing is queued any more.
    public func shutDown() {
        let (waiters, sleeper, idle) = state.withLock { s in
            s.shuttingDown = true
            let waiters = s.waiters
            s.waiters = []
            s.delayed.removeAll()
            s.delayedUntil = [:]
            var idle: [CheckedContinuation<Void, Never>] = []
            if s.processing.isEmpty {
                idle = s.idleWaiters
                s.idleWaiters = []
            }
            return (waiters, s.sleeper, idle)
        }
        sleeper?.cancel()
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
        for waiter in idle { waiter.resume() }
        metrics.depth.record(0)
    }

    public var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Returns once no key is being processed.
    public func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { s -> Bool in
                if s.processing.isEmpty { return true }
                s.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    // MARK: Introspection

    /// Keys waiting to be handed out (not counting delayed or in-flight keys).
    public var depth: Int { state.withLock { $0.depth } }
    public var processingCount: Int { state.withLock { $0.processing.count } }
    public var delayedCount: Int { state.withLock { $0.delayedUntil.count } }
    public func isProcessing(_ key: Key) -> Bool { state.withLock { $0.processing.contains(key) } }

    // MARK: Internals

    /// A key handed straight to a waiting worker; resumed outside the lock.
    private struct Handoff {
        var continuation: CheckedContinuation<Key?, Never>
        var key: Key
        func resume() { continuation.resume(returning: key) }
    }

    private func addLocked(_ s: inout State, _ key: Key, now: ContinuousClock.Instant) -> Handoff? {
        guard !s.shuttingDown, !s.dirty.contains(key) else { return nil }
        s.dirty.insert(key)
        s.enqueuedAt[key] = now
        metrics.adds.increment()
        if s.processing.contains(key) { return nil }
        return enqueueLocked(&s, key)
    }

    private func enqueueLocked(_ s: inout State, _ key: Key) -> Handoff? {
        if !s.waiters.isEmpty {
            let waiter = s.waiters.removeFirst()
            return Handoff(continuation: waiter.continuation, key: takeLocked(&s, key))
        }
        s.queue.append(key)
        metrics.depth.record(s.depth)
        return nil
    }

    private func takeLocked(_ s: inout State, _ key: Key) -> Key {
        s.dirty.remove(key)
        s.processing.insert(key)
        if let at = s.enqueuedAt.removeValue(forKey: key) {
            metrics.latency.recordNanoseconds(Int64((ContinuousClock.now - at).inSeconds * 1e9))
        }
        metrics.depth.record(s.depth)
        return key
    }

    /// Moves due delayed keys into the queue; sleeps until the next deadline or an earlier add.
    /// Exits when nothing is delayed (a later delayed add starts it again).
    private func delayLoop() async {
        while true {
            let (handoffs, sleeper) = state.withLock { s -> ([Handoff], Task<Void, Never>?) in
                let now = ContinuousClock.now
                var handoffs: [Handoff] = []
                while let top = s.delayed.min, top.at <= now {
                    s.delayed.popMin()
                    guard s.delayedUntil[top.key] == top.at else { continue }
                    s.delayedUntil[top.key] = nil
                    if let h = addLocked(&s, top.key, now: now) { handoffs.append(h) }
                }
                guard !s.shuttingDown, let next = s.delayed.min?.at else {
                    s.delayLoopRunning = false
                    s.sleeper = nil
                    s.sleeperDeadline = nil
                    return (handoffs, nil)
                }
                let sleeper = Task { _ = try? await Task.sleep(until: next, clock: .continuous) }
                s.sleeper = sleeper
                s.sleeperDeadline = next
                return (handoffs, sleeper)
            }
            for h in handoffs { h.resume() }
            guard let sleeper else { return }
            await sleeper.value
        }
    }
}

struct QueueMetrics: Sendable {
    let depth: Gauge
    let adds: Counter
    let retries: Counter
    let latency: Metrics.Timer

    init(name: String, factory: any MetricsFactory) {
        depth = Gauge(label: "backstop_workqueue_depth", dimensions: [("name", name)], factory: factory)
        adds = Counter(label: "backstop_workqueue_adds_total", dimensions: [("name", name)], factory: factory)
        retries = Counter(label: "backstop_workqueue_retries_total", dimensions: [("name", name)], factory: factory)
        latency = Metrics.Timer(label: "backstop_workqueue_queue_duration_seconds", dimensions: [("name", name)], factory: factory)
    }
}
