import KubeClient
import KubeModel
import Synchronization

/// Names one object: what the work queue holds and the cache is keyed by.
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Empty for cluster-scoped objects.
    public var namespace: String
    public var name: String
    public init(namespace: String?, name: String) {
        self.namespace = namespace ?? ""
        self.name = name
    }
    public init<R: KubeResource>(_ object: R) { self.init(namespace: object.metadata.namespace, name: object.metadata.name ?? "") }
    public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
    public static func < (a: ObjectKey, b: ObjectKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// The informer's in-memory copy of one resource type, indexed by namespace, label pair and
/// owner uid. Reads are cheap snapshots; only the reflector writes. Treat what you read as
/// possibly stale (the API is the truth), but never as made up.
public final class ObjectCache<R: KubeResource>: Sendable {
    /// One stored object behind a reference: the typed resources are large inline values (a
    /// BackupPolicy is 2.6 KB, mostly optional sub-structs left nil), and a dictionary keeps
    /// about a third of its buckets empty, each as wide as its value. Boxed, a bucket is one
    /// pointer and each object takes its own size once.
    final class Entry: Sendable {
        let object: R
        init(_ object: R) { self.object = object }
    }

    struct State {
        var objects: [ObjectKey: Entry] = [:]
        var byNamespace: [String: Set<ObjectKey>] = [:]
        var byLabel: [String: Set<ObjectKey>] = [:]
        var byOwner: [String: Set<ObjectKey>] = [:]
        var undecodable: [ObjectKey: UndecodableObject] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public func get(_ key: ObjectKey) -> R? { state.withLock { $0.objects[key]?.object } }
    public func get(namespace: String?, name: String) -> R? { get(ObjectKey(namespace: namespace, name: name)) }

    public var count: Int { state.withLock { $0.objects.count } }
    public var keys: [ObjectKey] { state.withLock { Array($0.objects.keys) } }

    /// Objects in `namespace` (nil: all) whose labels include every pair of `labels`.
    public func list(namespace: String? = nil, labels: [String: String] = [:]) -> [R] {
        state.withLock { s in
            var candidates: Set<ObjectKey>?
            if let namespace { candidates = s.byNamespace[namespace] ?? [] }
            for (k, v) in labels {
                let matching = s.byLabel["\(k)=\(v)"] ?? []
                candidates = candidates.map { $0.intersection(matching) } ?? matching
            }
            guard let candidates else { return s.objects.values.map(\.object) }
            return candidates.compactMap { s.objects[$0]?.object }
        }
    }

    /// Objects whose `ownerReferences` name `uid`.
    public func owned(by uid: String) -> [R] {
        state.withLock { s in (s.byOwner[uid] ?? []).compactMap { s.objects[$0]?.object } }
    }

    /// Why the object at `key` is missing from the cache, if it failed to decode.
    public func undecodable(_ key: ObjectKey) -> UndecodableObject? { state.withLock { $0.undecodable[key] } }
    public var undecodableKeys: [ObjectKey] { state.withLock { Array($0.undecodable.keys) } }

    // MARK: Writes (reflector only)

    /// Stores `object`; returns the previous version.
    @discardableResult
    func upsert(_ object: R) -> R? {
        let key = ObjectKey(object)
        return state.withLock { s in
            s.undecodable[key] = nil
            let old = s.objects[key]?.object
            if let old { Self.unindex(&s, key, old) }
            s.objects[key] = Entry(object)
            Self.index(&s, key, object)
            return old
        }
    }

    /// Removes the object; returns what was stored.
    @discardableResult
    func remove(_ key: ObjectKey) -> R? {
        state.withLock { s in
            s.undecodable[key] = nil
            guard let old = s.objects.removeValue(forKey: key)?.object else { return nil }
            Self.unindex(&s, key, old)
            return old
        }
    }

    /// Records an object that did not decode; drops any older, decoded copy (returned).
    func markUndecodable(_ key: ObjectKey, _ failure: UndecodableObject) -> R? {
        state.withLock { s in
            s.undecodable[key] = failure
            guard let old = s.objects.removeValue(forKey: key)?.object else { return nil }
            Self.unindex(&s, key, old)
            return old
        }
    }

    /// Keys currently stored in `namespace` (nil: every namespace), decodable or not.
    func keys(in namespace: String?) -> Set<ObjectKey> {
        state.withLock { s in
            guard let namespace else { return Set(s.objects.keys).union(s.undecodable.keys) }
            return (s.byNamespace[namespace] ?? []).union(s.undecodable.keys.filter { $0.namespace == namespace })
        }
    }

    private static func index(_ s: inout State, _ key: ObjectKey, _ object: R) {
        s.byNamespace[key.namespace, default: []].insert(key)
        for (k, v) in object.metadata.labels ?? [:] { s.byLabel["\(k)=\(v)", default: []].insert(key) }
        for owner in object.metadata.ownerReferences ?? [] { s.byOwner[owner.uid, default: []].insert(key) }
    }

    private static func unindex(_ s: inout State, _ key: ObjectKey, _ object: R) {
        func drop(_ dict: inout [String: Set<ObjectKey>], _ index: String) {
            dict[index]?.remove(key)
            if dict[index]?.isEmpty == true { dict[index] = nil }
        }
        drop(&s.byNamespace, key.namespace)
        for (k, v) in object.metadata.labels ?? [:] { drop(&s.byLabel, "\(k)=\(v)") }
        for owner in object.metadata.ownerReferences ?? [] { drop(&s.byOwner, owner.uid) }
    }
}
