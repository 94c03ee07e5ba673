import KubeModel

/// REST paths of a resource type (KubeModel's `ResourceType`). Built-ins and CRDs are
/// described the same way, so the client has no per-kind code.
extension ResourceType {
    /// "configmaps", "deployments.apps": the form the API server uses in messages.
    public var qualifiedPlural: String { group.isEmpty ? plural : "\(plural).\(group)" }

    /// `/api/v1` or `/apis/<group>/<version>`.
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The collection URL path; `namespace` nil means all namespaces (or a cluster-scoped kind).
    public func collectionPath(namespace: String?) -> String {
        if namespaced, let namespace, !namespace.isEmpty {
            return "\(groupVersionPath)/namespaces/\(pathSegment(namespace))/\(plural)"
        }
        return "\(groupVersionPath)/\(plural)"
    }

    public func objectPath(namespace: String?, name: String, subresource: String? = nil) -> String {
        var path = "\(collectionPath(namespace: namespace))/\(pathSegment(name))"
        if let subresource { path += "/\(subresource)" }
        return path
    }
}

/// Percent-encodes one path segment (names are DNS-1123, but never trust input to be).
func pathSegment(_ s: String) -> String { percentEncode(s, allowed: unreservedOrSubDelims) }

/// Percent-encodes a query component.
func queryComponent(_ s: String) -> String { percentEncode(s, allowed: unreserved) }

private let unreserved: Set<UInt8> = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
private let unreservedOrSubDelims: Set<UInt8> = unreserved.union(Array(":@!$&'()*+,;=".utf8))

private func percentEncode(_ s: String, allowed: Set<UInt8>) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for byte in s.utf8 {
        if allowed.contains(byte) {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            let hex = Array("0123456789ABCDEF".utf8)
            out.unicodeScalars.append("%")
            out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
            out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
        }
    }
    return out
}
