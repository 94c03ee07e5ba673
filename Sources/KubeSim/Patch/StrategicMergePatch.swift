import DynamicJSON

/// Strategic merge patch for built-in kinds (§J): lists merge by the patch merge keys of the
/// Kubernetes types, primitive lists with merge strategy are unioned, and the directives
/// `$patch` (replace/delete/merge), `$setElementOrder/<f>`, `$deleteFromPrimitiveList/<f>` and
/// `$retainKeys` are honoured and never stored.
enum StrategicMergePatch {
    /// Field name → merge key of the list (the `patchMergeKey` of the Kubernetes Go types).
    static let mergeKeys: [String: String] = [
        "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
        "volumes": "name", "imagePullSecrets": "name", "ports": "containerPort", "volumeMounts": "mountPath",
        "volumeDevices": "devicePath", "conditions": "type", "ownerReferences": "uid", "hostAliases": "ip",
        "resourceClaims": "name", "schedulingGates": "name", "topologySpreadConstraints": "topologyKey",
        "containerStatuses": "name", "initContainerStatuses": "name", "ephemeralContainerStatuses": "name",
        "podIPs": "ip", "hostIPs": "ip",
    ]
    /// Primitive lists with `patchStrategy: merge` (unioned).
    static let mergedPrimitiveLists: Set<String> = ["finalizers"]

    static func apply(_ patch: JSONValue, to original: JSONValue) throws(KubeAPIError) -> JSONValue {
        guard case .object = patch else {
            throw KubeAPIError.badRequest("unable to find api field in struct Unstructured for the json field \"\(patch.typeName)\"")
        }
        return try mergeMap(original, patch) ?? [:]
    }

    /// Returns nil when the patch deletes the map (`$patch: delete`).
    private static func mergeMap(_ original: JSONValue, _ patch: JSONValue) throws(KubeAPIError) -> JSONValue? {
        guard case .object(let p) = patch else { return patch }
        switch p["$patch"]?.stringValue {
        case "replace"?: return strip(.object(p.filter { $0.key != "$patch" }))
        case "delete"?: return nil
        case nil, "merge"?: break
        case let other?: throw KubeAPIError.badRequest("Unknown patch type: \(other)")
        }
        var result = original.objectValue ?? [:]
        if let retain = p["$retainKeys"]?.arrayValue {
            let keep = Set(retain.compactMap(\.stringValue))
            for key in result.keys where !keep.contains(key) { result[key] = nil }
        }
        var orders: [String: [JSONValue]] = [:]
        for (key, value) in p {
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
            } else if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let drop = value.arrayValue ?? []
                if let list = result[field]?.arrayValue { result[field] = .array(list.filter { !drop.contains($0) }) }
            }
        }
        for (key, value) in p where !key.hasPrefix("$") {
            if value.isNull {
                result[key] = nil
                continue
            }
            switch value {
            case .object:
                let merged = try mergeMap(result[key] ?? [:], value)
                result[key] = merged
            case .array(let items):
                if let mergeKey = mergeKeys[key], items.allSatisfy({ $0.objectValue != nil }) {
                    result[key] = try mergeList(result[key]?.arrayValue ?? [], items, mergeKey: mergeKey)
                } else if mergedPrimitiveLists.contains(key) {
                    var list = result[key]?.arrayValue ?? []
                    for item in items where !list.contains(item) { list.append(item) }
                    result[key] = .array(list)
                } else {
                    result[key] = strip(value)
                }
            default:
                result[key] = value
            }
        }
        for (field, order) in orders {
            guard let list = result[field]?.arrayValue else { continue }
            result[field] = .array(reorder(list, order, mergeKey: mergeKeys[field]))
        }
        return .object(result)
    }

    private static func mergeList(_ original: [JSONValue], _ patch: [JSONValue], mergeKey: String) throws(KubeAPIError) -> JSONValue {
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return .array(patch.filter { $0["$patch"]?.stringValue != "replace" }.map(strip))
        }
        var result = original
        for item in patch {
            let key = item[mergeKey]
            if item["$patch"]?.stringValue == "delete" {
                result.removeAll { $0[mergeKey] == key }
                continue
            }
            if let key, let index = result.firstIndex(where: { $0[mergeKey] == key }) {
                if let merged = try mergeMap(result[index], item) { result[index] = merged } else { result.remove(at: index) }
            } else {
                result.append(strip(item))
            }
        }
        return .array(result)
    }

    /// Orders list items as `$setElementOrder` says; items it does not mention keep their order after.
    private static func reorder(_ list: [JSONValue], _ order: [JSONValue], mergeKey: String?) -> [JSONValue] {
        func identity(_ v: JSONValue) -> JSONValue? { mergeKey.map { v[$0] ?? .null } ?? v }
        let positions = Dictionary(order.enumerated().map { (identity($0.element) ?? .null, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let indexed = list.enumerated().map { (pos: positions[identity($0.element) ?? .null] ?? Int.max, idx: $0.offset, item: $0.element) }
        return indexed.sorted { ($0.pos, $0.idx) < ($1.pos, $1.idx) }.map(\.item)
    }

    /// Removes directive keys from values that are stored as-is.
    static func strip(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o where !k.hasPrefix("$") { out[k] = strip(v) }
            return .object(out)
        case .array(let a): return .array(a.map(strip))
        default: return value
        }
    }
}
