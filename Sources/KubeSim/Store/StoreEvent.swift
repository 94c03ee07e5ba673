import DynamicJSON
import Synchronization

/// One change to a stored object, as the watch history and subscribers see it.
/// Objects are in storage form (the storage apiVersion).
public struct StoreEvent: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK"
    }
    public var type: Kind
    public var resource: GroupResource
    /// The object as of `resourceVersion` (the last state for DELETED; empty for BOOKMARK).
    public var object: JSONValue
    /// The previous state (MODIFIED only), used for selector transitions.
    public var oldObject: JSONValue?
    public var resourceVersion: Int64
    /// Set on the bookmark that ends `sendInitialEvents`.
    var initialEventsEnd = false
    /// Watch lines already encoded for this event, shared by all copies of it.
    let encodings = EventEncodings()

    var namespace: String { object["metadata"]?["namespace"]?.stringValue ?? "" }
}

/// Encoded watch lines of one event by type and served version (a few entries at most).
final class EventEncodings: Sendable {
    private let lines = Mutex<[String: [UInt8]]>([:])
    func get(_ key: String) -> [UInt8]? { lines.withLock { $0[key] } }
    func set(_ key: String, _ line: [UInt8]) { lines.withLock { $0[key] = line } }
}

/// A registered watcher: events are filtered under the store lock and handed to `deliver`,
/// which must not block (it hops to an event loop or yields into an AsyncStream).
final class Subscriber: Sendable {
    let id: Int
    let resource: GroupResource?
    let namespace: String?
    let matches: @Sendable (JSONValue) -> Bool
    let deliver: @Sendable (StoreEvent) -> Void
    let terminate: @Sendable () -> Void
    /// Controllers' subscriptions survive "drop all watches".
    let isInternal: Bool

    init(id: Int, resource: GroupResource?, namespace: String?, matches: @escaping @Sendable (JSONValue) -> Bool,
         deliver: @escaping @Sendable (StoreEvent) -> Void, terminate: @escaping @Sendable () -> Void,
         isInternal: Bool = false)
    {
        self.isInternal = isInternal
        self.id = id
        self.resource = resource
        self.namespace = namespace
        self.matches = matches
        self.deliver = deliver
        self.terminate = terminate
    }

    /// The event this subscriber should see for `event`, applying the watch cache's
    /// selector transitions (stops matching → DELETED, starts matching → ADDED).
    func view(of event: StoreEvent) -> StoreEvent? {
        if let resource, resource != event.resource { return nil }
        if event.type == .bookmark { return event }
        if let namespace, !namespace.isEmpty, event.namespace != namespace { return nil }
        let now = matches(event.object)
        switch event.type {
        case .added, .deleted, .bookmark:
            return now ? event : nil
        case .modified:
            let before = event.oldObject.map(matches) ?? true
            switch (before, now) {
            case (true, true): return event
            case (false, true):
                var e = event
                e.type = .added
                return e
            case (true, false):
                var e = event
                e.type = .deleted
                return e
            case (false, false): return nil
            }
        }
    }
}

/// A bounded ring of past events, oldest first.
struct EventHistory: Sendable {
    private var buffer: [StoreEvent] = []
    private var head = 0
    private(set) var capacity: Int
    /// Events with a resourceVersion at or below this are gone.
    private(set) var compactedThrough: Int64

    init(capacity: Int, startRV: Int64) {
        self.capacity = Swift.max(1, capacity)
        self.compactedThrough = startRV
    }

    var count: Int { buffer.count }

    mutating func append(_ event: StoreEvent) {
        if buffer.count < capacity {
            buffer.append(event)
        } else {
            compactedThrough = buffer[head].resourceVersion
            buffer[head] = event
            head = (head + 1) % capacity
        }
    }

    /// Drops everything up to and including `rv` (the "compact history now" hook).
    mutating func compact(through rv: Int64) {
        let kept = Array(self).filter { $0.resourceVersion > rv }
        buffer = kept
        head = 0
        compactedThrough = Swift.max(compactedThrough, rv)
    }

    /// Events newer than `rv`, oldest first.
    func since(_ rv: Int64) -> [StoreEvent] {
        Array(self).filter { $0.resourceVersion > rv }
    }
}

extension EventHistory: Sequence {
    func makeIterator() -> IndexingIterator<[StoreEvent]> {
        if head == 0 { return buffer.makeIterator() }
        return (Array(buffer[head...]) + Array(buffer[..<head])).makeIterator()
    }
}
