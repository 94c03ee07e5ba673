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

/// The one client-side limiter of a process: every request of a `KubeClient` (and so of every
/// informer, controller and the leader elector sharing it) takes a token first. `pause(for:)`
/// holds every request back (for a server-wide back-off signal); a single 429 only delays the
/// throttled request itself (see `KubeClient`).
public final class RequestRateLimiter: Sendable {
    private struct State {
        var bucket: TokenBucket
        var notBefore: ContinuousClock.Instant
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
    public func acquire() async throws {
        let now = ContinuousClock.now
        let at = state.withLock { s in
            // A request waiting out a Retry-After pause takes its token at the end of the pause,
            // so the burst is not spent all at once afterwards.
            s.bucket.reserve(now: max(now, s.notBefore))
        }
        if at > now { try await Task.sleep(until: at, clock: .continuous) }
    }

    /// No request leaves before `delay` has passed.
    public func pause(for delay: Duration) {
        let until = ContinuousClock.now + delay
        state.withLock { s in s.notBefore = max(s.notBefore, until) }
    }

    /// Tokens available right now (for metrics and tests).
    public var available: Double { state.withLock { $0.bucket.available(now: .now) } }
}
