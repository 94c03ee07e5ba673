import Foundation
import Synchronization

/// Fault injection for deterministic retry, backoff and re-watch tests (§M, §R).
///
/// Rules match requests by method, path substring and verb-ish flags; each rule is one-shot
/// (`count`) or rate-based (`probability`). Added latency applies to every matching request.
public final class Faults: Sendable {
    public enum Failure: Sendable {
        /// 409 Conflict (stale resourceVersion wording).
        case conflict
        /// 429 with `Retry-After` and `details.retryAfterSeconds`.
        case tooManyRequests(retryAfter: Int)
        /// 500 InternalError.
        case internalError
        /// 503 ServiceUnavailable.
        case serviceUnavailable
        /// Any Status.
        case status(code: Int, reason: String, message: String)
    }

    /// Which requests a rule applies to (nil = any).
    public struct Match: Sendable {
        public var method: String?
        public var pathContains: String?
        /// True: only watches; false: never watches; nil: both.
        public var watch: Bool?
        public init(method: String? = nil, pathContains: String? = nil, watch: Bool? = nil) {
            self.method = method
            self.pathContains = pathContains
            self.watch = watch
        }
        func matches(_ req: APIRequest) -> Bool {
            if let method, method.uppercased() != req.method { return false }
            if let pathContains, !req.path.contains(pathContains) { return false }
            if let watch, watch != req.flag("watch") { return false }
            return true
        }
    }

    private struct Rule {
        var failure: Failure
        var match: Match
        var remaining: Int?
        var probability: Double?
    }

    private struct State {
        var rules: [Rule] = []
        var latency: [(Match, TimeInterval)] = []
    }

    private let state = Mutex(State())
    private let hooks: Mutex<Hooks?> = Mutex(nil)
    private let answered = Atomic<Int>(0)

    /// Requests answered with an injected failure since the simulator started (`clear()` keeps it).
    public var injectedCount: Int { answered.load(ordering: .relaxed) }

    struct Hooks: Sendable {
        var dropWatches: @Sendable () -> Void
        var compact: @Sendable () -> Void
        var restart: @Sendable () -> Void
    }

    init() {}

    func install(_ h: Hooks) { hooks.withLock { $0 = h } }

    /// Fails the next `count` matching requests.
    public func inject(_ failure: Failure, count: Int = 1, matching match: Match = Match()) {
        state.withLock { $0.rules.append(Rule(failure: failure, match: match, remaining: count, probability: nil)) }
    }

    /// Fails each matching request with the given probability until `clear()`.
    public func injectRate(_ failure: Failure, probability: Double, matching match: Match = Match()) {
        state.withLock { $0.rules.append(Rule(failure: failure, match: match, remaining: nil, probability: probability)) }
    }

    /// Adds latency to every matching request until `clear()`.
    public func addLatency(_ seconds: TimeInterval, matching match: Match = Match()) {
        state.withLock { $0.latency.append((match, seconds)) }
    }

    /// Removes all rules and latency.
    public func clear() { state.withLock { $0 = State() } }

    /// Ends every open watch stream (clients must re-watch).
    public func dropAllWatches() { hooks.withLock { $0 }?.dropWatches() }

    /// Compacts the watch history now, so watches and continue tokens from older RVs get 410.
    public func compactHistory() { hooks.withLock { $0 }?.compact() }

    /// Closes every client connection and watch, keeping the store and its resourceVersion.
    public func restart() { hooks.withLock { $0 }?.restart() }

    func check(_ req: APIRequest) -> (error: KubeAPIError?, delay: TimeInterval) {
        let verdict = decide(req)
        if verdict.error != nil { answered.add(1, ordering: .relaxed) }
        return verdict
    }

    private func decide(_ req: APIRequest) -> (error: KubeAPIError?, delay: TimeInterval) {
        state.withLock { s in
            let delay = s.latency.filter { $0.0.matches(req) }.map(\.1).reduce(0, +)
            for i in s.rules.indices where s.rules[i].match.matches(req) {
                if let p = s.rules[i].probability {
                    if Double.random(in: 0..<1) < p { return (Self.error(s.rules[i].failure), delay) }
                    continue
                }
                if let n = s.rules[i].remaining, n > 0 {
                    s.rules[i].remaining = n - 1
                    let e = Self.error(s.rules[i].failure)
                    if n - 1 == 0 { s.rules.remove(at: i) }
                    return (e, delay)
                }
            }
            return (nil, delay)
        }
    }

    static func error(_ f: Failure) -> KubeAPIError {
        switch f {
        case .conflict: return KubeAPIError(code: 409, reason: "Conflict",
                                            message: "Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again")
        case .tooManyRequests(let s): return .tooManyRequests(retryAfter: s)
        case .internalError: return .internalError("injected fault")
        case .serviceUnavailable: return .serviceUnavailable()
        case .status(let code, let reason, let message): return KubeAPIError(code: code, reason: reason, message: message)
        }
    }
}
