import DynamicJSON

/// A group and a plural resource name: the storage identity of a kind ("deployments.apps").
public struct GroupResource: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var group: String
    public var resource: String
    public init(group: String, resource: String) {
        self.group = group
        self.resource = resource
    }
    /// `configmaps` or `deployments.apps`, as the real server qualifies resources in messages.
    public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }
    public static func < (a: GroupResource, b: GroupResource) -> Bool { (a.group, a.resource) < (b.group, b.resource) }
}

/// The key of one stored object inside its resource: namespace ("" for cluster scope) and name.
/// Ordered like etcd keys: by namespace, then name.
struct ObjectKey: Hashable, Sendable, Comparable {
    var namespace: String
    var name: String
    static func < (a: ObjectKey, b: ObjectKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
}

/// Which built-in behaviour a resource gets (defaulting, validation, printers, field selectors).
enum KindTag: Sendable, Equatable {
    case namespace, secret, configMap, event, eventV1, pvc, pod, serviceAccount
    case deployment, statefulSet, replicaSet, job, cronJob, lease
    case role, clusterRole, roleBinding, clusterRoleBinding, crd
    case custom
}

/// When `metadata.generation` changes (contract §F).
enum GenerationRule: Sendable {
    /// Not tracked; the field stays absent.
    case none
    /// +1 when `spec` changes.
    case spec
    /// +1 when `spec` or `metadata.annotations` change (Deployment).
    case specOrAnnotations
    /// +1 when anything outside `metadata` changes (custom resources).
    case allButMetadata
}

/// Where a scale subresource reads and writes replicas (dot paths without the leading dot).
struct ScalePaths: Sendable {
    var specReplicas: [String]
    var statusReplicas: [String]
    var labelSelector: [String]?
}

/// A CR printer column from `additionalPrinterColumns`.
struct PrinterColumn: Sendable {
    var name: String
    var type: String
    var format: String
    var description: String
    var priority: Int
    var jsonPath: String
}

/// Everything the server needs to serve one resource in one group-version.
struct ResourceType: Sendable {
    var group: String
    var version: String
    var resource: String
    var singular: String
    var kind: String
    var listKind: String
    var namespaced: Bool
    var shortNames: [String] = []
    var categories: [String] = []
    var verbs: [String] = ResourceType.allVerbs
    /// Served subresources: "status", "scale", "log", "finalize".
    var subresources: Set<String> = []
    var scale: ScalePaths?
    var generation: GenerationRule = .none
    var tag: KindTag
    /// Where objects live; differs from (group, resource) only for events.k8s.io events.
    var storage: GroupResource
    /// The apiVersion objects are stored with.
    var storageAPIVersion: String
    /// PUT may create (Leases, Events).
    var createOnUpdate = false
    /// PUT without `metadata.resourceVersion` is 422 (CRs, Leases).
    var requireResourceVersion = false
    /// Set for custom resources: the CRD version's schema, columns and selectable fields.
    var custom: CustomVersion?

    static let allVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    var groupResource: GroupResource { GroupResource(group: group, resource: resource) }
    var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    var isBuiltin: Bool { tag != .custom }
    var hasStatus: Bool { subresources.contains("status") }

    init(group: String, version: String, resource: String, kind: String, namespaced: Bool, tag: KindTag,
         singular: String? = nil) {
        self.group = group
        self.version = version
        self.resource = resource
        self.kind = kind
        self.singular = singular ?? kind.lowercased()
        self.listKind = kind + "List"
        self.namespaced = namespaced
        self.tag = tag
        self.storage = GroupResource(group: group, resource: resource)
        self.storageAPIVersion = group.isEmpty ? version : "\(group)/\(version)"
    }
}

/// The per-version part of a CRD that the serving path needs.
struct CustomVersion: Sendable {
    var crdName: String
    var schema: Schema?
    var columns: [PrinterColumn]
    var selectableFields: [String]
    /// True when `x-kubernetes-preserve-unknown-fields` is set at the root.
    var preserveUnknownRoot: Bool
    /// The raw `openAPIV3Schema`, served in `/openapi/v3`.
    var schemaJSON: JSONValue? = nil
}
