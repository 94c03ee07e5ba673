import DynamicJSON
import Foundation
import YAML

/// PATCH (four patch types, §J), the scale subresource (§K) and Pod logs.
extension APIServer {
    enum PatchType: String {
        case merge = "application/merge-patch+json"
        case json = "application/json-patch+json"
        case strategic = "application/strategic-merge-patch+json"
        case apply = "application/apply-patch+yaml"
    }

    static func acceptedPatchTypes(_ t: ResourceType) -> [String] {
        t.isBuiltin
            ? ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"]
            : ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    }

    func patchType(_ req: APIRequest, _ t: ResourceType) throws(KubeAPIError) -> PatchType {
        let media = Negotiation.bodyType(req.contentType)
        let pt: PatchType? = media == "application/apply-patch+cbor" ? nil : PatchType(rawValue: media)
        guard let pt, pt != .strategic || t.isBuiltin else {
            throw KubeAPIError.unsupportedMediaType(Self.acceptedPatchTypes(t))
        }
        return pt
    }

    func patchBody(_ req: APIRequest, _ pt: PatchType) throws(KubeAPIError) -> JSONValue {
        if req.body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            throw KubeAPIError.badRequest("the body of the request was empty")
        }
        do {
            return try JSONValue(parsing: req.body)
        } catch {
            if pt == .apply, let y = try? YAML.parseSingle(String(decoding: req.body, as: UTF8.self)), case .object = y { return y }
            throw KubeAPIError.badRequest("error decoding patch: \(error)")
        }
    }

    /// Builds the transform that turns the live object into the patched one.
    func patchTransform(_ pt: PatchType, _ patch: JSONValue, _ t: ResourceType, name: String)
        throws(KubeAPIError) -> (JSONValue?) throws(KubeAPIError) -> JSONValue
    {
        switch pt {
        case .merge:
            guard case .object = patch else { throw KubeAPIError.badRequest("json: cannot unmarshal \(patch.typeName) into Go value of type map[string]interface {}") }
            return { old throws(KubeAPIError) in MergePatch.apply(patch, to: old ?? [:]) }
        case .json:
            guard patch.arrayValue != nil else {
                throw KubeAPIError.badRequest("json: cannot unmarshal \(patch.typeName) into Go value of type jsonpatch.Patch")
            }
            return { old throws(KubeAPIError) in try JSONPatch.apply(patch, to: old ?? [:]) }
        case .strategic:
            return { old throws(KubeAPIError) in try StrategicMergePatch.apply(patch, to: old ?? [:]) }
        case .apply:
            // Server-side apply as "merge + fieldManager required" (documented deviation): the applied
            // configuration is merged into the live object; nothing is removed and no field
            // ownership conflicts are raised.
            guard case .object = patch else { throw KubeAPIError.badRequest("error decoding YAML: body must be an object") }
            let apiVersion = patch["apiVersion"]?.stringValue ?? "", kind = patch["kind"]?.stringValue ?? ""
            if apiVersion != t.apiVersion || kind != t.kind {
                throw KubeAPIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(t.apiVersion))")
            }
            if let n = patch["metadata"]?["name"]?.stringValue, n != name {
                throw KubeAPIError.badRequest("the name of the object (\(n)) does not match the name on the URL (\(name))")
            }
            let cleaned = Self.stripNulls(patch)
            return { old throws(KubeAPIError) in
                guard let old else { return cleaned }
                return t.isBuiltin ? try StrategicMergePatch.apply(cleaned, to: old) : MergePatch.apply(cleaned, to: old)
            }
        }
    }

    /// Apply configurations never delete through `null`.
    static func stripNulls(_ v: JSONValue) -> JSONValue {
        switch v {
        case .object(let o): return .object(o.filter { !$0.value.isNull }.mapValues(stripNulls))
        case .array(let a): return .array(a.map(stripNulls))
        default: return v
        }
    }

    func patch(_ req: APIRequest, _ r: ResourceRoute, user: UserInfo, subresource: Subresource) throws(KubeAPIError) -> APIResponse {
        let pt = try patchType(req, r.type)
        let form = try outputForm(req)
        if req.query["force"] != nil, pt != .apply {
            throw KubeAPIError.invalidOptions("PatchOptions", [.forbidden("force", "may not be specified for non-apply patch")])
        }
        if pt == .apply, (req.query["fieldManager"] ?? "").isEmpty {
            throw KubeAPIError.invalidOptions("PatchOptions", [.required("fieldManager", "is required for apply patch")])
        }
        let patch = try patchBody(req, pt)
        let options = try writeOptions(req, optionsKind: "PatchOptions", operation: pt == .apply ? "Apply" : "Update")
        let transform = try patchTransform(pt, patch, r.type, name: r.name!)
        let result = try store.withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.update(r.type, namespace: r.namespace, name: r.name!, subresource: subresource, options: options,
                         allowCreate: pt == .apply && subresource == .main, transform: transform)
        }
        return render(result.object, r.type, form: form, req: req, status: result.created ? 201 : 200,
                      headers: Self.warningHeaders(result.warnings))
    }

    // MARK: - Scale

    static func scale(of obj: JSONValue, _ t: ResourceType) throws(KubeAPIError) -> JSONValue {
        guard let paths = t.scale else { throw KubeAPIError.pathNotFound }
        guard let replicas = obj[path: paths.specReplicas] else {
            throw KubeAPIError.internalError("the spec replicas field \(goQuote("." + paths.specReplicas.joined(separator: "."))) does not exist")
        }
        var selector = ""
        if let lp = paths.labelSelector {
            selector = obj[path: lp]?.stringValue ?? ""
        } else if let s = obj["spec"]?["selector"], let parsed = try? LabelSelector(object: s) {
            selector = parsed.string
        }
        let meta = obj["metadata"] ?? [:]
        var m: JSONValue = ["name": meta["name"] ?? "", "uid": meta["uid"] ?? "", "resourceVersion": meta["resourceVersion"] ?? "",
                            "creationTimestamp": meta["creationTimestamp"] ?? .null]
        if let ns = meta["namespace"] { m["namespace"] = ns }
        return ["kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": m, "spec": ["replicas": replicas],
                "status": ["replicas": obj[path: paths.statusReplicas] ?? 0, "selector": .string(selector)]]
    }

    func handleScale(_ req: APIRequest, _ r: ResourceRoute, verb: String) throws(KubeAPIError) -> APIResponse {
        let t = r.type
        if verb == "get" {
            let obj = try store.withState { (s: inout StoreState) throws(KubeAPIError) in try s.get(t, namespace: r.namespace, name: r.name!) }
            return .json(200, try Self.scale(of: obj, t))
        }
        guard verb == "update" || verb == "patch" else { throw KubeAPIError.methodNotAllowed(req.method) }
        var scaleTransform: (JSONValue) throws(KubeAPIError) -> JSONValue
        if verb == "update" {
            let body = try Negotiation.decodeBody(req.body, contentType: Negotiation.bodyType(req.contentType), kindHint: nil)
            scaleTransform = { _ in body }
        } else {
            let pt = try patchType(req, t)
            let patch = try patchBody(req, pt)
            let inner = try patchTransform(pt == .apply ? .merge : pt, pt == .apply ? Self.stripNulls(patch) : patch, t, name: r.name!)
            scaleTransform = { (current: JSONValue) throws(KubeAPIError) in try inner(current) }
        }
        let options = try writeOptions(req, optionsKind: verb == "update" ? "UpdateOptions" : "PatchOptions")
        let updated = try store.withState { (s: inout StoreState) throws(KubeAPIError) -> JSONValue in
            try s.update(t, namespace: r.namespace, name: r.name!, subresource: .main, options: options) { (old: JSONValue?) throws(KubeAPIError) in
                var parent = old!
                let current = try Self.scale(of: parent, t)
                let wanted = try scaleTransform(current)
                let wantRV = wanted["metadata"]?["resourceVersion"]?.stringValue ?? ""
                if !wantRV.isEmpty, wantRV != current["metadata"]?["resourceVersion"]?.stringValue {
                    throw KubeAPIError.staleConflict(t.groupResource, r.name!)
                }
                guard let replicas = wanted["spec"]?["replicas"]?.intValue, replicas >= 0 else {
                    throw KubeAPIError.invalid(group: "autoscaling", kind: "Scale", name: r.name!,
                                               [.invalid("spec.replicas", wanted["spec"]?["replicas"], "must be greater than or equal to 0")])
                }
                parent[path: t.scale!.specReplicas] = .int(replicas)
                return parent
            }.object
        }
        return .json(200, try Self.scale(of: updated, t))
    }

    // MARK: - Pod logs

    func podLog(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let pod = try store.withState { (s: inout StoreState) throws(KubeAPIError) in try s.get(r.type, namespace: r.namespace, name: r.name!) }
        let containers = (pod["spec"]?["containers"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        var container = req.query["container"] ?? ""
        if container.isEmpty {
            guard containers.count == 1 else {
                throw KubeAPIError.badRequest("a container name must be specified for pod \(r.name!), choose one of: [\(containers.joined(separator: " "))]")
            }
            container = containers[0]
        } else if !containers.contains(container) {
            throw KubeAPIError.badRequest("container \(container) is not valid for pod \(r.name!)")
        }
        let uid = pod["metadata"]?["uid"]?.stringValue ?? ""
        guard var text = podLogs.read(podUID: uid, container: container) else {
            throw KubeAPIError.badRequest("container \(goQuote(container)) in pod \(goQuote(r.name!)) is waiting to start: ContainerCreating")
        }
        if let tail = req.query["tailLines"].flatMap({ Int($0) }), tail >= 0 {
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last == "" { lines.removeLast() }
            text = lines.suffix(tail).map { $0 + "\n" }.joined()
        }
        return .text(200, text)
    }
}
