import DynamicJSON

/// Per-kind defaulting, pruning and validation, called by the write pipeline.
enum Admission {
    /// Defaulting, pruning and unknown-field handling; returns `Warning` texts, throws 400s.
    static func admit(_ obj: inout JSONValue, type: ResourceType, old: JSONValue?, subresource: Subresource,
                      options: WriteOptions, state: StoreState) throws(KubeAPIError) -> [String]
    {
        switch type.tag {
        case .custom:
            return try admitCustom(&obj, type: type, options: options)
        case .crd:
            try CRDSupport.admit(&obj, old: old, subresource: subresource, now: state.clock.now, state: state)
            return []
        default:
            try BuiltinDefaults.apply(&obj, type: type, old: old, subresource: subresource, now: state.clock.now)
            return []
        }
    }

    /// Type-specific validation after defaulting (schema + CEL for CRs, built-in rules otherwise).
    static func validateFinal(_ obj: JSONValue, type: ResourceType, old: JSONValue?) -> [FieldError] {
        guard type.tag == .custom else { return BuiltinValidation.validate(obj, type: type, old: old) }
        guard let schema = type.custom?.schema else { return [] }
        var errors = SchemaValidator.validate(obj, schema, path: "", isRoot: true)
        if !SchemaValidator.blocksCEL(errors) {
            errors += CELValidation.validate(obj, old: old, schema: schema, path: "", isRoot: true)
        }
        return errors
    }

    private static func admitCustom(_ obj: inout JSONValue, type: ResourceType, options: WriteOptions) throws(KubeAPIError) -> [String] {
        guard let schema = type.custom?.schema else { return [] }
        var unknown: [String] = []
        SchemaPruner.prune(&obj, schema, path: "", unknown: &unknown, isRoot: true)
        var warnings: [String] = []
        if !unknown.isEmpty {
            switch options.fieldValidation {
            case .strict:
                if options.operation == "Apply" {
                    let ns = obj["metadata"]?["namespace"]?.stringValue ?? ""
                    let name = obj["metadata"]?["name"]?.stringValue ?? ""
                    throw KubeAPIError.badRequest("failed to create typed patch object (\(ns)/\(name); \(type.apiVersion), Kind=\(type.kind)): "
                        + unknown.map { ".\($0): field not declared in schema" }.joined(separator: ", "))
                }
                throw KubeAPIError.badRequest("\(type.kind) in version \(goQuote(type.version)) cannot be handled as a \(type.kind): strict decoding error: "
                    + unknown.map { "unknown field \(goQuote($0))" }.joined(separator: ", "))
            case .warn:
                warnings = unknown.map { "unknown field \(goQuote($0))" }
            case .ignore:
                break
            }
        }
        SchemaDefaulter.applyDefaults(&obj, schema, isRoot: true)
        return warnings
    }

    static func nameRule(_ type: ResourceType) -> MetaValidation.NameRule {
        switch type.tag {
        case .namespace: .label
        case .role, .clusterRole, .roleBinding, .clusterRoleBinding: .path
        default: .subdomain
        }
    }

    static func maxNameLength(_ type: ResourceType) -> Int? {
        switch type.tag {
        case .cronJob: 52
        case .job: 63
        default: nil
        }
    }

    /// Whether an object whose finalizers are gone may leave the store (namespaces also wait for
    /// `spec.finalizers`).
    static func canFinishDeletion(_ type: ResourceType, _ stored: JSONValue) -> Bool {
        if type.tag == .namespace { return (stored["spec"]?["finalizers"]?.arrayValue ?? []).isEmpty }
        // A Pod in its grace period is removed by the kubelet once its processes stopped.
        if type.tag == .pod { return (stored["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 0) == 0 }
        return true
    }

    /// Decode-level checks on `metadata`: label and annotation values must be strings, and so on.
    static func checkMetadataTypes(_ obj: JSONValue, _ type: ResourceType) throws(KubeAPIError) {
        guard let meta = obj["metadata"], case .object(let m) = meta else { return }
        func fail(_ got: JSONValue, _ field: String, _ goType: String) -> KubeAPIError {
            KubeAPIError.badRequest("\(type.kind) in version \(goQuote(type.version)) cannot be handled as a \(type.kind): json: cannot unmarshal \(jsonTypeWord(got)) into Go struct field ObjectMeta.metadata.\(field) of type \(goType)")
        }
        for field in ["name", "generateName", "namespace", "resourceVersion", "uid"] {
            if let v = m[field], v.stringValue == nil, !v.isNull { throw fail(v, field, "string") }
        }
        for field in ["labels", "annotations"] {
            guard let v = m[field], !v.isNull else { continue }
            guard let map = v.objectValue else { throw fail(v, field, "map[string]string") }
            for (_, value) in map where value.stringValue == nil && !value.isNull { throw fail(value, field, "string") }
        }
        if let v = m["finalizers"], !v.isNull {
            guard let list = v.arrayValue else { throw fail(v, "finalizers", "[]string") }
            for item in list where item.stringValue == nil { throw fail(item, "finalizers", "string") }
        }
        if let v = m["ownerReferences"], !v.isNull {
            guard let list = v.arrayValue else { throw fail(v, "ownerReferences", "[]v1.OwnerReference") }
            for item in list where item.objectValue == nil { throw fail(item, "ownerReferences", "v1.OwnerReference") }
        }
    }

    private static func jsonTypeWord(_ v: JSONValue) -> String {
        switch v {
        case .int, .double: "number"
        case .bool: "bool"
        case .array: "array"
        case .object: "object"
        case .string: "string"
        case .null: "null"
        }
    }
}
