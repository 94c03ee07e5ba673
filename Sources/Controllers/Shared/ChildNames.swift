import BackstopCore
import Foundation
import KubeModel

/// Who owns a child object (an agent Job): the owner reference it carries and the `<owner>`
/// part of its name. Any Backstop kind can own children.
public struct ChildOwner: Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var namespace: String?
    public var uid: String

    public init<Owner: KubeResource>(_ owner: Owner) {
        apiVersion = Owner.resourceType.apiVersion
        kind = Owner.resourceType.kind
        name = owner.metadata.name ?? ""
        namespace = owner.metadata.namespace
        uid = owner.metadata.uid ?? ""
    }

    /// `controller: true`: garbage collection removes the child with its owner, and
    /// `watchesOwned` maps the child's events back to the owner's key.
    public var reference: OwnerReference {
        OwnerReference(apiVersion: apiVersion, kind: kind, name: name, uid: uid, controller: true, blockOwnerDeletion: nil)
    }

    /// The deterministic name of the child doing `purpose` for `token` (a slot, a step, a
    /// run-now value): `<owner>-<purpose>-<8 hex of owner/purpose/token>`, at most 63
    /// characters. The same inputs always give the same name, so "create again" after a crash
    /// or on a stale cache meets AlreadyExists and adopts the existing child.
    /// `purpose` is short (≤ 8 characters: `backup`, `prune`, `restore`, `verify`…).
    public func childName(purpose: String, token: String) -> String {
        NameRules.childName(owner: name, purpose: purpose, token: token)
    }
}

/// Labels and annotations Backstop puts on the Jobs (and their Pods) it creates.
public enum BackstopLabels {
    public static let policy = "backstop.dev/policy"
    /// `backup`, `prune` or `catalog` (BackupPolicy); the step for step-wise kinds.
    public static let operation = "backstop.dev/operation"
    /// The scheduled slot (`yyyymmddThhmmssZ`), `manual` for run-now, `follow-up` for prune/catalog.
    public static let slot = "backstop.dev/slot"
    /// On the Pod template: the Job's name (stable across the Job runner's Pod names).
    public static let job = "backstop.dev/job"
    public static let managedBy = "app.kubernetes.io/managed-by"
    /// Job annotation: the slot as RFC 3339.
    public static let slotTime = "backstop.dev/slot-time"
    /// Job annotation: when the controller created it, in Unix seconds with microseconds.
    /// `creationTimestamp` has whole seconds, and a backup, its prune and the next catalog
    /// often start within one second; "the newest Job" must still be well defined.
    public static let createdAt = "backstop.dev/created-at"
    /// Job annotation: set once the Job's result is in the owner's status.
    public static let recorded = "backstop.dev/recorded"
    /// Job annotation of a run-now backup: the annotation value it answers.
    public static let runNow = Backstop.runNowAnnotation
}

/// What every controller reads off its Jobs.
extension Job {
    var labels: [String: String] { metadata.labels ?? [:] }
    var annotations: [String: String] { metadata.annotations ?? [:] }
    var isRecorded: Bool { annotations[BackstopLabels.recorded] == "true" }
    var succeeded: Bool {
        status?.conditions?.contains { $0.type == "Complete" && $0.status == .true } ?? false
    }
    var isFinished: Bool { status?.isFinished ?? false }
    var finishedAt: Date? {
        status?.completionTime?.date ?? status?.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == .true }?
            .lastTransitionTime?.date
    }
    /// Creation time, to the microsecond when the controller stamped it (see `BackstopLabels.createdAt`).
    var createdAt: Date {
        if let stamp = annotations[BackstopLabels.createdAt].flatMap(Double.init) { return Date(timeIntervalSince1970: stamp) }
        return metadata.creationTimestamp?.date ?? .distantPast
    }
}

/// History trimming for any owner: of one kind of work's Jobs, those beyond `limit` (newest
/// first) whose result is durable in status (annotated `recorded`) are deleted; the newest is
/// always kept. `recordedNow` are Jobs this plan marks recorded: they count towards the limit
/// but are not deleted before the mark lands.
public enum JobHistory {
    static func toTrim(_ jobs: [Job], limit: Int, recordedNow: Set<String>) -> [Job] {
        let done = jobs.filter { $0.isFinished && ($0.isRecorded || recordedNow.contains($0.name)) }
            .sorted { $0.createdAt > $1.createdAt }
        return done.dropFirst(max(1, limit)).filter(\.isRecorded)
    }
}
