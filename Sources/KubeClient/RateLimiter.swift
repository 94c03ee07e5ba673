import Synchronization

/// A token bucket as a value: `qps` tokens per second, at most `burst` saved up. Time is passed
/// in, so the arithmetic is tested without sleeping. Reservations may drive the balance below
/// zero; each caller then waits for its own slot, first come first served.
public struct TokenBucket: Sendable {
    public let qps: Double
    public let burst: Int
    private var tokens: Double
    private var last: ContinuousClock.Instant

    public init(qps: Double, burst: Int, now: ContinuousClock.Instant) {
        precondition(qps > 0 && burst >= 1, "a token bucket needs qps > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        tokens = Double(burst)
        last = now
    }

    /// Takes one token and returns when its holder may proceed (`now` when one was available).
    public mutating func reserve(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        if now > last {
            tokens = min(Double(burst), tokens + (now - last).inSeconds * qps)
            last = now
        }
        tokens -= 1
        return tokens >= 0 ? last : last + .seconds(-tokens / qps)
    }

    /// Tokens available at `now` (negative when callers are already waiting).
    public func available(now: ContinuousClock.Instant) -> Double {
        guard now > last else { return tokens }
        return min(Double(burst), tokens + (now - last).inSeconds * qps)
    }
}

/// How urgent a request is for the client-side limiter. When requests queue for tokens, the
/// most urgent waiter is served first (FIFO within one priority), so a Job that a run-now asks
/// for is not stuck behind thousands of status writes after a restart — what API Priority and
/// Fairness does on the server, done in the client.
public enum RequestPriority: Int, Sendable, Comparable, CaseIterable {
    /// Events: useful, never urgent.
    case background
    /// Status writes: bookkeeping of what already happened.
    case bookkeeping
    /// Reads, watches and other writes.
    case normal
    /// Creating or deleting the children that do the work (Jobs), and the leader-election Lease.
    case urgent

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The priority of a request from its verb and path (`…/jobs`, `…/status`, `…/events`, `…/leases`).
    public static func of(verb: String, path: String) -> RequestPriority {
        let parts = path.split(separator: "/")
        if parts.contains("leases") { return .urgent }
        if parts.last == "status" { return .bookkeeping }
        if parts.contains("events") { return verb == "list" || verb == "watch" || verb == "get" ? .normal : .background }
        if parts.contains("jobs"), verb == "create" || verb == "delete" { return .urgent }
        return .normal
    }
}

/// The one client-side limiter of a process: every request of a `KubeClient` (and so of every
/// informer, controller and the leader elector sharing it) takes a token first. A request that
/// finds a token and nobody waiting goes at once; otherwise it queues by `RequestPriority`, and
/// one pump hands out tokens as the bucket refills, most urgent first. `pause(for:)` holds every
/// request back (a server-wide back-off signal); a single 429 only delays the throttled request
/// itself (see `KubeClient`).
public final class RequestRateLimiter: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var bucket: TokenBucket
        var notBefore: ContinuousClock.Instant
        var queues: [[Waiter]] = Array(repeating: [], count: RequestPriority.allCases.count)
        var nextID: UInt64 = 0
        var pumping = false
        var isEmpty: Bool { queues.allSatisfy(\.isEmpty) }

        /// Removes and returns the most urgent waiter.
        mutating func popMostUrgent() -> Waiter? {
            for p in queues.indices.reversed() where !queues[p].isEmpty { return queues[p].removeFirst() }
            return nil
        }
    }
    private let state: Mutex<State>
    public let qps: Double
    public let burst: Int

    public init(qps: Double = 20, burst: Int = 30) {
        let now = ContinuousClock.now
        self.qps = qps
        self.burst = burst
        state = Mutex(State(bucket: TokenBucket(qps: qps, burst: burst, now: now), notBefore: now))
    }

    /// Waits for a token (and for any server-requested pause to end). Throws only
    /// `CancellationError`.
    public func acquire(_ priority: RequestPriority = .normal) async throws {
        let id: UInt64? = state.withLock { s in
            let now = ContinuousClock.now
            if s.isEmpty, now >= s.notBefore, s.bucket.available(now: now) >= 1 {
                _ = s.bucket.reserve(now: now)
                return nil
            }
            s.nextID += 1
            return s.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let startPump = state.withLock { s in
                    s.queues[priority.rawValue].append(Waiter(id: id, continuation: c))
                    defer { s.pumping = true }
                    return !s.pumping
                }
                if startPump { Task { await self.pump() } }
            }
        } onCancel: {
            let removed: Waiter? = state.withLock { s in
                for p in s.queues.indices {
                    if let i = s.queues[p].firstIndex(where: { $0.id == id }) { return s.queues[p].remove(at: i) }
                }
                return nil
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Hands out tokens to the queued waiters, most urgent first, until none is left.
    private func pump() async {
        while true {
            let wait: ContinuousClock.Instant? = state.withLock { s in
                if s.isEmpty {
                    s.pumping = false
                    return nil
                }
                let now = ContinuousClock.now
                let start = max(now, s.notBefore)
                let short = 1 - s.bucket.available(now: start)
                return short <= 0 ? start : start + .seconds(short / s.bucket.qps)
            }
            guard let wait else { return }
            if wait > .now { try? await Task.sleep(until: wait, clock: .continuous) }
            let next: Waiter? = state.withLock { s in
                let now = ContinuousClock.now
                guard now >= s.notBefore, s.bucket.available(now: now) >= 1 - 1e-9 else { return nil }
                guard let waiter = s.popMostUrgent() else { return nil }
                _ = s.bucket.reserve(now: now)
                return waiter
            }
            next?.continuation.resume()
        }
    }

    /// No request leaves before `delay` has passed.
    public func pause(for delay: Duration) {
        let until = ContinuousClock.now + delay
        state.withLock { s in s.notBefore = max(s.notBefore, until) }
    }

    /// Tokens available right now (for metrics and tests).
    public var available: Double { state.withLock { $0.bucket.available(now: .now) } }

    /// Requests waiting for a token, by priority (for metrics and tests).
    public var waiting: [RequestPriority: Int] {
        state.withLock { s in Dictionary(uniqueKeysWithValues: RequestPriority.allCases.map { ($0, s.queues[$0.rawValue].count) }) }
    }
}
