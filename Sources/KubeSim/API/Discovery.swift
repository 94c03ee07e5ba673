import DynamicJSON

/// Legacy and aggregated (apidiscovery.k8s.io/v2) discovery documents (§C), built from the
/// registry on every request so CRD changes show at once.
enum Discovery {
    static let aggregatedContentType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

    static func apiVersions(serverAddress: String) -> JSONValue {
        ["kind": "APIVersions", "versions": ["v1"],
         "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
    }

    static func groupList(_ r: Registry) -> JSONValue {
        ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(r.groups.filter { $0 != "" }.map { group(r, $0) })]
    }

    static func group(_ r: Registry, _ name: String) -> JSONValue {
        let versions = (r.groupVersions[name] ?? []).map { v -> JSONValue in ["groupVersion": .string("\(name)/\(v)"), "version": .string(v)] }
        var g: JSONValue = ["name": .string(name), "versions": .array(versions)]
        if let first = versions.first { g["preferredVersion"] = first }
        return g
    }

    static func groupDocument(_ r: Registry, _ name: String) -> JSONValue {
        var g = group(r, name)
        g["kind"] = "APIGroup"
        g["apiVersion"] = "v1"
        return g
    }

    static func resourceList(_ r: Registry, group: String, version: String) -> JSONValue {
        var resources: [JSONValue] = []
        for t in r.resources(group: group, version: version) {
            var entry: JSONValue = [
                "name": .string(t.resource), "singularName": .string(t.singular), "namespaced": .bool(t.namespaced),
                "kind": .string(t.kind), "verbs": .array(t.verbs.map { .string($0) }),
                "storageVersionHash": .string(storageVersionHash(t)),
            ]
            if !t.shortNames.isEmpty { entry["shortNames"] = .array(t.shortNames.map { .string($0) }) }
            if !t.categories.isEmpty { entry["categories"] = .array(t.categories.map { .string($0) }) }
            resources.append(entry)
            for sub in t.subresources.sorted() {
                var s: JSONValue = ["name": .string("\(t.resource)/\(sub)"), "singularName": "", "namespaced": .bool(t.namespaced),
                                    "kind": .string(t.kind), "verbs": .array(subresourceVerbs(sub).map { .string($0) })]
                if sub == "scale" {
                    s["group"] = "autoscaling"
                    s["version"] = "v1"
                    s["kind"] = "Scale"
                }
                if sub == "log" { s["kind"] = "Pod" }
                resources.append(s)
            }
        }
        return ["kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"), "resources": .array(resources)]
    }

    static func subresourceVerbs(_ sub: String) -> [String] {
        switch sub {
        case "log": ["get"]
        case "finalize": ["update"]
        default: ["get", "patch", "update"]
        }
    }

    /// The aggregated document for `/api` (core only) or `/apis` (all named groups).
    static func aggregated(_ r: Registry, core: Bool) -> JSONValue {
        let groups = core ? [""] : r.groups.filter { $0 != "" }
        let items: [JSONValue] = groups.map { group in
            let versions: [JSONValue] = (r.groupVersions[group] ?? []).map { version in
                let resources: [JSONValue] = r.resources(group: group, version: version).map { t in
                    var entry: JSONValue = [
                        "resource": .string(t.resource),
                        "responseKind": ["group": .string(t.group), "version": .string(t.version), "kind": .string(t.kind)],
                        "scope": .string(t.namespaced ? "Namespaced" : "Cluster"),
                        "singularResource": .string(t.singular), "verbs": .array(t.verbs.map { .string($0) }),
                    ]
                    if !t.shortNames.isEmpty { entry["shortNames"] = .array(t.shortNames.map { .string($0) }) }
                    if !t.categories.isEmpty { entry["categories"] = .array(t.categories.map { .string($0) }) }
                    if !t.subresources.isEmpty {
                        entry["subresources"] = .array(t.subresources.sorted().map { sub in
                            let kind: JSONValue = sub == "scale"
                                ? ["group": "autoscaling", "version": "v1", "kind": "Scale"]
                                : ["group": .string(t.group), "version": .string(t.version), "kind": .string(t.kind)]
                            return ["subresource": .string(sub), "responseKind": kind,
                                    "verbs": .array(subresourceVerbs(sub).map { .string($0) })]
                        })
                    }
                    return entry
                }
                return ["version": .string(version), "freshness": "Current", "resources": .array(resources)]
            }
            return ["metadata": ["name": .string(group)], "versions": .array(versions)]
        }
        return ["kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": [:], "items": .array(items)]
    }

    /// A stable short hash of the storage identity, as real servers publish one.
    static func storageVersionHash(_ t: ResourceType) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in "\(t.storage)/\(t.storageAPIVersion)/\(t.kind)".utf8 {
            h = (h ^ UInt64(b)) &* 0x100000001b3
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        return String((0..<11).map { alphabet[Int((h >> UInt64($0 * 6)) & 63)] }) + "="
    }
}
