import AgentContract
import Foundation
import KubeModel

/// The steps of a disaster-recovery drill, in order. `cleanup` always runs — after a failure,
/// a deletion and any operator restart — so the scratch copy and the marker never outlive it.
public enum DrillStep: String, Sendable, Hashable, CaseIterable {
    /// Spec checks that need the cluster: the policy, the scratch target (never the source),
    /// then a probe Job: the scratch target is free (or this drill's own leftover).
    case validate = "Validate"
    /// A marker written into the live source (when markers are on), recorded in status.
    case marker = "Marker"
    /// A fresh backup as the policy's own on-demand backup Job, or none when the selector picks one.
    case backup = "Backup"
    /// The artifact's deep verification (`pg_restore -l`, tar listing, …) and sha256; its id goes to status.
    case list = "List"
    /// The artifact restored into the scratch target, which must not exist yet.
    case restore = "Restore"
    /// The marker is in the scratch copy, row counts equal the manifest, the SQL checks pass.
    case verify = "Verify"
    /// The scratch copy dropped (if the drill made it) and the marker removed from the source.
    case cleanup = "Cleanup"

    public static let definitions: [StepMachine<DrillStep>.Definition] = [
        .init(.validate), .init(.marker), .init(.backup), .init(.list), .init(.restore), .init(.verify), .init(.cleanup, always: true),
    ]

    /// The purpose part of the step's Job name (agent steps only).
    var jobPurpose: String? {
        switch self {
        case .backup: nil
        case .validate: "probe"
        case .marker: "marker"
        case .list: "list"
        case .restore: "restore"
        case .verify: "verify"
        case .cleanup: "cleanup"
        }
    }
}

/// Everything one reconcile of a drill decides from.
public struct DrillObserved: Sendable {
    public var drill: DrillRun
    public var policy: BackupPolicy?
    /// The drill's agent Jobs by step.
    public var jobs: [DrillStep: Job]
    /// Finished Jobs' results by Job name.
    public var results: [String: AgentResult]
    /// A RestoreRequest or an earlier DrillRun still running on the same policy: the drill waits.
    public var blockedBy: String?
    public var now: Date

    public init(drill: DrillRun, policy: BackupPolicy?, jobs: [DrillStep: Job] = [:], results: [String: AgentResult] = [:],
                blockedBy: String? = nil, now: Date) {
        self.drill = drill
        self.policy = policy
        self.jobs = jobs
        self.results = results
        self.blockedBy = blockedBy
        self.now = now
    }
}

/// What a drill step asks the controller to do now.
public enum DrillAction: Sendable, Hashable {
    case createJob(Job)
}

/// A drill step's verdict for this reconcile.
public enum DrillVerdict: Sendable, Hashable {
    case running(actions: [DrillAction], message: String?)
    case succeeded(job: String?, message: String?)
    case failed(job: String?, reason: DrillReason, message: String)
}

/// Why a drill step failed (typed beside the API types, in `DrillRunConditions`).
public typealias DrillReason = DrillRunConditions.StepFailure

extension DrillRunSpec {
    /// Markers follow `freshBackup` unless set: a marker proves only a backup taken after it.
    var markerEnabled: Bool { marker ?? takesFreshBackup }
    var takesFreshBackup: Bool { freshBackup ?? true }
    var dropsScratch: Bool { cleanup ?? true }

    /// The drill's restore, in the RestoreRequest's terms: into the scratch target, never over
    /// an existing database or a directory holding data.
    var restoreSpec: RestoreRequestSpec {
        var spec = RestoreRequestSpec(policyRef: policyRef, backup: backup, target: scratch, mode: .create)
        spec.verify = verify
        return spec
    }
}

extension DrillRun {
    /// Unique per drill and stable across reconciles: the marker id and the run-now value.
    var token: String {
        let uid = (metadata.uid ?? "").replacingOccurrences(of: "-", with: "").lowercased()
        return "drill-" + String(uid.prefix(12))
    }

    /// Written as the scratch database's comment: cleanup drops only a database carrying it.
    var scratchTag: String { "backstop drill \(metadata.namespace ?? "")/\(metadata.name ?? "") \(metadata.uid ?? "")" }
}
