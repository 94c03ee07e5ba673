import DynamicJSON

/// An RBAC authorizer over the Role/ClusterRole/RoleBinding/ClusterRoleBinding objects stored in
/// the simulator itself, so applying a project's RBAC manifests makes them enforced.
enum RBAC {
    struct Request {
        var user: UserInfo
        var verb: String
        var group: String
        var resource: String
        var subresource: String?
        var namespace: String?
        var name: String?
    }

    static let rbacGroup = "rbac.authorization.k8s.io"

    static func allows(_ r: Request, state: StoreState) -> Bool {
        let bindingsGR = GroupResource(group: rbacGroup, resource: "clusterrolebindings")
        for binding in state.tables[bindingsGR]?.values ?? [:].values where subjectsMatch(binding, r.user, bindingNamespace: nil) {
            if rulesAllow(roleRules(binding, bindingNamespace: nil, state: state), r) { return true }
        }
        if let ns = r.namespace {
            let rbGR = GroupResource(group: rbacGroup, resource: "rolebindings")
            for (key, binding) in state.tables[rbGR] ?? [:] where key.namespace == ns {
                if subjectsMatch(binding, r.user, bindingNamespace: ns), rulesAllow(roleRules(binding, bindingNamespace: ns, state: state), r) {
                    return true
                }
            }
        }
        return false
    }

    private static func subjectsMatch(_ binding: JSONValue, _ user: UserInfo, bindingNamespace: String?) -> Bool {
        for s in binding["subjects"]?.arrayValue ?? [] {
            let name = s["name"]?.stringValue ?? ""
            switch s["kind"]?.stringValue {
            case "User"?: if name == user.name { return true }
            case "Group"?: if user.groups.contains(name) { return true }
            case "ServiceAccount"?:
                let ns = s["namespace"]?.stringValue ?? bindingNamespace ?? ""
                if user.name == "system:serviceaccount:\(ns):\(name)" { return true }
            default: continue
            }
        }
        return false
    }

    private static func roleRules(_ binding: JSONValue, bindingNamespace: String?, state: StoreState) -> [JSONValue] {
        let ref = binding["roleRef"] ?? [:]
        let name = ref["name"]?.stringValue ?? ""
        switch ref["kind"]?.stringValue {
        case "ClusterRole"?:
            let role = state.tables[GroupResource(group: rbacGroup, resource: "clusterroles")]?[ObjectKey(namespace: "", name: name)]
            return role?["rules"]?.arrayValue ?? []
        case "Role"?:
            guard let ns = bindingNamespace else { return [] }
            let role = state.tables[GroupResource(group: rbacGroup, resource: "roles")]?[ObjectKey(namespace: ns, name: name)]
            return role?["rules"]?.arrayValue ?? []
        default:
            return []
        }
    }

    static func rulesAllow(_ rules: [JSONValue], _ r: Request) -> Bool {
        rules.contains { rule in
            let verbs = strings(rule["verbs"])
            guard verbs.contains("*") || verbs.contains(r.verb) else { return false }
            let groups = strings(rule["apiGroups"])
            guard groups.contains("*") || groups.contains(r.group) else { return false }
            let resources = strings(rule["resources"])
            let combined = r.subresource.map { "\(r.resource)/\($0)" } ?? r.resource
            let resourceOK = resources.contains("*") || resources.contains(combined)
                || (r.subresource != nil && resources.contains("*/\(r.subresource!)"))
                || (r.subresource == nil ? false : resources.contains("\(r.resource)/*"))
            guard resourceOK else { return false }
            let names = strings(rule["resourceNames"])
            if names.isEmpty { return true }
            guard let name = r.name else { return false }
            return names.contains(name)
        }
    }

    private static func strings(_ v: JSONValue?) -> [String] { (v?.arrayValue ?? []).compactMap(\.stringValue) }
}
