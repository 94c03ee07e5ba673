import DynamicJSON

/// Pruning of undeclared fields (§P4 step 3).
enum SchemaPruner {
    static let objectMetaFields: Set<String> = [
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
        "managedFields",
    ]

    /// Drops undeclared fields in place and records their paths ("spec.foo", "spec.items[0].bar").
    static func prune(_ value: inout JSONValue, _ schema: Schema, path: String, unknown: inout [String],
                      isRoot: Bool = false)
    {
        switch value {
        case .object(var members):
            let typeMetaLevel = isRoot || schema.embedded
            for key in members.keys.sorted() {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if typeMetaLevel, key == "apiVersion" || key == "kind" { continue }
                if typeMetaLevel, key == "metadata" {
                    if case .object(var meta) = members[key]! {
                        for mk in meta.keys.sorted() where !objectMetaFields.contains(mk) {
                            meta[mk] = nil
                            unknown.append("\(childPath).\(mk)")
                        }
                        members[key] = .object(meta)
                    }
                    continue
                }
                if let sub = schema.properties[key] {
                    prune(&members[key]!, sub, path: childPath, unknown: &unknown)
                } else if let ap = schema.additionalProperties {
                    prune(&members[key]!, ap, path: childPath, unknown: &unknown)
                } else if schema.additionalPropertiesAny || schema.preserveUnknown {
                    continue
                } else {
                    members[key] = nil
                    unknown.append(childPath)
                }
            }
            value = .object(members)
        case .array(var items):
            guard let itemSchema = schema.items else { return }
            for i in items.indices { prune(&items[i], itemSchema, path: "\(path)[\(i)]", unknown: &unknown) }
            value = .array(items)
        default:
            return
        }
    }
}

/// Structural defaulting (§P4 step 4).
enum SchemaDefaulter {
    static func applyDefaults(_ value: inout JSONValue, _ schema: Schema, isRoot: Bool = false) {
        switch value {
        case .object(var members):
            for (name, prop) in schema.properties {
                if isRoot, name == "metadata" || name == "apiVersion" || name == "kind" { continue }
                if members[name]?.isNull == true, !prop.nullable { members[name] = nil }
                if members[name] == nil, let d = prop.defaultValue { members[name] = d }
                if members[name] != nil, members[name]?.isNull == false { applyDefaults(&members[name]!, prop) }
            }
            if let ap = schema.additionalProperties {
                for key in members.keys where schema.properties[key] == nil {
                    if members[key]?.isNull == true, !ap.nullable { continue }
                    applyDefaults(&members[key]!, ap)
                }
            }
            value = .object(members)
        case .array(var items):
            guard let itemSchema = schema.items else { return }
            for i in items.indices { applyDefaults(&items[i], itemSchema) }
            value = .array(items)
        default:
            return
        }
    }
}
