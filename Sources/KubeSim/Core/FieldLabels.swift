import DynamicJSON

/// The field-selector labels each kind supports, and how to read them from a stored object.
enum FieldLabels {
    static func supported(_ type: ResourceType) -> Set<String> {
        var fields: Set<String> = ["metadata.name"]
        if type.namespaced { fields.insert("metadata.namespace") }
        switch type.tag {
        case .event:
            fields.formUnion(["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"])
        case .eventV1:
            fields.formUnion(["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                              "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                              "reason", "reportingController", "type"])
        case .secret: fields.insert("type")
        case .namespace: fields.insert("status.phase")
        case .job: fields.insert("status.successful")
        case .pod:
            fields.formUnion(["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"])
        case .custom:
            for path in type.custom?.selectableFields ?? [] { fields.insert(String(path.drop { $0 == "." })) }
        default: break
        }
        return fields
    }

    /// Rejects unsupported fields with the real server's 400 message.
    static func check(_ selector: FieldSelector, _ type: ResourceType) throws(KubeAPIError) {
        let ok = supported(type)
        for r in selector.requirements where !ok.contains(r.field) {
            throw KubeAPIError.badRequest("field label not supported: \(r.field)")
        }
    }

    /// The string value of a field label on a stored (storage-form) object.
    static func value(_ field: String, of object: JSONValue, type: ResourceType) -> String? {
        var path = field
        if type.tag == .eventV1 {
            // events.k8s.io names over the core/v1 storage form.
            if path.hasPrefix("regarding.") { path = "involvedObject." + path.dropFirst("regarding.".count) }
            if path == "reportingController" { path = "reportingComponent" }
        }
        if path == "source" { return object["source"]?["component"]?.stringValue ?? "" }
        let parts = path.split(separator: ".").map(String.init)
        guard let v = object[path: parts] else { return "" }
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .double(let d): return String(d)
        default: return ""
        }
    }
}
