/// Types shared by several Backstop kinds: enums, secret references and connection shapes.

public enum Backstop {
    public static let group = "backstop.dev"
    public static let version = "v1alpha1"
    public static let apiVersion = "backstop.dev/v1alpha1"
    public static let category = "backstop"
    /// `kubectl annotate … backstop.dev/run-now=<new value>` runs once now, per distinct value.
    public static let runNowAnnotation = "backstop.dev/run-now"
    /// On a CleanupPolicy: `<target>=<count>[,<target>=<count>…]` lets a run delete up to
    /// `count` items of `target` although that is over its guard (`maxDeletePercent`/`maxDeleteCount`).
    public static let allowDeleteAnnotation = "backstop.dev/allow-delete"
    /// Longest name of any Backstop object: leaves room for `-<purpose ≤ 8>-<8 hex>` in Job
    /// names, which must stay ≤ 63 characters (they become the `job-name` label value).
    public static let maxNameLength = 45
}

public struct ConcurrencyPolicy: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Skip a slot while an operation on the same target is still running.
    public static let forbid: Self = "Forbid"
    /// Cancel the running operation and start the new one.
    public static let replace: Self = "Replace"
    public static let knownValues: [Self] = [.forbid, .replace]
}

public struct PostgresSSLMode: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let knownValues: [Self] = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
}

/// S3 credentials in one Secret: access key id and secret key under the named keys.
public struct S3CredentialsRef: Codable, Sendable, Hashable {
    public var name: String
    /// Default `AWS_ACCESS_KEY_ID`.
    public var accessKeyIDKey: String?
    /// Default `AWS_SECRET_ACCESS_KEY`.
    public var secretAccessKeyKey: String?
    public init(name: String, accessKeyIDKey: String? = nil, secretAccessKeyKey: String? = nil) {
        self.name = name
        self.accessKeyIDKey = accessKeyIDKey
        self.secretAccessKeyKey = secretAccessKeyKey
    }
}

/// An administrator login in one Secret (for rotation `apply`).
public struct AdminCredentialsRef: Codable, Sendable, Hashable {
    public var name: String
    /// Default `username`.
    public var userKey: String?
    /// Default `password`.
    public var passwordKey: String?
    public init(name: String, userKey: String? = nil, passwordKey: String? = nil) {
        self.name = name
        self.userKey = userKey
        self.passwordKey = passwordKey
    }
}

/// A PostgreSQL connection (CleanupPolicy `sql` targets).
public struct PostgresConnection: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var database: String
    public var user: String
    public var passwordSecretRef: SecretKeySelector?
    public var sslMode: PostgresSSLMode?
    public init(host: String, port: Int? = nil, database: String, user: String,
                passwordSecretRef: SecretKeySelector? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.passwordSecretRef = passwordSecretRef
    }
}

/// A Deployment or StatefulSet in the same namespace.
public struct WorkloadReference: Codable, Sendable, Hashable {
    public var kind: WorkloadKind
    public var name: String
    public init(kind: WorkloadKind, name: String) {
        self.kind = kind
        self.name = name
    }
}

public struct WorkloadKind: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let deployment: Self = "Deployment"
    public static let statefulSet: Self = "StatefulSet"
    public static let knownValues: [Self] = [.deployment, .statefulSet]
}

/// The Job pod Backstop runs for data-plane work.
public struct JobTemplate: Codable, Sendable, Hashable {
    public var image: String?
    public var imagePullPolicy: String?
    public var imagePullSecrets: [LocalObjectReference]?
    public var resources: ResourceRequirements?
    public var nodeSelector: [String: String]?
    public var tolerations: [Toleration]?
    public var serviceAccountName: String?
    public var activeDeadlineSeconds: Int64?
    public var backoffLimit: Int32?
    public var podLabels: [String: String]?
    public var podAnnotations: [String: String]?
    public init(image: String? = nil) { self.image = image }
}

