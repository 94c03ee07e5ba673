/// The built-in kinds the simulator serves, in discovery order.
enum BuiltinResources {
    static let all: [ResourceType] = {
        var list: [ResourceType] = []
        func add(_ group: String, _ version: String, _ resource: String, _ kind: String, namespaced: Bool = true,
                 tag: KindTag, short: [String] = [], categories: [String] = [], sub: Set<String> = [],
                 generation: GenerationRule = .none, configure: (inout ResourceType) -> Void = { _ in })
        {
            var t = ResourceType(group: group, version: version, resource: resource, kind: kind,
                                 namespaced: namespaced, tag: tag)
            t.shortNames = short
            t.categories = categories
            t.subresources = sub
            t.generation = generation
            configure(&t)
            list.append(t)
        }
        let replicasPaths = ScalePaths(specReplicas: ["spec", "replicas"], statusReplicas: ["status", "replicas"],
                                       labelSelector: nil)

        add("", "v1", "configmaps", "ConfigMap", tag: .configMap, short: ["cm"])
        add("", "v1", "events", "Event", tag: .event, short: ["ev"]) { $0.createOnUpdate = true }
        add("", "v1", "namespaces", "Namespace", namespaced: false, tag: .namespace, short: ["ns"],
            sub: ["status", "finalize"]) {
            $0.verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        }
        add("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", tag: .pvc, short: ["pvc"], sub: ["status"])
        add("", "v1", "pods", "Pod", tag: .pod, short: ["po"], categories: ["all"], sub: ["status", "log"])
        add("", "v1", "secrets", "Secret", tag: .secret)
        add("", "v1", "serviceaccounts", "ServiceAccount", tag: .serviceAccount, short: ["sa"])
        add("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced: false,
            tag: .crd, short: ["crd", "crds"], categories: ["api-extensions"], sub: ["status"], generation: .spec)
        add("apps", "v1", "deployments", "Deployment", tag: .deployment, short: ["deploy"], categories: ["all"],
            sub: ["status", "scale"], generation: .specOrAnnotations) { $0.scale = replicasPaths }
        add("apps", "v1", "replicasets", "ReplicaSet", tag: .replicaSet, short: ["rs"], categories: ["all"],
            sub: ["status", "scale"], generation: .spec) { $0.scale = replicasPaths }
        add("apps", "v1", "statefulsets", "StatefulSet", tag: .statefulSet, short: ["sts"], categories: ["all"],
            sub: ["status", "scale"], generation: .spec) { $0.scale = replicasPaths }
        add("batch", "v1", "cronjobs", "CronJob", tag: .cronJob, short: ["cj"], categories: ["all"], sub: ["status"],
            generation: .spec)
        add("batch", "v1", "jobs", "Job", tag: .job, categories: ["all"], sub: ["status"], generation: .spec)
        add("coordination.k8s.io", "v1", "leases", "Lease", tag: .lease) {
            $0.createOnUpdate = true
            $0.requireResourceVersion = true
        }
        add("events.k8s.io", "v1", "events", "Event", tag: .eventV1, short: ["ev"]) {
            // One store seen through two API versions (contract §Q).
            $0.storage = GroupResource(group: "", resource: "events")
            $0.storageAPIVersion = "v1"
            $0.createOnUpdate = true
        }
        let rbac = "rbac.authorization.k8s.io"
        add(rbac, "v1", "clusterrolebindings", "ClusterRoleBinding", namespaced: false, tag: .clusterRoleBinding)
        add(rbac, "v1", "clusterroles", "ClusterRole", namespaced: false, tag: .clusterRole)
        add(rbac, "v1", "rolebindings", "RoleBinding", tag: .roleBinding)
        add(rbac, "v1", "roles", "Role", tag: .role)
        return list
    }()

    /// Group order in discovery (core first, as the real server lists them).
    static let groupOrder = ["", "apps", "events.k8s.io", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io",
                             "apiextensions.k8s.io"]
}
