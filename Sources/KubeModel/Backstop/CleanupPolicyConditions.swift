/// The CleanupPolicy's condition types and their reasons (beside the API types, like
/// `BackupPolicyConditions`). Reasons are open enums: an agent failure reason
/// (`DeleteLimitExceeded`, `TableMissing`, `StoreUnreachable`, …) passes through as its own value.
public enum CleanupPolicyConditions {
    /// Summary: runs are scheduled, the spec is usable and the last run did not fail.
    public enum Ready: ConditionKind {
        public static let type = "Ready"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let scheduled: Self = "Scheduled"
            public static let suspended: Self = "Suspended"
            public static let invalidSpec: Self = "InvalidSpec"
            public static let secretMissing: Self = "SecretMissing"
            public static let lastRunFailed: Self = "LastRunFailed"
            public static let knownValues: [Self] = [.scheduled, .suspended, .invalidSpec, .secretMissing, .lastRunFailed]
        }
    }

    /// `RunSucceeded` / `DryRunSucceeded`, or the first failing target's reason.
    public enum LastRunSucceeded: ConditionKind {
        public static let type = "LastRunSucceeded"
        public struct Reason: OpenEnum {
            public var rawValue: String
            public init(rawValue: String) { self.rawValue = rawValue }
            public static let runSucceeded: Self = "RunSucceeded"
            public static let dryRunSucceeded: Self = "DryRunSucceeded"
            /// The guard: a target would delete more than its limit; nothing of it was deleted.
            public static let deleteLimitExceeded: Self = "DeleteLimitExceeded"
            public static let runFailed: Self = "RunFailed"
            public static let knownValues: [Self] = [.runSucceeded, .dryRunSucceeded, .deleteLimitExceeded, .runFailed]
        }
    }
}
