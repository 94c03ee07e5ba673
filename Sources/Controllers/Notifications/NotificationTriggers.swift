import KubeModel

/// What each kind announces, found by comparing the status before and after a reconcile (the
/// transition is in the status write, so it is announced once however often it is planned).
/// Pure; the healthy steady state yields nothing.
public enum NotificationTriggers {
    public static func backupPolicy(old: BackupPolicyStatus?, new: BackupPolicyStatus) -> [NotificationTrigger] {
        var out: [NotificationTrigger] = []
        let before = old?.conditions ?? []
        let after = new.conditions ?? []
        func changed(_ type: String) -> Condition? {
            guard let c = after.find(type) else { return nil }
            let b = before.find(type)
            return b?.status != c.status || b?.reason != c.reason || b?.message != c.message ? c : nil
        }
        // The message names the Job ("Job x: …"): one trigger per recorded backup run.
        if let c = changed(BackupPolicyConditions.LastBackupSucceeded.type) {
            let event: NotificationEvent = c.status == .true ? .succeeded : .failed
            out.append(NotificationTrigger(event: event, reason: c.reason, message: c.message, token: c.message))
        }
        if let c = changed(BackupPolicyConditions.Verified.type), c.status == .false {
            out.append(NotificationTrigger(event: .verificationFailed, reason: c.reason, message: c.message, token: c.message))
        }
        // Stale: on becoming stale only; the message carries the last success time.
        if let c = after.find(BackupPolicyConditions.Stale.type), c.status == .true,
           before.find(BackupPolicyConditions.Stale.type)?.status != .true {
            out.append(NotificationTrigger(event: .stale, reason: c.reason, message: c.message, token: c.message))
        }
        return out
    }

    /// Each recorded cleanup run (a guard refusal is a failure).
    public static func cleanupPolicy(old: CleanupPolicyStatus?, new: CleanupPolicyStatus) -> [NotificationTrigger] {
        let type = CleanupPolicyConditions.LastRunSucceeded.type
        guard let c = new.conditions?.find(type) else { return [] }
        let b = old?.conditions?.find(type)
        guard b?.status != c.status || b?.reason != c.reason || b?.message != c.message else { return [] }
        let event: NotificationEvent = c.status == .true ? .succeeded : .failed
        return [NotificationTrigger(event: event, reason: c.reason, message: c.message, token: (new.lastRunJob ?? "") + "/" + c.message)]
    }

    /// The verdict, once.
    public static func drillRun(old: DrillRunStatus?, new: DrillRunStatus) -> [NotificationTrigger] {
        guard let result = new.result, old?.result == nil else { return [] }
        let passed = result == .passed
        let reason = passed ? "DrillPassed" : "DrillFailed"
        let message = new.message ?? (passed ? "the drill passed" : (new.reasons ?? []).joined(separator: "; "))
        return [NotificationTrigger(event: passed ? .drillPassed : .drillFailed, reason: reason, message: message, token: result.rawValue)]
    }

    /// The outcome, once.
    public static func restoreRequest(old: RestoreRequestStatus?, new: RestoreRequestStatus) -> [NotificationTrigger] {
        guard let phase = new.phase, phase == .succeeded || phase == .failed, old?.phase != phase else { return [] }
        let ok = phase == .succeeded
        let reason = new.conditions?.find(RestoreRequestConditions.Ready.self)?.reason ?? phase.rawValue
        return [NotificationTrigger(event: ok ? .restoreSucceeded : .restoreFailed, reason: ok ? "RestoreSucceeded" : reason,
                                    message: new.message ?? phase.rawValue, token: phase.rawValue)]
    }

    /// Each run's end: succeeded, failed with nothing changed, or rolled back.
    public static func secretRotation(old: SecretRotationStatus?, new: SecretRotationStatus) -> [NotificationTrigger] {
        guard let phase = new.phase, old?.phase != phase else { return [] }
        let event: NotificationEvent
        switch phase.rawValue {
        case "Succeeded": event = .rotationSucceeded
        case "Failed": event = .rotationFailed
        case "RolledBack": event = .rotationRolledBack
        default: return []
        }
        let reason = new.conditions?.find("RotationSucceeded")?.reason ?? phase.rawValue
        return [NotificationTrigger(event: event, reason: reason, message: new.message ?? phase.rawValue,
                                    token: (new.run?.id ?? "") + "/" + phase.rawValue)]
    }
}
