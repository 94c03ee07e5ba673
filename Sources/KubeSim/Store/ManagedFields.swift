import DynamicJSON
import Foundation

/// A simplified `metadata.managedFields`: one entry per (manager, operation, subresource) whose
/// `fieldsV1` is the union of the fields that manager wrote. Ownership is recorded, not enforced:
/// server-side apply here is "merge + fieldManager required" (see docs/kubesim.md).
enum ManagedFields {
    /// The object without `managedFields`, for no-op detection.
    static func strip(_ object: JSONValue) -> JSONValue {
        var o = object
        if o["metadata"]?["managedFields"] != nil { o[path: ["metadata", "managedFields"]] = nil }
        return o
    }

    static func record(_ object: inout JSONValue, old: JSONValue?, type: ResourceType, options: WriteOptions,
                       subresource: Subresource, now: Date)
    {
        guard let manager = options.fieldManager, !manager.isEmpty else { return }
        let changed = fieldSet(of: object, comparedTo: old, isRoot: true)
        var entries = old?["metadata"]?["managedFields"]?.arrayValue ?? []
        let sub = subresource == .status ? "status" : nil
        let index = entries.firstIndex {
            $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == options.operation
                && $0["subresource"]?.stringValue == sub
        }
        var entry: JSONValue = [
            "manager": .string(manager), "operation": .string(options.operation), "apiVersion": .string(type.apiVersion),
            "time": .string(Timestamp.format(now)), "fieldsType": "FieldsV1",
        ]
        if let sub { entry["subresource"] = .string(sub) }
        var fields = changed
        if let index {
            fields = union(entries[index]["fieldsV1"] ?? [:], changed)
            entries.remove(at: index)
        }
        entry["fieldsV1"] = fields
        if fields.objectValue?.isEmpty ?? true, index == nil, old != nil { return }
        entries.append(entry)
        object[path: ["metadata", "managedFields"]] = .array(entries)
    }

    static let skippedMeta: Set<String> = ["name", "namespace", "uid", "resourceVersion", "creationTimestamp",
                                           "generation", "managedFields", "deletionTimestamp",
                                           "deletionGracePeriodSeconds", "selfLink", "generateName"]

    /// The FieldsV1 set of leaves in `object` that differ from `old` (all of them when old is nil).
    static func fieldSet(of object: JSONValue, comparedTo old: JSONValue?, isRoot: Bool = false) -> JSONValue {
        guard case .object(let members) = object else { return [:] }
        var set: [String: JSONValue] = [:]
        for (key, value) in members {
            if isRoot, key == "apiVersion" || key == "kind" { continue }
            let before = old?[key]
            if before == value { continue }
            if isRoot, key == "metadata" {
                var metaSet: [String: JSONValue] = [:]
                for (mk, mv) in value.objectValue ?? [:] where !skippedMeta.contains(mk) && before?[mk] != mv {
                    metaSet["f:\(mk)"] = mv.objectValue != nil ? fieldSet(of: mv, comparedTo: before?[mk]) : [:]
                }
                if !metaSet.isEmpty { set["f:metadata"] = .object(metaSet) }
                continue
            }
            switch value {
            case .object: set["f:\(key)"] = fieldSet(of: value, comparedTo: before)
            case .array(let items) where items.allSatisfy({ $0["name"]?.stringValue != nil }) && !items.isEmpty:
                var listSet: [String: JSONValue] = [:]
                for item in items {
                    let k = "k:{\"name\":\(JSONValue.string(item["name"]!.stringValue!).jsonString)}"
                    let previous = before?.arrayValue?.first { $0["name"] == item["name"] }
                    if previous == item { continue }
                    var inner = fieldSet(of: item, comparedTo: previous)
                    inner["."] = [:]
                    listSet[k] = inner
                }
                set["f:\(key)"] = .object(listSet)
            default: set["f:\(key)"] = [:]
            }
        }
        return .object(set)
    }

    static func union(_ a: JSONValue, _ b: JSONValue) -> JSONValue {
        guard case .object(var left) = a, case .object(let right) = b else { return b }
        for (k, v) in right { left[k] = left[k].map { union($0, v) } ?? v }
        return .object(left)
    }
}
