/// Exponential backoff with jitter, shared by request retries, re-watches and the work queue.
public struct Backoff: Sendable, Hashable {
    /// Delay before the first retry (attempt 0).
    public var initial: Duration
    /// No delay exceeds this, jitter included.
    public var maximum: Duration
    public var multiplier: Double
    /// Each delay is stretched by a random factor in `1 ... 1 + jitter`, so that many clients
    /// failing together do not retry together.
    public var jitter: Double

    public init(initial: Duration, maximum: Duration, multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// Retries of idempotent requests: 100 ms, 200 ms, … up to 5 s.
    public static let requests = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
    /// Re-watch and re-list after failures: 200 ms … 30 s.
    public static let watch = Backoff(initial: .milliseconds(200), maximum: .seconds(30))
    /// Per-item work queue backoff: 5 ms … 1000 s.
    public static let workItem = Backoff(initial: .milliseconds(5), maximum: .seconds(1000), jitter: 0.1)

    /// The delay before retry number `attempt` (0-based), with jitter drawn from `random`.
    public func delay(attempt: Int, random: Double = Double.random(in: 0...1)) -> Duration {
        let base = initial.inSeconds * pow2(multiplier, max(0, attempt))
        let jittered = base * (1 + jitter * min(max(random, 0), 1))
        return .seconds(min(jittered, maximum.inSeconds))
    }

    /// The delay without jitter (the lower bound of `delay(attempt:)`).
    public func baseDelay(attempt: Int) -> Duration {
        .seconds(min(initial.inSeconds * pow2(multiplier, max(0, attempt)), maximum.inSeconds))
    }

    private func pow2(_ base: Double, _ exponent: Int) -> Double {
        // Capped so that a huge attempt count cannot overflow to infinity or NaN.
        var result = 1.0
        for _ in 0..<min(exponent, 200) {
            result *= base
            if result > 1e12 { break }
        }
        return result
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    package var inSeconds: Double {
        let (s, attos) = components
        return Double(s) + Double(attos) / 1e18
    }
}
