import DynamicJSON
import Foundation
import Synchronization

/// The simulator's object store: one global resourceVersion counter, objects as `JSONValue`,
/// a bounded watch history and the registry of served resources, all behind one lock.
///
/// Tests use it for direct in-process access; every call runs the same pipeline as the HTTP API
/// (defaulting, validation, status split, generation, finalizers, events). Objects are addressed by
/// `apiVersion` and `kind`; errors are `KubeAPIError` with the real server's Status.
public final class Store: Sendable {
    let state: Mutex<StoreState>
    let clock: SimClock

    init(clock: SimClock, historyCapacity: Int) {
        self.clock = clock
        var s = StoreState(clock: clock, historyCapacity: historyCapacity)
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let type = s.registry.lookup(group: "", version: "v1", resource: "namespaces")!
            _ = try? s.create(type, namespace: nil, body: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]],
                              options: WriteOptions())
        }
        state = Mutex(s)
    }

    func withState<T>(_ body: (inout StoreState) throws(KubeAPIError) -> T) throws(KubeAPIError) -> T {
        try state.withLock { (s: inout StoreState) throws(KubeAPIError) -> T in try body(&s) }
    }

    func read<T>(_ body: (StoreState) -> T) -> T { state.withLock { body($0) } }

    /// The current value of the global resourceVersion counter.
    public var resourceVersion: Int64 { read { $0.rv } }

    func type(apiVersion: String, kind: String) throws(KubeAPIError) -> ResourceType {
        guard let t = read({ $0.registry.lookup(apiVersion: apiVersion, kind: kind) }) else {
            throw KubeAPIError(code: 404, reason: "NotFound", message: "no matches for kind \(goQuote(kind)) in version \(goQuote(apiVersion))")
        }
        return t
    }

    // MARK: - Direct access for tests

    /// Creates an object (its `apiVersion`, `kind` and `metadata.namespace` choose where).
    @discardableResult
    public func create(_ object: JSONValue) throws(KubeAPIError) -> JSONValue {
        let t = try type(apiVersion: object["apiVersion"]?.stringValue ?? "", kind: object["kind"]?.stringValue ?? "")
        let ns = t.namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : nil
        return try withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.create(t, namespace: ns, body: object, options: WriteOptions(fieldManager: "kubesim-test")).object
        }
    }

    public func get(_ apiVersion: String, _ kind: String, namespace: String? = nil, name: String) throws(KubeAPIError) -> JSONValue {
        let t = try type(apiVersion: apiVersion, kind: kind)
        return try withState { (s: inout StoreState) throws(KubeAPIError) in try s.get(t, namespace: namespace ?? "default", name: name) }
    }

    /// Lists objects of one kind, sorted by namespace and name (all namespaces when nil).
    public func list(_ apiVersion: String, _ kind: String, namespace: String? = nil,
                     labelSelector: String? = nil) throws(KubeAPIError) -> [JSONValue]
    {
        let t = try type(apiVersion: apiVersion, kind: kind)
        let label = try labelSelector.map { (s) throws(KubeAPIError) in try LabelSelector(parsing: s) }
        return try withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.list(t, ListQuery(namespace: namespace, label: label)).items
        }
    }

    /// Replaces an object (PUT semantics, main resource; `.status` is ignored when the kind has
    /// a status subresource).
    @discardableResult
    public func update(_ object: JSONValue) throws(KubeAPIError) -> JSONValue {
        try write(object, subresource: .main)
    }

    /// Writes `.status` only (PUT to `/status`).
    @discardableResult
    public func updateStatus(_ object: JSONValue) throws(KubeAPIError) -> JSONValue {
        try write(object, subresource: .status)
    }

    private func write(_ object: JSONValue, subresource: Subresource) throws(KubeAPIError) -> JSONValue {
        let t = try type(apiVersion: object["apiVersion"]?.stringValue ?? "", kind: object["kind"]?.stringValue ?? "")
        let ns = t.namespaced ? (object["metadata"]?["namespace"]?.stringValue ?? "default") : nil
        let name = object["metadata"]?["name"]?.stringValue ?? ""
        return try withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.update(t, namespace: ns, name: name, subresource: subresource,
                         options: WriteOptions(fieldManager: "kubesim-test")) { _ in object }.object
        }
    }

    /// Applies a JSON merge patch (RFC 7386) to the main resource or `/status`.
    @discardableResult
    public func mergePatch(_ apiVersion: String, _ kind: String, namespace: String? = nil, name: String,
                           patch: JSONValue, status: Bool = false) throws(KubeAPIError) -> JSONValue
    {
        let t = try type(apiVersion: apiVersion, kind: kind)
        return try withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.update(t, namespace: namespace ?? "default", name: name, subresource: status ? .status : .main,
                         options: WriteOptions(fieldManager: "kubesim-test")) { old in MergePatch.apply(patch, to: old ?? [:]) }.object
        }
    }

    /// Deletes an object. Returns the object when it is still present (finalizers), nil when gone.
    @discardableResult
    public func delete(_ apiVersion: String, _ kind: String, namespace: String? = nil, name: String,
                       propagation: PropagationPolicy? = nil) throws(KubeAPIError) -> JSONValue?
    {
        let t = try type(apiVersion: apiVersion, kind: kind)
        let outcome = try withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.delete(t, namespace: namespace ?? "default", name: name, options: DeleteOptions(propagation: propagation))
        }
        if case .pending(let o) = outcome { return o }
        return nil
    }

    /// The retained history of one object (oldest first), for assertions on what happened.
    /// The recorded events of one object (or, with `name` nil, of every object of the kind in the namespace).
    public func history(_ apiVersion: String, _ kind: String, namespace: String? = nil, name: String?) throws(KubeAPIError) -> [StoreEvent] {
        let t = try type(apiVersion: apiVersion, kind: kind)
        let ns = t.namespaced ? (namespace ?? "default") : ""
        return read { s in
            s.history.filter { $0.resource == t.storage && $0.namespace == ns && (name == nil || $0.object["metadata"]?["name"]?.stringValue == name) }
        }
    }

    // MARK: - Test hooks

    /// Forgets all watch history up to now: any watch or continue token from an older
    /// resourceVersion gets 410 Expired.
    public func compactHistory() {
        state.withLock { s in s.history.compact(through: s.rv) }
    }

    /// Ends every client watch stream (internal controller subscriptions survive).
    public func dropAllWatches() {
        let subs: [Subscriber] = state.withLock { s in
            let clients = s.subscribers.values.filter { !$0.isInternal }
            for sub in clients { s.subscribers[sub.id] = nil }
            return Array(clients)
        }
        for sub in subs { sub.terminate() }
    }

    func unsubscribe(_ id: Int) {
        state.withLock { s in s.subscribers[id] = nil }
    }

    /// Every store event, for the simulated controllers (no replay; starts now).
    func events() -> (AsyncStream<StoreEvent>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream<StoreEvent>.makeStream(bufferingPolicy: .unbounded)
        let id = state.withLock { s -> Int in
            let sub = Subscriber(id: s.nextSubscriberID, resource: nil, namespace: nil, matches: { _ in true },
                                 deliver: { continuation.yield($0) }, terminate: { continuation.finish() }, isInternal: true)
            s.nextSubscriberID += 1
            s.subscribers[sub.id] = sub
            return sub.id
        }
        return (stream, { [weak self] in
            self?.unsubscribe(id)
            continuation.finish()
        })
    }
}
