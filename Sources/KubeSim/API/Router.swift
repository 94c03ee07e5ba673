/// URL layout (§B): what a path addresses.
enum Route: Sendable {
    case version
    case health
    case openAPIRoot
    case openAPIGroupVersion(group: String, version: String)
    case openAPIV2
    case coreVersions
    case groupList
    case group(String)
    case resourceList(group: String, version: String)
    case resource(ResourceRoute)
    case notFound
}

struct ResourceRoute: Sendable {
    var type: ResourceType
    var namespace: String?
    var name: String?
    var subresource: String?
}

enum Router {
    static func route(_ path: String, registry: Registry) -> Route {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let first = segments.first else { return .notFound }
        switch first {
        case "version" where segments.count == 1: return .version
        case "healthz", "livez", "readyz": return .health
        case "openapi":
            if segments.count == 2, segments[1] == "v3" { return .openAPIRoot }
            if segments.count == 2, segments[1] == "v2" { return .openAPIV2 }
            if segments.count == 4, segments[1] == "v3", segments[2] == "api" { return .openAPIGroupVersion(group: "", version: segments[3]) }
            if segments.count == 5, segments[1] == "v3", segments[2] == "apis" {
                return .openAPIGroupVersion(group: segments[3], version: segments[4])
            }
            return .notFound
        case "api":
            if segments.count == 1 { return .coreVersions }
            guard registry.groupVersions[""]?.contains(segments[1]) == true else { return .notFound }
            return resource(group: "", version: segments[1], rest: Array(segments.dropFirst(2)), registry: registry)
        case "apis":
            if segments.count == 1 { return .groupList }
            let group = segments[1]
            guard let versions = registry.groupVersions[group], group != "" else { return .notFound }
            if segments.count == 2 { return .group(group) }
            guard versions.contains(segments[2]) else { return .notFound }
            return resource(group: group, version: segments[2], rest: Array(segments.dropFirst(3)), registry: registry)
        default:
            return .notFound
        }
    }

    private static func resource(group: String, version: String, rest: [String], registry: Registry) -> Route {
        if rest.isEmpty { return .resourceList(group: group, version: version) }
        func lookup(_ r: String) -> ResourceType? { registry.lookup(group: group, version: version, resource: r) }
        // namespaces/<ns>/<resource>[/<name>[/<sub>]] for namespaced kinds.
        if rest[0] == "namespaces", rest.count >= 3, let t = lookup(rest[2]), !(rest.count == 3 && ["status", "finalize"].contains(rest[2])) {
            guard t.namespaced, rest.count <= 5 else { return .notFound }
            let sub = rest.count == 5 ? rest[4] : nil
            if let sub, !t.subresources.contains(sub) { return .notFound }
            return .resource(ResourceRoute(type: t, namespace: rest[1], name: rest.count >= 4 ? rest[3] : nil, subresource: sub))
        }
        guard let t = lookup(rest[0]), rest.count <= 3 else { return .notFound }
        if t.namespaced, rest.count > 1 { return .notFound }
        let sub = rest.count == 3 ? rest[2] : nil
        if let sub, !t.subresources.contains(sub) { return .notFound }
        return .resource(ResourceRoute(type: t, namespace: nil, name: rest.count >= 2 ? rest[1] : nil, subresource: sub))
    }
}
