import DynamicJSON
import Foundation

/// CustomResourceDefinition objects: defaulting, validation, immediate establishment (§P1) and
/// the resource types their served versions register.
enum CRDSupport {
    static func admit(_ crd: inout JSONValue, old: JSONValue?, subresource: Subresource, now: Date,
                      state: StoreState) throws(KubeAPIError)
    {
        guard subresource == .main else { return }
        var spec = crd["spec"] ?? [:]
        if let kind = spec["names"]?["kind"]?.stringValue {
            if spec["names"]?["singular"] == nil { spec[path: ["names", "singular"]] = .string(kind.lowercased()) }
            if spec["names"]?["listKind"] == nil { spec[path: ["names", "listKind"]] = .string(kind + "List") }
        }
        if spec["conversion"] == nil { spec["conversion"] = ["strategy": "None"] }
        crd["spec"] = spec
        let name = crd["metadata"]?["name"]?.stringValue ?? ""
        var errors = validate(crd, name: name)
        if let old {
            for field in ["scope", "group"] where old["spec"]?[field] != crd["spec"]?[field] {
                errors.append(.invalid("spec.\(field)", crd["spec"]?[field], "field is immutable"))
            }
        }
        errors += nameConflicts(crd, state: state)
        if !errors.isEmpty {
            throw KubeAPIError.invalid(group: "apiextensions.k8s.io", kind: "CustomResourceDefinition", name: name, errors)
        }
        crd["status"] = status(crd, old: old, now: now)
    }

    /// Established at once: there is no controller delay in the simulator.
    static func status(_ crd: JSONValue, old: JSONValue?, now: Date) -> JSONValue {
        let names = crd["spec"]?["names"] ?? [:]
        let storage = crd["spec"]?["versions"]?.arrayValue?.first { $0["storage"]?.boolValue == true }?["name"] ?? "v1"
        var stored = (old?["status"]?["storedVersions"]?.arrayValue ?? [])
        if !stored.contains(storage) { stored.append(storage) }
        let time = JSONValue.string(Timestamp.format(now))
        let oldConditions = old?["status"]?["conditions"]?.arrayValue ?? []
        func condition(_ type: String, _ reason: String, _ message: String) -> JSONValue {
            let previous = oldConditions.first { $0["type"]?.stringValue == type }
            return ["type": .string(type), "status": "True", "reason": .string(reason), "message": .string(message),
                    "lastTransitionTime": previous?["lastTransitionTime"] ?? time]
        }
        return [
            "acceptedNames": names,
            "storedVersions": .array(stored),
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
        ]
    }

    static func validate(_ crd: JSONValue, name: String) -> [FieldError] {
        var errors: [FieldError] = []
        let spec = crd["spec"] ?? [:]
        let group = spec["group"]?.stringValue ?? ""
        let plural = spec["names"]?["plural"]?.stringValue ?? ""
        if group.isEmpty {
            errors.append(.required("spec.group"))
        } else if !group.contains(".") {
            errors.append(.invalid("spec.group", .string(group), "should be a domain with at least one dot"))
        }
        if plural.isEmpty { errors.append(.required("spec.names.plural")) }
        if !plural.isEmpty, !group.isEmpty, name != "\(plural).\(group)" {
            errors.append(.invalid("metadata.name", .string(name), "must be spec.names.plural+\".\"+spec.group"))
        }
        for field in ["plural", "singular"] {
            if let v = spec["names"]?[field]?.stringValue, !v.isEmpty, !MetaValidation.isDNSLabel(v) {
                errors.append(.invalid("spec.names.\(field)", .string(v), MetaValidation.labelMessage))
            }
        }
        if (spec["names"]?["kind"]?.stringValue ?? "").isEmpty { errors.append(.required("spec.names.kind")) }
        let scope = spec["scope"]?.stringValue ?? ""
        if scope != "Namespaced", scope != "Cluster" {
            errors.append(scope.isEmpty ? .required("spec.scope") : .notSupported("spec.scope", .string(scope), ["Cluster", "Namespaced"]))
        }
        let versions = spec["versions"]?.arrayValue ?? []
        if versions.isEmpty { errors.append(.required("spec.versions", "must have exactly one version marked as storage version")) }
        let storageCount = versions.filter { $0["storage"]?.boolValue == true }.count
        if !versions.isEmpty, storageCount != 1 {
            errors.append(.invalid("spec.versions", .int(Int64(storageCount)), "must have exactly one version marked as storage version"))
        }
        if !versions.isEmpty, !versions.contains(where: { $0["served"]?.boolValue == true }) {
            errors.append(.invalid("spec.versions", nil, "must have at least one version marked as served"))
        }
        for (i, v) in versions.enumerated() {
            let base = "spec.versions[\(i)]"
            if (v["name"]?.stringValue ?? "").isEmpty { errors.append(.required("\(base).name")) }
            guard let schema = v["schema"]?["openAPIV3Schema"] else {
                errors.append(.required("\(base).schema.openAPIV3Schema", "schemas are required"))
                continue
            }
            let path = "\(base).schema.openAPIV3Schema"
            errors += StructuralCheck.check(schema, path: path, isRoot: true)
            _ = Schema(schema, path: path, errors: &errors)
        }
        return errors
    }

