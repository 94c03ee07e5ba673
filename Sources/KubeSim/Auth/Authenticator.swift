import Foundation
import Synchronization

/// An authenticated identity.
public struct UserInfo: Sendable, Equatable {
    public var name: String
    public var groups: [String]
    public init(name: String, groups: [String] = []) {
        self.name = name
        self.groups = groups
    }
    /// Members of `system:masters` bypass RBAC, as on a real cluster.
    public static let admin = UserInfo(name: "kubesim-admin", groups: ["system:masters", "system:authenticated"])
}

/// Bearer tokens → users (§N), plus the RBAC authorizer switch.
final class Authenticator: Sendable {
    private struct State {
        var tokens: [String: UserInfo] = [:]
    }
    private let state = Mutex(State())
    /// Without a token: nil → 401; otherwise this identity.
    let anonymous: UserInfo?
    let rbac: Bool

    init(anonymous: UserInfo?, rbac: Bool) {
        self.anonymous = anonymous
        self.rbac = rbac
    }

    static func newToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 24)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The token of `user`, creating one (with `groups`) on first use.
    func token(for user: String, groups: [String]) -> String {
        state.withLock { s in
            if let existing = s.tokens.first(where: { $0.value.name == user })?.key { return existing }
            let t = Self.newToken()
            s.tokens[t] = UserInfo(name: user, groups: groups + ["system:authenticated"])
            return t
        }
    }

    func addToken(_ token: String, user: UserInfo) {
        state.withLock { $0.tokens[token] = user }
    }

    /// Replaces every token of `user` with a new one; old tokens get 401 from now on.
    func rotate(_ user: String) -> String? {
        state.withLock { s in
            guard let info = s.tokens.first(where: { $0.value.name == user })?.value else { return nil }
            s.tokens = s.tokens.filter { $0.value.name != user }
            let t = Self.newToken()
            s.tokens[t] = info
            return t
        }
    }

    func authenticate(_ header: String?) -> Result<UserInfo, KubeAPIError> {
        guard let header, !header.isEmpty else {
            if let anonymous { return .success(anonymous) }
            return .failure(.unauthorized)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .failure(.unauthorized) }
        let token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        guard let user = state.withLock({ $0.tokens[token] }) else { return .failure(.unauthorized) }
        return .success(user)
    }

    func authorize(_ user: UserInfo, verb: String, route: ResourceRoute, store: Store) throws(KubeAPIError) {
        guard rbac, !user.groups.contains("system:masters") else { return }
        let t = route.type
        let resource = route.subresource.map { "\(t.resource)/\($0)" } ?? t.resource
        var namespace = route.namespace
        if t.tag == .namespace, let name = route.name { namespace = name }
        let request = RBAC.Request(user: user, verb: verb, group: t.group, resource: t.resource,
                                   subresource: route.subresource, namespace: namespace, name: route.name)
        if store.read({ RBAC.allows(request, state: $0) }) { return }
        var why = "User \(goQuote(user.name)) cannot \(verb) resource \(goQuote(resource)) in API group \(goQuote(t.group))"
        why += namespace.map { " in the namespace \(goQuote($0))" } ?? " at the cluster scope"
        throw KubeAPIError.forbidden(t.groupResource, route.name, why)
    }
}
