/// Closed-loop rotation of keys in one Secret: new value, applied at the source, consumers
/// restarted, old value kept until they are healthy.
public struct SecretRotation: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: Backstop.group, version: Backstop.version,
                                                  kind: "SecretRotation", plural: "secretrotations")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: SecretRotationSpec
    public var status: SecretRotationStatus?
    public init(metadata: ObjectMeta, spec: SecretRotationSpec, status: SecretRotationStatus? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct SecretRotationSpec: Codable, Sendable, Hashable {
    public var secretRef: LocalObjectReference
    /// Cron, macro or `@every`; only on demand (run-now annotation) when omitted.
    public var schedule: String?
    public var timeZone: String?
    public var suspend: Bool?
    public var keys: [RotatedKey]
    public var apply: RotationApply?
    public var consumers: RotationConsumers?
    public var rollout: RotationRollout?
    public var keepPrevious: Bool?
    public var notify: [Notification]?
    public init(secretRef: LocalObjectReference, schedule: String? = nil, keys: [RotatedKey]) {
        self.secretRef = secretRef
        self.schedule = schedule
        self.keys = keys
    }
}

/// One key of the Secret and where its new value comes from: exactly one of `generate`/`from`.
public struct RotatedKey: Codable, Sendable, Hashable {
    public var key: String
    public var generate: GenerateSpec?
    /// Copy from a staged Secret (a credential issued elsewhere, e.g. a vendor token).
    public var from: SecretKeySelector?
    public init(key: String, generate: GenerateSpec? = nil, from: SecretKeySelector? = nil) {
        self.key = key
        self.generate = generate
        self.from = from
    }
}

public struct GenerateSpec: Codable, Sendable, Hashable {
    public var length: Int?
    public var charset: Charset?
    public init(length: Int? = nil, charset: Charset? = nil) {
        self.length = length
        self.charset = charset
    }
}

public struct Charset: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let alphanumeric: Self = "Alphanumeric"
    public static let hex: Self = "Hex"
    public static let base64URL: Self = "Base64URL"
    public static let printable: Self = "Printable"
    public static let knownValues: [Self] = [.alphanumeric, .hex, .base64URL, .printable]
}

/// Makes the new value real at the source (exactly one member).
public struct RotationApply: Codable, Sendable, Hashable {
    public var postgres: PostgresRoleApply?
    public var redis: RedisUserApply?
    public init(postgres: PostgresRoleApply? = nil, redis: RedisUserApply? = nil) {
        self.postgres = postgres
        self.redis = redis
    }
}

public struct PostgresRoleApply: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var database: String?
    public var sslMode: PostgresSSLMode?
    public var role: String
    /// Which rotated key holds the role's password.
    public var passwordKey: String
    public var adminSecretRef: AdminCredentialsRef
    /// `Password` (default): the role's password changes. `DatedRole`: each rotation creates a
    /// login role `<role>_<yyyymmddhhmmss>` that is a member of `role`, and the Secret's
    /// `usernameKey` and password switch together; the previous dated role keeps working until
    /// the next successful rotation drops it (zero downtime).
    public var strategy: PostgresRotationStrategy?
    /// DatedRole: the Secret key holding the login role's name.
    public var usernameKey: String?
    public init(host: String, role: String, passwordKey: String, adminSecretRef: AdminCredentialsRef) {
        self.host = host
        self.role = role
        self.passwordKey = passwordKey
        self.adminSecretRef = adminSecretRef
    }
}

public struct PostgresRotationStrategy: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let password: Self = "Password"
    public static let datedRole: Self = "DatedRole"
    public static let knownValues: [Self] = [.password, .datedRole]
}

public struct RedisUserApply: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    /// ACL user whose password changes; both passwords stay valid during the rollout.
    public var user: String
    public var passwordKey: String
    public var adminSecretRef: AdminCredentialsRef
    public init(host: String, user: String, passwordKey: String, adminSecretRef: AdminCredentialsRef) {
        self.host = host
        self.user = user
        self.passwordKey = passwordKey
        self.adminSecretRef = adminSecretRef
    }
}

public struct RotationConsumers: Codable, Sendable, Hashable {
    /// Also restart every Deployment/StatefulSet whose pod template references the Secret
    /// (env, envFrom, volume); default true.
    public var discover: Bool?
    /// Always restarted, in this order.
    public var workloads: [WorkloadReference]?
    public init(discover: Bool? = nil, workloads: [WorkloadReference]? = nil) {
        self.discover = discover
        self.workloads = workloads
    }
}

public struct RotationRollout: Codable, Sendable, Hashable {
    public var maxConcurrent: Int?
    public var timeout: String?
    public init(maxConcurrent: Int? = nil, timeout: String? = nil) {
        self.maxConcurrent = maxConcurrent
        self.timeout = timeout
    }
}

public struct RotationPhase: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let knownValues: [Self] = ["Idle", "Generating", "Applying", "Updating", "Restarting",
                                             "Verifying", "RollingBack", "Succeeded", "Failed", "RolledBack"]
}

public struct SecretRotationStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var conditions: [Condition]?
    public var phase: RotationPhase?
    public var lastRotationTime: Time?
    public var nextRotationTime: Time?
    public var consumers: [ConsumerStatus]?
    /// `ready/total`, for printer columns.
    public var consumersReady: String?
    public var lastManualRun: ManualRun?
    public var message: String?
    /// The newest scheduled slot answered (started or skipped).
    public var lastScheduleTime: Time?
    /// The current or last run: what started it and what its steps did.
    public var run: RotationRun?
    public var currentStep: String?
    public var steps: [StepStatus]?
    /// Webhook deliveries: what is still to send and how the last one went.
    public var notifications: NotificationStatus?
    public init() {}
}

/// One rotation run, recorded when it starts: its steps' Jobs and the pending Secret are named
/// from `id`, so a restarted operator finds them again instead of starting over.
public struct RotationRun: Codable, Sendable, Hashable {
    public var id: String
    /// `schedule` or `manual`.
    public var trigger: String
    public var startedAt: Time
    public var finishedAt: Time?
    /// Set before the roll-back restarts consumers (the rollout-restart annotation's value).
    public var rollbackRestartedAt: Time?
    public init(id: String, trigger: String, startedAt: Time) {
        self.id = id
        self.trigger = trigger
        self.startedAt = startedAt
    }
}

public struct ConsumerStatus: Codable, Sendable, Hashable {
    public var kind: String
    public var name: String
    public var restartedAt: Time?
    public var ready: Bool?
    public init(kind: String, name: String, restartedAt: Time? = nil, ready: Bool? = nil) {
        self.kind = kind
        self.name = name
        self.restartedAt = restartedAt
        self.ready = ready
    }
}