    /// Plural or short-name clashes with another CRD of the same group.
    static func nameConflicts(_ crd: JSONValue, state: StoreState) -> [FieldError] {
        let spec = crd["spec"] ?? [:]
        let group = spec["group"]?.stringValue ?? ""
        let plural = spec["names"]?["plural"]?.stringValue ?? ""
        let name = crd["metadata"]?["name"]?.stringValue ?? ""
        let shorts = Set((spec["names"]?["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue))
        for t in state.registry.types.values where t.group == group && t.custom?.crdName != name {
            if t.resource == plural { return [.invalid("spec.names.plural", .string(plural), "\(goQuote(plural)) is already in use")] }
            if let clash = shorts.intersection(t.shortNames).first {
                return [.invalid("spec.names.shortNames", .string(clash), "\(goQuote(clash)) is already in use")]
            }
        }
        return []
    }

    /// The served versions of a stored CRD as resource types (empty while it is being deleted).
    static func resourceTypes(from crd: JSONValue) -> [ResourceType] {
        guard crd["metadata"]?["deletionTimestamp"] == nil, let spec = crd["spec"] else { return [] }
        let group = spec["group"]?.stringValue ?? ""
        let names = spec["names"] ?? [:]
        let versions = spec["versions"]?.arrayValue ?? []
        let storageVersion = versions.first { $0["storage"]?.boolValue == true }?["name"]?.stringValue ?? "v1"
        let crdName = crd["metadata"]?["name"]?.stringValue ?? ""
        var out: [ResourceType] = []
        for v in versions where v["served"]?.boolValue == true {
            guard let version = v["name"]?.stringValue else { continue }
            var t = ResourceType(group: group, version: version, resource: names["plural"]?.stringValue ?? "",
                                 kind: names["kind"]?.stringValue ?? "", namespaced: spec["scope"]?.stringValue != "Cluster",
                                 tag: .custom, singular: names["singular"]?.stringValue)
            t.listKind = names["listKind"]?.stringValue ?? t.kind + "List"
            t.shortNames = (names["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
            t.categories = (names["categories"]?.arrayValue ?? []).compactMap(\.stringValue)
            t.generation = .allButMetadata
            t.requireResourceVersion = true
            t.storageAPIVersion = "\(group)/\(storageVersion)"
            let subresources = v["subresources"] ?? spec["subresources"]
            if subresources?["status"] != nil { t.subresources.insert("status") }
            if let scale = subresources?["scale"] {
                t.subresources.insert("scale")
                t.scale = ScalePaths(specReplicas: dotPath(scale["specReplicasPath"]?.stringValue ?? ".spec.replicas"),
                                     statusReplicas: dotPath(scale["statusReplicasPath"]?.stringValue ?? ".status.replicas"),
                                     labelSelector: scale["labelSelectorPath"]?.stringValue.map(dotPath))
            }
            var ignored: [FieldError] = []
            let schemaJSON = v["schema"]?["openAPIV3Schema"]
            let schema = schemaJSON.map { Schema($0, path: "", errors: &ignored) }
            let columns = (v["additionalPrinterColumns"]?.arrayValue ?? []).map { c in
                PrinterColumn(name: c["name"]?.stringValue ?? "", type: c["type"]?.stringValue ?? "string",
                              format: c["format"]?.stringValue ?? "", description: c["description"]?.stringValue ?? "",
                              priority: Int(c["priority"]?.intValue ?? 0), jsonPath: c["jsonPath"]?.stringValue ?? "")
            }
            let selectable = (v["selectableFields"]?.arrayValue ?? []).compactMap { $0["jsonPath"]?.stringValue }
            t.custom = CustomVersion(crdName: crdName, schema: schema, columns: columns, selectableFields: selectable,
                                     preserveUnknownRoot: schemaJSON?["x-kubernetes-preserve-unknown-fields"]?.boolValue ?? false)
            t.custom?.schemaJSON = schemaJSON
            out.append(t)
        }
        return out
    }

    static func dotPath(_ s: String) -> [String] { s.split(separator: ".").map(String.init) }
}
