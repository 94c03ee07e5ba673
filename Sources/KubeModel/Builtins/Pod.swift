public struct Pod: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Pod", plural: "pods")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?
    public init(metadata: ObjectMeta, spec: PodSpec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?
    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodSpec: Codable, Sendable, Hashable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var volumes: [Volume]?
    /// `Always`, `OnFailure`, `Never`.
    public var restartPolicy: String?
    public var serviceAccountName: String?
    public var automountServiceAccountToken: Bool?
    public var nodeSelector: [String: String]?
    public var tolerations: [Toleration]?
    public var securityContext: PodSecurityContext?
    public var imagePullSecrets: [LocalObjectReference]?
    public var priorityClassName: String?
    public var activeDeadlineSeconds: Int64?
    public var terminationGracePeriodSeconds: Int64?
    public init(containers: [Container]) { self.containers = containers }
}

public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var imagePullPolicy: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var envFrom: [EnvFromSource]?
    public var volumeMounts: [VolumeMount]?
    public var resources: ResourceRequirements?
    public var securityContext: SecurityContext?
    public var terminationMessagePath: String?
    /// `File` or `FallbackToLogsOnError`.
    public var terminationMessagePolicy: String?
    public init(name: String, image: String? = nil) {
        self.name = name
        self.image = image
    }
}

public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?
    public init(name: String, value: String? = nil, valueFrom: EnvVarSource? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

public struct EnvVarSource: Codable, Sendable, Hashable {
    public var secretKeyRef: SecretKeySelector?
    public var configMapKeyRef: ConfigMapKeySelector?
    public var fieldRef: ObjectFieldSelector?
    public init(secretKeyRef: SecretKeySelector? = nil) { self.secretKeyRef = secretKeyRef }
}

public struct ObjectFieldSelector: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var fieldPath: String
    public init(fieldPath: String) { self.fieldPath = fieldPath }
}

public struct EnvFromSource: Codable, Sendable, Hashable {
    public var prefix: String?
    public var secretRef: OptionalLocalReference?
    public var configMapRef: OptionalLocalReference?
    public init(secretRef: OptionalLocalReference? = nil) { self.secretRef = secretRef }
}

public struct OptionalLocalReference: Codable, Sendable, Hashable {
    public var name: String
    public var optional: Bool?
    public init(name: String) { self.name = name }
}

public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var persistentVolumeClaim: PVCVolumeSource?
    public var secret: SecretVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var emptyDir: EmptyDirVolumeSource?
    public init(name: String) { self.name = name }
}

public struct PVCVolumeSource: Codable, Sendable, Hashable {
    public var claimName: String
    public var readOnly: Bool?
    public init(claimName: String, readOnly: Bool? = nil) {
        self.claimName = claimName
        self.readOnly = readOnly
    }
}

public struct KeyToPath: Codable, Sendable, Hashable {
    public var key: String
    public var path: String
    public var mode: Int32?
}

public struct SecretVolumeSource: Codable, Sendable, Hashable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
    public init(secretName: String) { self.secretName = secretName }
}

public struct ConfigMapVolumeSource: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
    public init(name: String) { self.name = name }
}

public struct EmptyDirVolumeSource: Codable, Sendable, Hashable {
    public var medium: String?
    public var sizeLimit: Quantity?
    public init() {}
}

public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var mountPath: String
    public var subPath: String?
    public var readOnly: Bool?
    public init(name: String, mountPath: String, subPath: String? = nil, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.subPath = subPath
        self.readOnly = readOnly
    }
}

public struct SecurityContext: Codable, Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var privileged: Bool?
    public var capabilities: Capabilities?
    public var seccompProfile: SeccompProfile?
    public init() {}
}

public struct PodSecurityContext: Codable, Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var fsGroup: Int64?
    public var seccompProfile: SeccompProfile?
    public init() {}
}

public struct Capabilities: Codable, Sendable, Hashable {
    public var add: [String]?
    public var drop: [String]?
    public init(drop: [String]? = nil) { self.drop = drop }
}

public struct SeccompProfile: Codable, Sendable, Hashable {
    /// `RuntimeDefault`, `Localhost`, `Unconfined`.
    public var type: String
    public var localhostProfile: String?
    public init(type: String) { self.type = type }
}

public struct PodStatus: Codable, Sendable, Hashable {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`.
    public var phase: String?
    public var conditions: [PodCondition]?
    public var message: String?
    public var reason: String?
    public var podIP: String?
    public var startTime: Time?
    public var containerStatuses: [ContainerStatus]?
    public var initContainerStatuses: [ContainerStatus]?
    public init(phase: String? = nil) { self.phase = phase }
}

public struct PodCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: ConditionStatus
    public var lastTransitionTime: Time?
    public var reason: String?
    public var message: String?
}

public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var ready: Bool
    public var restartCount: Int
    public var image: String?
    public var imageID: String?
    public var containerID: String?
    public var started: Bool?
    public var state: ContainerState?
    public var lastState: ContainerState?
    public init(name: String, ready: Bool = false, restartCount: Int = 0, state: ContainerState? = nil) {
        self.name = name
        self.ready = ready
        self.restartCount = restartCount
        self.state = state
    }
}

public struct ContainerState: Codable, Sendable, Hashable {
    public var waiting: ContainerStateWaiting?
    public var running: ContainerStateRunning?
    public var terminated: ContainerStateTerminated?
    public init(terminated: ContainerStateTerminated? = nil) { self.terminated = terminated }
}

public struct ContainerStateWaiting: Codable, Sendable, Hashable {
    public var reason: String?
    public var message: String?
}

public struct ContainerStateRunning: Codable, Sendable, Hashable {
    public var startedAt: Time?
}

public struct ContainerStateTerminated: Codable, Sendable, Hashable {
    public var exitCode: Int32
    public var signal: Int32?
    public var reason: String?
    /// The container's termination message (`/dev/termination-log`): the agent's result JSON.
    public var message: String?
    public var startedAt: Time?
    public var finishedAt: Time?
    public var containerID: String?
    public init(exitCode: Int32, reason: String? = nil, message: String? = nil) {
        self.exitCode = exitCode
        self.reason = reason
        self.message = message
    }
}

/// A kind whose informer cache keeps less than the API object: only what controllers read.
/// A trimmed copy must never be written back (an update from it would drop the trimmed fields).
public protocol CacheTrimmed: KubeResource {
    func trimmedForCache() -> Self
}

extension Pod: CacheTrimmed {
    /// Controllers read a Pod's metadata (labels, owners) and status (phase, readiness, the
    /// agent's termination message). The spec — containers, env, volumes — is most of its size
    /// and stays out of the cache; with thousands of finished Job Pods that adds up.
    public func trimmedForCache() -> Pod {
        var copy = self
        copy.spec = nil
        return copy
    }
}
