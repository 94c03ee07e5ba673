public struct Job: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "batch", version: "v1", kind: "Job", plural: "jobs")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JobSpec?
    public var status: JobStatus?
    public init(metadata: ObjectMeta, spec: JobSpec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct JobSpec: Codable, Sendable, Hashable {
    public var template: PodTemplateSpec
    public var parallelism: Int32?
    public var completions: Int32?
    public var backoffLimit: Int32?
    public var activeDeadlineSeconds: Int64?
    public var ttlSecondsAfterFinished: Int32?
    public var suspend: Bool?
    public var selector: LabelSelector?
    public var manualSelector: Bool?
    public init(template: PodTemplateSpec) { self.template = template }
}

public struct JobStatus: Codable, Sendable, Hashable {
    public var conditions: [JobCondition]?
    public var startTime: Time?
    public var completionTime: Time?
    public var active: Int32?
    public var succeeded: Int32?
    public var failed: Int32?
    public var ready: Int32?
    public init() {}
    /// True when a `Complete` or `Failed` condition is `True`.
    public var isFinished: Bool {
        conditions?.contains { ($0.type == "Complete" || $0.type == "Failed") && $0.status == .true } ?? false
    }
}

public struct JobCondition: Codable, Sendable, Hashable {
    /// `Complete`, `Failed`, `Suspended`, `FailureTarget`, `SuccessCriteriaMet`.
    public var type: String
    public var status: ConditionStatus
    public var lastProbeTime: Time?
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?
    public init(type: String, status: ConditionStatus, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}

public struct Deployment: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "apps", version: "v1", kind: "Deployment", plural: "deployments")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: WorkloadSpec?
    public var status: WorkloadStatus?
    public init(metadata: ObjectMeta, spec: WorkloadSpec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct StatefulSet: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: WorkloadSpec?
    public var status: WorkloadStatus?
    public init(metadata: ObjectMeta, spec: WorkloadSpec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// The parts of Deployment and StatefulSet specs Backstop reads (replicas, the pod template).
public struct WorkloadSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var selector: LabelSelector?
    public var template: PodTemplateSpec?
    public var serviceName: String?
    public init(replicas: Int32? = nil, selector: LabelSelector? = nil, template: PodTemplateSpec? = nil) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }
}

public struct WorkloadStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var replicas: Int32?
    public var readyReplicas: Int32?
    public var updatedReplicas: Int32?
    public var availableReplicas: Int32?
    public var currentReplicas: Int32?
    public init() {}
}

/// coordination.k8s.io/v1 Lease (leader election).
public struct Lease: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public struct Spec: Codable, Sendable, Hashable {
        public var holderIdentity: String?
        public var leaseDurationSeconds: Int32?
        public var acquireTime: MicroTime?
        public var renewTime: MicroTime?
        public var leaseTransitions: Int32?
        public init(holderIdentity: String? = nil, leaseDurationSeconds: Int32? = nil) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
        }
    }
    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}
