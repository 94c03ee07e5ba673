/// The BackupPolicy's condition types, each with its own set of reasons, kept beside the API
/// types (CloudNativePG's `*_funcs.go` style) so the controller, the CRD reference and
/// `backstop status` share one vocabulary, and `conditions.set(Stale.self, …)` only accepts a
/// Stale reason. Reasons are open enums: an agent failure reason (`AuthenticationFailed`,
/// `ChecksumMismatch`, …) passes through as a value of its own.
public enum BackupPolicyConditions {
    /// Summary: backups are scheduled and the last one is fine.
    public enum Ready: ConditionKind {
        public static let type = "Ready"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let scheduled: Self = "Scheduled"
            public static let suspended: Self = "Suspended"
            public static let invalidSpec: Self = "InvalidSpec"
            public static let secretMissing: Self = "SecretMissing"
            public static let backupStale: Self = "BackupStale"
            public static let backupFailed: Self = "BackupFailed"
            public static let knownValues: [Self] = [.scheduled, .suspended, .invalidSpec, .secretMissing, .backupStale, .backupFailed]
        }
    }

    /// `BackupSucceeded`, or the agent's failure reason.
    public enum LastBackupSucceeded: ConditionKind {
        public static let type = "LastBackupSucceeded"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let backupSucceeded: Self = "BackupSucceeded"
            public static let backupFailed: Self = "BackupFailed"
            public static let knownValues: [Self] = [.backupSucceeded, .backupFailed]
        }
    }

    /// `Verified`, `VerificationFailed`, or the agent's integrity reason.
    public enum Verified: ConditionKind {
        public static let type = "Verified"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let verified: Self = "Verified"
            public static let verificationFailed: Self = "VerificationFailed"
            public static let knownValues: [Self] = [.verified, .verificationFailed]
        }
    }

    public enum Stale: ConditionKind {
        public static let type = "Stale"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let notConfigured: Self = "NotConfigured"
            public static let fresh: Self = "Fresh"
            public static let backupStale: Self = "BackupStale"
            public static let knownValues: [Self] = [.notConfigured, .fresh, .backupStale]
        }
    }

    public enum MissedSchedule: ConditionKind {
        public static let type = "MissedSchedule"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let missedSchedule: Self = "MissedSchedule"
            public static let onSchedule: Self = "OnSchedule"
            public static let knownValues: [Self] = [.missedSchedule, .onSchedule]
        }
    }

    /// The newest finished DrillRun of the policy: `DrillPassed`, `DrillFailed`, or `NoDrill`.
    public enum LastDrillPassed: ConditionKind {
        public static let type = "LastDrillPassed"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let drillPassed: Self = "DrillPassed"
            public static let drillFailed: Self = "DrillFailed"
            public static let knownValues: [Self] = [.drillPassed, .drillFailed]
        }
    }
}
