import CoreMetrics
import Synchronization

/// Who leads, as this process knows it. Controllers run while `state == .leading`.
public final class Leadership: Sendable {
    public enum State: Sendable, Equatable {
        /// Not yet known (no Lease read yet).
        case unknown
        case leading
        /// Another holder (nil: none, or unknown after losing the lease).
        case following(holder: String?)
    }

    private struct Box {
        var state: State
        var subscribers: [UInt64: AsyncStream<State>.Continuation] = [:]
        var next: UInt64 = 0
    }
    private let box: Mutex<Box>
    /// `backstop_leader_is_leader`: 1 while leading (what a NoLeader alert sums over replicas).
    private let gauge = Mutex<Gauge?>(nil)

    public init(_ initial: State = .unknown) { box = Mutex(Box(state: initial)) }

    /// Leadership that is always `.leading` (leader election off).
    public static func alwaysLeading() -> Leadership { Leadership(.leading) }

    public var state: State { box.withLock { $0.state } }
    public var isLeading: Bool { state == .leading }
    /// Leading or following: the readiness probe's "leadership known".
    public var isKnown: Bool { state != .unknown }

    /// Reports this process's leadership as `backstop_leader_is_leader` (1 leading, 0 otherwise).
    public func exportMetric(factory: any MetricsFactory) {
        let g = Gauge(label: "backstop_leader_is_leader", dimensions: [], factory: factory)
        gauge.withLock { $0 = g }
        g.record(isLeading ? 1 : 0)
    }

    public func set(_ state: State) {
        let subscribers = box.withLock { b -> [AsyncStream<State>.Continuation] in
            guard b.state != state else { return [] }
            b.state = state
            return Array(b.subscribers.values)
        }
        for s in subscribers { s.yield(state) }
        gauge.withLock { $0 }?.record(state == .leading ? 1 : 0)
    }

    /// The current state, then every change (the latest wins when the reader is slow).
    public func changes() -> AsyncStream<State> {
        let (stream, continuation) = AsyncStream<State>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = box.withLock { b -> UInt64 in
            b.next += 1
            b.subscribers[b.next] = continuation
            continuation.yield(b.state)
            return b.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.box.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }
}
