import DynamicJSON
import Foundation

/// Everything a transport needs to run one watch stream (§H): where it starts, how events are
/// filtered and encoded, when it ends.
struct WatchPlan: Sendable {
    let type: ResourceType
    let namespace: String?
    let match: @Sendable (JSONValue) -> Bool
    let start: WatchStart
    let form: OutputForm
    let includeObject: String
    let timeout: TimeInterval
    let bookmarks: Bool
    let bookmarkInterval: TimeInterval
    let store: Store
    let clock: SimClock

    /// Registers with the store. Returns the events to write first, or the 410 to send as a
    /// single ERROR event.
    func register(deliver: @escaping @Sendable (StoreEvent) -> Void,
                  terminate: @escaping @Sendable () -> Void) -> Result<(initial: [StoreEvent], id: Int), KubeAPIError>
    {
        do {
            let r = try store.withState { (s: inout StoreState) throws(KubeAPIError) in
                try s.watch(type, namespace: namespace, match: match, start: start, deliver: deliver, terminate: terminate)
            }
            return .success(r)
        } catch {
            return .failure(error)
        }
    }

    /// One event as a JSON line; nil drops it (bookmarks the client did not ask for).
    func encode(_ event: StoreEvent, first: Bool) -> [UInt8]? {
        // Full objects are encoded once per event and served version, then shared by every
        // watcher (the real server's watch cache does the same); tables depend on the watcher.
        guard form == .json, event.type != .bookmark else { return encodeUncached(event, first: first) }
        let key = "\(event.type.rawValue) \(type.apiVersion)"
        if let hit = event.encodings.get(key) { return hit }
        let line = encodeUncached(event, first: first)
        if let line { event.encodings.set(key, line) }
        return line
    }

    private func encodeUncached(_ event: StoreEvent, first: Bool) -> [UInt8]? {
        var object: JSONValue
        if event.type == .bookmark {
            if !bookmarks { return nil }
            var meta: JSONValue = ["resourceVersion": .string(String(event.resourceVersion))]
            if event.initialEventsEnd { meta["annotations"] = ["k8s.io/initial-events-end": "true"] }
            object = ["kind": .string(type.kind), "apiVersion": .string(type.apiVersion), "metadata": meta]
        } else {
            object = Conversion.toServed(event.object, type)
            switch form {
            case .table:
                let meta: JSONValue = ["resourceVersion": object["metadata"]?["resourceVersion"] ?? ""]
                object = TableConverter.table(type, [object], metadata: meta, includeObject: includeObject,
                                              withColumns: first, now: clock.now)
            case .partialMetadata:
                object = TableConverter.partialMetadata(object)
            default: break
            }
        }
        var line = JSONValue.object(["type": .string(event.type.rawValue), "object": object]).serialized()
        line.append(10)
        return line
    }

    static func encodeError(_ e: KubeAPIError) -> [UInt8] {
        var line = JSONValue.object(["type": "ERROR", "object": e.status]).serialized()
        line.append(10)
        return line
    }
}
