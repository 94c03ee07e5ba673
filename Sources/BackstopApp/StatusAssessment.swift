import Foundation
import KubeModel

/// One verdict per object for `backstop status`: failing, running or ok, the reason and message
/// that explain it, and the next thing an SRE should do. The screen's "needs attention" list and
/// the `-o json` document are both built from these, so they never disagree.
public struct StatusAssessment: Sendable, Equatable {
    public enum State: String, Sendable, Codable, Comparable {
        case failing, running, ok
        var rank: Int { self == .failing ? 0 : self == .running ? 1 : 2 }
        public static func < (a: State, b: State) -> Bool { a.rank < b.rank }
    }

    public var state: State
    /// CamelCase, from the condition or phase that explains the state; nil when there is nothing to say.
    public var reason: String?
    public var message: String?
    /// A sentence, usually with the command to run; nil when nothing needs doing.
    public var nextAction: String?

    static let ok = StatusAssessment(state: .ok)

    /// `kubectl annotate KIND -n NS NAME backstop.dev/run-now=… --overwrite`, the one-off run.
    static func runNow(_ kind: String, _ namespace: String, _ name: String) -> String {
        "kubectl annotate \(kind) -n \(namespace) \(name) \(Backstop.runNowAnnotation)=\"$(date +%s)\" --overwrite"
    }
}

extension StatusReport {
    public static func assess(_ policy: BackupPolicy) -> StatusAssessment {
        let ns = policy.metadata.namespace ?? "", name = policy.metadata.name ?? ""
        let conditions = policy.status?.conditions ?? []
        let describe = "kubectl describe bp -n \(ns) \(name)"
        let runNow = StatusAssessment.runNow("bp", ns, name)
        func failing(_ c: Condition, _ action: String) -> StatusAssessment {
            StatusAssessment(state: .failing, reason: c.reason, message: c.message.isEmpty ? nil : c.message, nextAction: action)
        }
        if let c = conditions.find("LastBackupSucceeded"), c.status == .false {
            let secret = policy.spec.source.credentialsSecretName.map { "Secret \($0)" } ?? "the source's credentials Secret"
            let action = ["AuthenticationFailed", "PermissionDenied"].contains(c.reason)
                ? "Fix the credentials in \(secret) (the source refused them), then back up now: \(runNow)"
                : "See the failed Job in the Events (\(describe)), fix the cause, then back up now: \(runNow)"
            return failing(c, action)
        }
        if let c = conditions.find("Stale"), c.status == .true {
            return failing(c, "No recent successful backup: find why in \(describe), then back up now: \(runNow)")
        }
        if let c = conditions.find("Verified"), c.status == .false {
            return failing(c, "The newest artifact failed verification; take a new one now (\(runNow)) and prove it with a DrillRun")
        }
        if let c = conditions.find("LastDrillPassed"), c.status == .false {
            let drill = policy.status?.lastDrill?.name
            return failing(c, "Read why the drill failed: kubectl describe drill -n \(ns) \(drill ?? "<newest drill>"); fix it and run a new DrillRun")
        }
        if let c = conditions.find("Ready"), c.status == .false {
            let action = c.reason == "SecretMissing"
                ? "Create the Secret the message names in namespace \(ns); backups resume by themselves"
                : "Fix the spec as the message says: kubectl edit bp -n \(ns) \(name)"
            return failing(c, action)
        }
        if policy.spec.suspend == true {
            return StatusAssessment(state: .failing, reason: "Suspended", message: "spec.suspend is true: no scheduled backups",
                                    nextAction: "Resume: kubectl patch bp -n \(ns) \(name) --type merge -p '{\"spec\":{\"suspend\":false}}'")
        }
        if let job = policy.status?.activeJob {
            return StatusAssessment(state: .running, reason: "BackupRunning", message: "Job \(job.name) is running", nextAction: nil)
        }
        return .ok
    }

