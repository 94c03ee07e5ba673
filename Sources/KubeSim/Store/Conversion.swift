import DynamicJSON

/// Converts between the storage form of an object and the form served under one group-version.
/// CRDs use `conversion.strategy: None` (only `apiVersion` changes); events.k8s.io/v1 events are a
/// field-mapped view of the core/v1 store.
enum Conversion {
    /// core/v1 Event field ↔ events.k8s.io/v1 Event field.
    static let eventFieldPairs: [(core: String, v1: String)] = [
        ("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"), ("count", "deprecatedCount"), ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
    ]

    static func toServed(_ stored: JSONValue, _ type: ResourceType) -> JSONValue {
        // Fast path: same version, nothing to default — no copy at all.
        if type.tag != .eventV1, type.custom?.schema == nil, stored["apiVersion"]?.stringValue == type.apiVersion,
           stored["kind"]?.stringValue == type.kind
        {
            return stored
        }
        var obj = stored
        if type.tag == .eventV1 {
            for (core, v1) in eventFieldPairs {
                let value = obj[core]
                obj[core] = nil
                if let value { obj[v1] = value }
            }
        }
        obj["apiVersion"] = .string(type.apiVersion)
        obj["kind"] = .string(type.kind)
        if let schema = type.custom?.schema {
            // Defaulting also runs on read, so defaults added to a CRD later show on old objects.
            SchemaDefaulter.applyDefaults(&obj, schema, isRoot: true)
        }
        return obj
    }

    static func toStorage(_ served: JSONValue, _ type: ResourceType) -> JSONValue {
        var obj = served
        if type.tag == .eventV1 {
            for (core, v1) in eventFieldPairs {
                let value = obj[v1]
                obj[v1] = nil
                if let value { obj[core] = value }
            }
        }
        let (_, kind) = (type.storageAPIVersion, type.kind)
        obj["apiVersion"] = .string(type.storageAPIVersion)
        obj["kind"] = .string(kind)
        return obj
    }
}
