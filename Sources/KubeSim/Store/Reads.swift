import DynamicJSON
import Foundation

/// LIST options after parsing.
struct ListQuery: Sendable {
    var namespace: String?
    var label: LabelSelector?
    var field: FieldSelector?
    var limit: Int?
    var continueToken: String?
}

struct ListResult: Sendable {
    var items: [JSONValue]
    var resourceVersion: Int64
    var continueToken: String?
    var remainingItemCount: Int64?
}

/// Where a watch starts.
enum WatchStart: Sendable {
    /// Replay history after this resourceVersion, then live events.
    case after(Int64)
    /// Synthetic ADDED events for the current state; with `endBookmark`, then the
    /// `k8s.io/initial-events-end` bookmark (streaming lists).
    case snapshot(endBookmark: Bool)
}

extension StoreState {
    static let continueTooOld = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

    /// A predicate over stored objects for the selectors of a query.
    static func matcher(_ type: ResourceType, label: LabelSelector?, field: FieldSelector?) -> @Sendable (JSONValue) -> Bool {
        let label = label?.isEmpty == false ? label : nil
        let field = field?.isEmpty == false ? field : nil
        if label == nil, field == nil { return { _ in true } }
        return { obj in
            if let label, !label.matches(obj["metadata"]?["labels"]?.objectValue) { return false }
            if let field, !field.matches({ FieldLabels.value($0, of: obj, type: type) }) { return false }
            return true
        }
    }

    func get(_ type: ResourceType, namespace: String?, name: String) throws(KubeAPIError) -> JSONValue {
        let key = ObjectKey(namespace: type.namespaced ? (namespace ?? "") : "", name: name)
        guard let stored = tables[type.storage]?[key] else { throw KubeAPIError.notFound(type.groupResource, name) }
        return Conversion.toServed(stored, type)
    }

    mutating func list(_ type: ResourceType, _ q: ListQuery) throws(KubeAPIError) -> ListResult {
        let match = Self.matcher(type, label: q.label, field: q.field)
        let hasSelector = !(q.label?.isEmpty ?? true) || !(q.field?.isEmpty ?? true)
        let identity = "\(type.storage)|\(q.namespace ?? "")|\(q.label?.string ?? "")|\(q.field.map { "\($0)" } ?? "")"
        var listRV = rv
        var candidates: [JSONValue]
        var offset = 0
        if let token = q.continueToken, !token.isEmpty {
            guard let data = Data(base64Encoded: token), let json = try? JSONValue(parsing: Array(data)),
                  let tokenRV = json["rv"]?.intValue, let start = json["start"]?.stringValue
            else { throw KubeAPIError.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") }
            if tokenRV < history.compactedThrough { throw KubeAPIError.expired(Self.continueTooOld) }
            listRV = tokenRV
            let snapshotID = "\(identity)|\(tokenRV)"
            if let snapshot = snapshots[snapshotID] {
                candidates = snapshot
                offset = Int(json["off"]?.intValue ?? 0)
            } else {
                // Snapshot evicted: continue from current state after the last key served.
                let startKey = Self.parseKey(start)
                candidates = currentMatches(type, q.namespace, match).filter { Self.key(of: $0) > startKey }
            }
        } else {
            candidates = currentMatches(type, q.namespace, match)
        }
        let remainingAll = candidates.count - offset
        var page = Array(candidates[offset...])
        var token: String?
        var remaining: Int64?
        if let limit = q.limit, limit > 0, remainingAll > limit {
            page = Array(page.prefix(limit))
            let last = Self.key(of: page[page.count - 1])
            let snapshotID = "\(identity)|\(listRV)"
            if offset == 0, q.continueToken == nil { saveSnapshot(snapshotID, candidates) }
            let tokenJSON: JSONValue = ["v": "meta.k8s.io/v1", "rv": .int(listRV),
                                        "start": .string("\(last.namespace)/\(last.name)\u{0}"),
                                        "off": .int(Int64(offset + limit))]
            token = Data(tokenJSON.serialized()).base64EncodedString()
            if !hasSelector { remaining = Int64(remainingAll - limit) }
        }
        return ListResult(items: page.map { Conversion.toServed($0, type) }, resourceVersion: listRV,
                          continueToken: token, remainingItemCount: remaining)
    }

    private mutating func currentMatches(_ type: ResourceType, _ namespace: String?,
                                         _ match: (JSONValue) -> Bool) -> [JSONValue]
    {
        guard let table = tables[type.storage] else { return [] }
        var out: [JSONValue] = []
        out.reserveCapacity(table.count)
        for key in cachedSortedKeys(type.storage) {
            if let ns = namespace, !ns.isEmpty, key.namespace != ns { continue }
            if let obj = table[key], match(obj) { out.append(obj) }
        }
        return out
    }

    static func key(of obj: JSONValue) -> ObjectKey {
        ObjectKey(namespace: obj["metadata"]?["namespace"]?.stringValue ?? "", name: obj["metadata"]?["name"]?.stringValue ?? "")
    }

    static func parseKey(_ s: String) -> ObjectKey {
        let trimmed = s.hasSuffix("\u{0}") ? String(s.dropLast()) : s
        guard let slash = trimmed.firstIndex(of: "/") else { return ObjectKey(namespace: "", name: trimmed) }
        return ObjectKey(namespace: String(trimmed[..<slash]), name: String(trimmed[trimmed.index(after: slash)...]))
    }

    /// Registers a watcher and returns the events to send before live ones.
    mutating func watch(_ type: ResourceType, namespace: String?, match: @escaping @Sendable (JSONValue) -> Bool,
                        start: WatchStart, internal isInternal: Bool = false,
                        deliver: @escaping @Sendable (StoreEvent) -> Void,
                        terminate: @escaping @Sendable () -> Void) throws(KubeAPIError) -> (initial: [StoreEvent], id: Int)
    {
        let sub = Subscriber(id: nextSubscriberID, resource: type.storage, namespace: namespace, matches: match,
                             deliver: deliver, terminate: terminate, isInternal: isInternal)
        var initial: [StoreEvent] = []
        switch start {
        case .after(let from):
            if from < history.compactedThrough { throw KubeAPIError.tooOld(requested: from, oldest: history.compactedThrough) }
            initial = history.since(from).compactMap { sub.view(of: $0) }
        case .snapshot(let endBookmark):
            initial = currentMatches(type, namespace, match).map {
                StoreEvent(type: .added, resource: type.storage, object: $0, resourceVersion: resourceVersion(of: $0) ?? rv)
            }
            if endBookmark {
                var bookmark = StoreEvent(type: .bookmark, resource: type.storage, object: [:], resourceVersion: rv)
                bookmark.initialEventsEnd = true
                initial.append(bookmark)
            }
        }
        nextSubscriberID += 1
        subscribers[sub.id] = sub
        return (initial, sub.id)
    }

    /// Sends a bookmark at the current resourceVersion through the subscriber's own queue, so it
    /// never overtakes an event already handed over.
    func bookmark(_ id: Int) {
        guard let sub = subscribers[id], let resource = sub.resource else { return }
        sub.deliver(StoreEvent(type: .bookmark, resource: resource, object: [:], resourceVersion: rv))
    }
}