/// What a webhook can be told about. `Succeeded`/`Failed` are the own runs of the kind that lists
/// them (a backup, a cleanup); the prefixed ones come from the other kinds, so a BackupPolicy's
/// `notify` can also cover its drills and restores.
public struct NotificationEvent: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let succeeded: Self = "Succeeded"
    public static let failed: Self = "Failed"
    public static let stale: Self = "Stale"
    public static let verificationFailed: Self = "VerificationFailed"
    public static let drillPassed: Self = "DrillPassed"
    public static let drillFailed: Self = "DrillFailed"
    public static let restoreSucceeded: Self = "RestoreSucceeded"
    public static let restoreFailed: Self = "RestoreFailed"
    public static let rotationSucceeded: Self = "RotationSucceeded"
    public static let rotationFailed: Self = "RotationFailed"
    public static let rotationRolledBack: Self = "RotationRolledBack"
    public static let knownValues: [Self] = [.succeeded, .failed, .stale, .verificationFailed, .drillPassed, .drillFailed,
                                             .restoreSucceeded, .restoreFailed, .rotationSucceeded, .rotationFailed, .rotationRolledBack]

    /// The events each kind's `spec.notify` accepts (its schema rejects the others).
    public static let backupPolicy: [Self] = [.succeeded, .failed, .stale, .verificationFailed, .drillPassed, .drillFailed,
                                              .restoreSucceeded, .restoreFailed]
    public static let cleanupPolicy: [Self] = [.succeeded, .failed]
    public static let drillRun: [Self] = [.drillPassed, .drillFailed]
    public static let restoreRequest: [Self] = [.restoreSucceeded, .restoreFailed]
    public static let secretRotation: [Self] = [.rotationSucceeded, .rotationFailed, .rotationRolledBack]
}

/// Where and when to send a notification. (Named `events`, not `on`: YAML 1.1 parsers such as
/// kubectl's read an unquoted `on:` key as the boolean `true`.)
public struct Notification: Codable, Sendable, Hashable {
    public var webhook: WebhookTarget
    public var events: [NotificationEvent]
    public init(webhook: WebhookTarget, events: [NotificationEvent]) {
        self.webhook = webhook
        self.events = events
    }
}

public struct WebhookTarget: Codable, Sendable, Hashable {
    /// The Secret key holding the URL (URLs of chat webhooks are credentials).
    public var urlSecretRef: SecretKeySelector
    public init(urlSecretRef: SecretKeySelector) { self.urlSecretRef = urlSecretRef }
}

/// A record of the last `backstop.dev/run-now` request handled.
public struct ManualRun: Codable, Sendable, Hashable {
    public var value: String
    public var job: String?
    public var result: OperationResult?
    public var startedAt: Time?
    public var finishedAt: Time?
    public var message: String?
    public init(value: String) { self.value = value }
}

public struct OperationResult: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let running: Self = "Running"
    public static let succeeded: Self = "Succeeded"
    public static let failed: Self = "Failed"
    public static let knownValues: [Self] = [.running, .succeeded, .failed]
}

/// A running Job Backstop started.
public struct ActiveJob: Codable, Sendable, Hashable {
    public var name: String
    public var startedAt: Time?
    public init(name: String, startedAt: Time? = nil) {
        self.name = name
        self.startedAt = startedAt
    }
}

public struct StepPhase: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let pending: Self = "Pending"
    public static let running: Self = "Running"
    public static let succeeded: Self = "Succeeded"
    public static let failed: Self = "Failed"
    public static let skipped: Self = "Skipped"
    public static let knownValues: [Self] = [.pending, .running, .succeeded, .failed, .skipped]
}

/// One step of a RestoreRequest or DrillRun.
public struct StepStatus: Codable, Sendable, Hashable {
    public var name: String
    public var phase: StepPhase
    public var startedAt: Time?
    public var finishedAt: Time?
    public var job: String?
    public var message: String?
    public init(name: String, phase: StepPhase, startedAt: Time? = nil, finishedAt: Time? = nil,
                job: String? = nil, message: String? = nil) {
        self.name = name
        self.phase = phase
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.job = job
        self.message = message
    }
}

/// A backup artifact, as recorded in status.
public struct BackupReference: Codable, Sendable, Hashable {
    public var id: String
    public var time: Time?
    public var sha256: String?
    public var sizeBytes: Int64?
    public init(id: String, time: Time? = nil, sha256: String? = nil, sizeBytes: Int64? = nil) {
        self.id = id
        self.time = time
        self.sha256 = sha256
        self.sizeBytes = sizeBytes
    }
}

/// Post-restore checks (RestoreRequest and DrillRun).
public struct RestoreVerification: Codable, Sendable, Hashable {
    /// Compare per-table row counts with those recorded in the artifact's manifest.
    public var rowCounts: Bool?
    public var sql: [SQLCheck]?
    public init(rowCounts: Bool? = nil, sql: [SQLCheck]? = nil) {
        self.rowCounts = rowCounts
        self.sql = sql
    }
}

/// A query whose single value must equal `expect` (compared as text).
public struct SQLCheck: Codable, Sendable, Hashable {
    public var name: String
    public var query: String
    public var expect: String
    public init(name: String, query: String, expect: String) {
        self.name = name
        self.query = query
        self.expect = expect
    }
}
