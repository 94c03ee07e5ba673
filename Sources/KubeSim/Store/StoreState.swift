import DynamicJSON
import Foundation

/// Which part of an object a write addresses.
enum Subresource: Sendable, Equatable {
    /// `finalize` is the Namespace subresource that alone may change `spec.finalizers`.
    case main, status, finalize
}

/// Options shared by the write paths.
struct WriteOptions: Sendable {
    var dryRun = false
    var fieldManager: String?
    var fieldValidation: FieldValidation = .warn
    /// "Update" or "Apply", for managedFields.
    var operation = "Update"
}

enum FieldValidation: String, Sendable { case strict = "Strict", warn = "Warn", ignore = "Ignore" }

/// The outcome of a create or update.
struct WriteResult: Sendable {
    var object: JSONValue
    var created = false
    var warnings: [String] = []
}

/// A reference from a dependent to its storage location, for the ownerReference index.
struct StoredRef: Hashable, Sendable {
    var resource: GroupResource
    var key: ObjectKey
}

/// Everything behind the store's lock. All mutation happens in `mutating` methods here, so the
/// registry, objects, indexes, history and watchers always change together.
struct StoreState: Sendable {
    var registry = Registry()
    var rv: Int64
    var tables: [GroupResource: [ObjectKey: JSONValue]] = [:]
    private var sortedKeyCache: [GroupResource: [ObjectKey]] = [:]
    var history: EventHistory
    var subscribers: [Int: Subscriber] = [:]
    var nextSubscriberID = 1
    var uidIndex: [String: StoredRef] = [:]
    /// Owner uid → dependents naming it in `ownerReferences`.
    var dependents: [String: Set<StoredRef>] = [:]
    /// List snapshots for consistent paging, keyed by continue-token identity.
    var snapshots: [String: [JSONValue]] = [:]
    var snapshotOrder: [String] = []
    let clock: SimClock
    var uidGenerator: @Sendable () -> String = { UUID().uuidString.lowercased() }
    /// Set while a kubelet runs Pods: deleting a running Pod then waits for its processes (§L).
    var gracefulPodDeletion = false

    init(clock: SimClock, historyCapacity: Int, startRV: Int64 = 100) {
        self.clock = clock
        self.rv = startRV
        self.history = EventHistory(capacity: historyCapacity, startRV: startRV)
    }

    // MARK: - Raw object access (storage form)

    func object(_ gr: GroupResource, _ key: ObjectKey) -> JSONValue? { tables[gr]?[key] }

    func sortedKeys(_ gr: GroupResource) -> [ObjectKey] {
        if let cached = sortedKeyCache[gr] { return cached }
        return (tables[gr]?.keys).map { $0.sorted() } ?? []
    }

    /// Sorted keys, caching the sort until the next insert or removal.
    mutating func cachedSortedKeys(_ gr: GroupResource) -> [ObjectKey] {
        if let cached = sortedKeyCache[gr] { return cached }
        let keys = (tables[gr]?.keys).map { $0.sorted() } ?? []
        sortedKeyCache[gr] = keys
        return keys
    }

    /// Stores `object` (already stamped) and keeps the indexes right.
    mutating func put(_ gr: GroupResource, _ key: ObjectKey, _ object: JSONValue) {
        let old = tables[gr]?[key]
        if old == nil { sortedKeyCache[gr] = nil }
        if let old { unindex(gr, key, old) }
        tables[gr, default: [:]][key] = object
        index(gr, key, object)
    }

    mutating func remove(_ gr: GroupResource, _ key: ObjectKey) {
        guard let old = tables[gr]?[key] else { return }
        unindex(gr, key, old)
        tables[gr]?[key] = nil
        sortedKeyCache[gr] = nil
    }

    private mutating func index(_ gr: GroupResource, _ key: ObjectKey, _ object: JSONValue) {
        let ref = StoredRef(resource: gr, key: key)
        if let uid = object["metadata"]?["uid"]?.stringValue { uidIndex[uid] = ref }
        for owner in object["metadata"]?["ownerReferences"]?.arrayValue ?? [] {
            if let uid = owner["uid"]?.stringValue { dependents[uid, default: []].insert(ref) }
        }
    }

    private mutating func unindex(_ gr: GroupResource, _ key: ObjectKey, _ object: JSONValue) {
        let ref = StoredRef(resource: gr, key: key)
        if let uid = object["metadata"]?["uid"]?.stringValue, uidIndex[uid] == ref { uidIndex[uid] = nil }
        for owner in object["metadata"]?["ownerReferences"]?.arrayValue ?? [] {
            if let uid = owner["uid"]?.stringValue {
                dependents[uid]?.remove(ref)
                if dependents[uid]?.isEmpty == true { dependents[uid] = nil }
            }
        }
    }

    // MARK: - Resource versions and events

    /// Bumps the global counter and returns the new value.
    mutating func nextRV() -> Int64 {
        rv += 1
        return rv
    }

    /// Records an event in the history and hands it to every interested subscriber.
    mutating func emit(_ event: StoreEvent) {
        history.append(event)
        for sub in subscribers.values {
            if let view = sub.view(of: event) { sub.deliver(view) }
        }
    }

    // MARK: - Namespaces

    enum NamespaceState { case missing, active, terminating }

    func namespaceState(_ name: String) -> NamespaceState {
        guard let ns = tables[GroupResource(group: "", resource: "namespaces")]?[ObjectKey(namespace: "", name: name)] else {
            return .missing
        }
        return ns["metadata"]?["deletionTimestamp"] == nil ? .active : .terminating
    }

    // MARK: - Snapshots for paging

    mutating func saveSnapshot(_ id: String, _ items: [JSONValue]) {
        if snapshots[id] == nil { snapshotOrder.append(id) }
        snapshots[id] = items
        while snapshotOrder.count > 16 {
            snapshots[snapshotOrder.removeFirst()] = nil
        }
    }
}

/// Stamps `metadata.resourceVersion`.
func setRV(_ object: inout JSONValue, _ rv: Int64) {
    object[path: ["metadata", "resourceVersion"]] = .string(String(rv))
}

/// Reads `metadata.resourceVersion` as a number (nil when absent or malformed).
func resourceVersion(of object: JSONValue) -> Int64? {
    object["metadata"]?["resourceVersion"]?.stringValue.flatMap { Int64($0) }
}