    public static func assess(_ r: RestoreRequest) -> StatusAssessment {
        let ns = r.metadata.namespace ?? "", name = r.metadata.name ?? ""
        let s = r.status
        switch s?.phase {
        case .succeeded?:
            return StatusAssessment(state: .ok, reason: "Restored", message: s?.message, nextAction: nil)
        case .failed?:
            let ready = s?.conditions?.find("Ready")
            return StatusAssessment(state: .failing, reason: ready?.reason ?? "Failed", message: s?.message ?? ready?.message,
                                    nextAction: "Read the steps and Events (kubectl describe rr -n \(ns) \(name)), fix the cause, "
                                        + "then create a new RestoreRequest (the spec is immutable)")
        default:
            let step = s?.currentStep ?? "Pending"
            let waiting = s?.steps?.first { $0.phase == .running }?.message
            return StatusAssessment(state: .running, reason: step, message: waiting ?? s?.message,
                                    nextAction: "Wait for step \(step)\(waiting.map { " (\($0))" } ?? ""); to stop it, "
                                        + "kubectl delete rr -n \(ns) \(name) (quiesced writers are resumed)")
        }
    }

    public static func assess(_ d: DrillRun) -> StatusAssessment {
        let ns = d.metadata.namespace ?? "", name = d.metadata.name ?? ""
        let s = d.status
        guard s?.phase == .completed else {
            let step = s?.currentStep ?? "Pending"
            return StatusAssessment(state: .running, reason: step, message: s?.steps?.first { $0.phase == .running }?.message ?? s?.message,
                                    nextAction: "Wait for step \(step)")
        }
        if s?.result == .passed { return StatusAssessment(state: .ok, reason: "DrillPassed", message: s?.message, nextAction: nil) }
        return StatusAssessment(state: .failing, reason: "DrillFailed", message: s?.reasons?.joined(separator: "; ") ?? s?.message,
                                nextAction: "Fix what the reasons say (kubectl describe drill -n \(ns) \(name)), then run a new DrillRun")
    }

    public static func assess(_ r: SecretRotation) -> StatusAssessment {
        let ns = r.metadata.namespace ?? "", name = r.metadata.name ?? ""
        let s = r.status
        let ready = s?.conditions?.find("Ready")
        switch s?.phase?.rawValue {
        case "RolledBack"?, "Failed"?:
            return StatusAssessment(state: .failing, reason: ready?.status == .false ? ready?.reason : s?.phase?.rawValue, message: s?.message,
                                    nextAction: "See which consumer or step failed (kubectl describe srot -n \(ns) \(name)), fix it, "
                                        + "then rotate again: \(StatusAssessment.runNow("srot", ns, name))")
        case "Succeeded"?, "Idle"?, nil:
            let notReady = (s?.consumers ?? []).filter { $0.ready != true }
            if !notReady.isEmpty {
                return StatusAssessment(state: .failing, reason: "ConsumerNotReady",
                                        message: "not ready: " + notReady.map { "\($0.kind)/\($0.name)" }.joined(separator: ", "),
                                        nextAction: "Check those workloads: kubectl describe srot -n \(ns) \(name)")
            }
            return StatusAssessment(state: .ok, reason: s?.phase == nil ? nil : "Rotated", message: s?.message, nextAction: nil)
        default:
            let step = s?.currentStep ?? s?.phase?.rawValue ?? "Pending"
            return StatusAssessment(state: .running, reason: step, message: detail(r), nextAction: "Wait for step \(step)")
        }
    }

    public static func assess(_ p: CleanupPolicy) -> StatusAssessment {
        let ns = p.metadata.namespace ?? "", name = p.metadata.name ?? ""
        let conditions = p.status?.conditions ?? []
        for type in [CleanupPolicyConditions.LastRunSucceeded.type, CleanupPolicyConditions.Ready.type] {
            guard let c = conditions.find(type), c.status == .false else { continue }
            return StatusAssessment(state: .failing, reason: c.reason, message: c.message.isEmpty ? nil : c.message,
                                    nextAction: "Read the message (a refusing guard quotes its numbers); fix the target, or raise "
                                        + "maxDeletePercent/maxDeleteCount if the deletion is intended; then: "
                                        + StatusAssessment.runNow("cleanup", ns, name))
        }
        if let job = p.status?.activeJob {
            return StatusAssessment(state: .running, reason: "CleanupRunning", message: "Job \(job.name) is running", nextAction: nil)
        }
        return .ok
    }
}

extension BackupSource {
    /// The Secret holding the source's password or keys, when it names one.
    var credentialsSecretName: String? {
        postgres?.passwordSecretRef?.name ?? redis?.passwordSecretRef?.name ?? clickhouse?.passwordSecretRef?.name
            ?? s3?.credentialsSecretRef?.name
    }
}
