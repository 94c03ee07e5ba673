import DynamicJSON

/// The minimal OpenAPI v3 that makes default `kubectl apply` (server-side field validation) work
/// (§1.3, §D): per group-version documents whose PATCH operations carry
/// `x-kubernetes-group-version-kind` and a `fieldValidation` parameter. CRD versions also publish
/// their `openAPIV3Schema` in `components.schemas` (so `kubectl explain` works for CRs). Built-in
/// kinds publish no schema, so kubectl falls back to its compiled-in patch metadata.
enum OpenAPI {
    static func root(_ r: Registry) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for group in r.groups {
            for version in r.groupVersions[group] ?? [] {
                let key = group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
                let hash = hashOf(document(r, group: group, version: version))
                paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=\(hash)")]
            }
        }
        return ["paths": .object(paths)]
    }

    static func document(_ r: Registry, group: String, version: String) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        var schemas: [String: JSONValue] = [:]
        let prefix = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        for t in r.resources(group: group, version: version) {
            let gvk: JSONValue = ["group": .string(t.group), "version": .string(t.version), "kind": .string(t.kind)]
            let base = t.namespaced ? "\(prefix)/namespaces/{namespace}/\(t.resource)" : "\(prefix)/\(t.resource)"
            var params: [JSONValue] = [
                ["name": "name", "in": "path", "required": true, "schema": ["type": "string", "uniqueItems": true]],
                ["name": "dryRun", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                ["name": "fieldManager", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                ["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                ["name": "force", "in": "query", "schema": ["type": "boolean", "uniqueItems": true]],
            ]
            if t.namespaced {
                params.append(["name": "namespace", "in": "path", "required": true, "schema": ["type": "string", "uniqueItems": true]])
            }
            let schemaName = definitionName(t)
            let ref: JSONValue = ["$ref": .string("#/components/schemas/\(schemaName)")]
            let response: JSONValue = t.isBuiltin ? ["200": ["description": "OK"]]
                : ["200": ["description": "OK", "content": ["application/json": ["schema": ref]]]]
            let opID = "patch\(t.namespaced ? "Namespaced" : "")\(t.kind)"
            paths["\(base)/{name}"] = [
                "get": ["operationId": .string("read\(t.kind)"), "x-kubernetes-action": "get",
                        "x-kubernetes-group-version-kind": gvk, "responses": response],
                "put": ["operationId": .string("replace\(t.kind)"), "x-kubernetes-action": "put",
                        "x-kubernetes-group-version-kind": gvk, "parameters": .array(params), "responses": response],
                "patch": ["operationId": .string(opID), "x-kubernetes-action": "patch",
                          "x-kubernetes-group-version-kind": gvk, "parameters": .array(params), "responses": response],
            ]
            paths[base] = [
                "post": ["operationId": .string("create\(t.kind)"), "x-kubernetes-action": "post",
                         "x-kubernetes-group-version-kind": gvk, "parameters": .array(params), "responses": response],
            ]
            if var schema = t.custom?.schemaJSON {
                schema["x-kubernetes-group-version-kind"] = [gvk]
                schemas[schemaName] = schema
            }
        }
        return ["openapi": "3.0.0", "info": ["title": "Kubernetes", "version": .string(KubeSimVersion.gitVersion)],
                "paths": .object(paths), "components": ["schemas": .object(schemas)]]
    }

    /// `io.k8s.api.apps.v1.Deployment` for built-ins, `com.example.v1.Widget` for CRs.
    static func definitionName(_ t: ResourceType) -> String {
        if t.isBuiltin {
            let g = t.group.isEmpty ? "core" : (t.group.split(separator: ".").first.map(String.init) ?? t.group)
            return "io.k8s.api.\(g).\(t.version).\(t.kind)"
        }
        let reversed = t.group.split(separator: ".").reversed().joined(separator: ".")
        return "\(reversed).\(t.version).\(t.kind)"
    }

    static func hashOf(_ doc: JSONValue) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in doc.serialized(sortedKeys: true) { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return String(h, radix: 16, uppercase: true)
    }
}

/// The Kubernetes version the simulator reports: kubectl's dispatcher runs the matching kubectl.
enum KubeSimVersion {
    static let gitVersion = "v1.32.4"
    static var document: JSONValue {
        ["major": "1", "minor": "32", "gitVersion": .string(gitVersion), "gitCommit": "kubesim",
         "gitTreeState": "clean", "buildDate": "2025-04-22T00:00:00Z", "goVersion": "go1.23.6",
         "compiler": "gc", "platform": "linux/amd64"]
    }
}
