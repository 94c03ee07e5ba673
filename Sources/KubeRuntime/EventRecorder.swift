import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

/// Repeat detection for events, without I/O: the same (object, type, reason, message) seen
/// again becomes a count bump on the existing Event instead of a new one.
struct EventAggregator {
    struct Key: Hashable {
        var uid: String
        var kind: String
        var namespace: String
        var name: String
        var type: String
        var reason: String
        var message: String
    }
    struct Entry {
        var eventName: String
        var namespace: String
        var count: Int
        var firstTimestamp: Time
    }
    enum Action: Equatable {
        case create(name: String, namespace: String)
        case bump(name: String, namespace: String, count: Int, firstTimestamp: Time)
    }

    let capacity: Int
    private(set) var entries: [Key: Entry] = [:]
    private var order: [Key] = []

    init(capacity: Int = 4096) { self.capacity = capacity }

    mutating func record(_ key: Key, now: Time, makeName: () -> String) -> Action {
        if var entry = entries[key] {
            entry.count += 1
            entries[key] = entry
            return .bump(name: entry.eventName, namespace: entry.namespace, count: entry.count, firstTimestamp: entry.firstTimestamp)
        }
        let name = makeName()
        let namespace = key.namespace.isEmpty ? "default" : key.namespace
        entries[key] = Entry(eventName: name, namespace: namespace, count: 1, firstTimestamp: now)
        order.append(key)
        if order.count > capacity {
            let evicted = order.removeFirst()
            entries[evicted] = nil
        }
        return .create(name: name, namespace: namespace)
    }

    /// The Event vanished (expired by TTL): the next repeat starts a new one.
    mutating func forget(_ key: Key) { entries[key] = nil }
}

public enum EventType: String, Sendable { case normal = "Normal", warning = "Warning" }

/// Writes core/v1 Events about objects, aggregating repeats into `count`/`lastTimestamp` as
/// kubectl describe shows them. `record` never blocks or throws: events are queued (bounded;
/// overflow is dropped and logged) and written by `run`. A `Service`.
public final class EventRecorder: Service, Sendable {
    private struct Pending: Sendable {
        var ref: ObjectReference
        var type: EventType
        var reason: String
        var message: String
        var time: Time
    }
    private let client: KubeClient
    private let component: String
    private let instance: String
    private let logger: Logger
    private let stream: AsyncStream<Pending>
    private let continuation: AsyncStream<Pending>.Continuation
    private let aggregator = Mutex(EventAggregator())

    public init(client: KubeClient, component: String = "backstop", instance: String, bufferSize: Int = 1000,
                logger: Logger? = nil) {
        self.client = client
        self.component = component
        self.instance = instance
        self.logger = logger ?? client.logger
        (stream, continuation) = AsyncStream<Pending>.makeStream(bufferingPolicy: .bufferingOldest(bufferSize))
    }

    /// Records an event about `object`.
    public func record<R: KubeResource>(_ object: R, type: EventType = .normal, reason: String, message: String) {
        let ref = ObjectReference(apiVersion: R.resourceType.apiVersion, kind: R.resourceType.kind,
                                  name: object.metadata.name, namespace: object.metadata.namespace,
                                  uid: object.metadata.uid)
        record(ref, type: type, reason: reason, message: message)
    }

    public func record(_ ref: ObjectReference, type: EventType = .normal, reason: String, message: String) {
        let message = message.count > 1024 ? String(message.prefix(1021)) + "..." : message
        if case .dropped = continuation.yield(Pending(ref: ref, type: type, reason: reason, message: message, time: .now())) {
            logger.warning("event dropped: too many pending", metadata: ["reason": "\(reason)"])
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            for await pending in self.stream {
                await self.write(pending)
            }
        }
    }

    /// Stops accepting events; `run` returns after writing what is queued.
    public func finish() { continuation.finish() }

    private func write(_ p: Pending) async {
        let key = EventAggregator.Key(uid: p.ref.uid ?? "", kind: p.ref.kind ?? "", namespace: p.ref.namespace ?? "",
                                      name: p.ref.name ?? "", type: p.type.rawValue, reason: p.reason, message: p.message)
        let objectName = p.ref.name ?? "object"
        let action = aggregator.withLock { agg in
            agg.record(key, now: p.time) {
                "\(objectName).\(String(UInt64(p.time.seconds) &* 1_000_000_000 &+ UInt64(p.time.nanoseconds), radix: 16))"
            }
        }
        do {
            switch action {
            case .create(let name, let namespace):
                try await create(p, name: name, namespace: namespace, count: 1, first: p.time)
            case .bump(let name, let namespace, let count, let first):
                let patch = JSONValue.object(["count": .int(Int64(count)), "lastTimestamp": .string(p.time.rfc3339)])
                do {
                    _ = try await client.resource(Event.self, namespace: namespace).patch(name, .merge(patch))
                } catch where error.kind == .notFound {
                    try await create(p, name: name, namespace: namespace, count: count, first: first)
                }
            }
        } catch {
            logger.debug("event not written", metadata: ["reason": "\(p.reason)", "error": "\(error)"])
        }
    }

    private func create(_ p: Pending, name: String, namespace: String, count: Int, first: Time) async throws(KubeError) {
        var event = Event(metadata: ObjectMeta(name: name, namespace: namespace), involvedObject: p.ref,
                          reason: p.reason, message: p.message, type: p.type.rawValue)
        event.count = count
        event.firstTimestamp = first
        event.lastTimestamp = p.time
        var source = EventSource(component: component)
        source.host = instance
        event.source = source
        event.reportingComponent = component
        event.reportingInstance = instance
        try await client.resource(Event.self, namespace: namespace).createReturningMetadata(event)
    }
}
