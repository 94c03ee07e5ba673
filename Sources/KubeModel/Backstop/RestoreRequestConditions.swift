/// The RestoreRequest's condition types and their reasons (beside the API types, like
/// `BackupPolicyConditions`). Reasons are open enums: an agent failure reason
/// (`ChecksumMismatch`, `ArtifactNotFound`, …) passes through as its own value.
public enum RestoreRequestConditions {
    /// The outcome, shared by `Complete`, `Failed` and `Ready`: restored, cancelled by a
    /// deletion, or the step that failed (`<Step>Failed`).
    public struct Outcome: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let restored: Self = "Restored"
        /// The request was deleted before it finished; the writers were resumed.
        public static let cancelled: Self = "Cancelled"
        public static let validateFailed: Self = "ValidateFailed"
        public static let selectFailed: Self = "SelectFailed"
        public static let quiesceFailed: Self = "QuiesceFailed"
        public static let restoreFailed: Self = "RestoreFailed"
        public static let verifyFailed: Self = "VerifyFailed"
        public static let resumeFailed: Self = "ResumeFailed"
        public static let knownValues: [Self] = [.restored, .cancelled, .validateFailed, .selectFailed, .quiesceFailed,
                                                 .restoreFailed, .verifyFailed, .resumeFailed]

        /// `<step>Failed`, for the step's name as status records it (`Verify`).
        public static func failed(step: String) -> Self { Self(rawValue: step + "Failed") }
    }

    /// True once the request finished, restored or not.
    public enum Complete: ConditionKind {
        public static let type = "Complete"
        public typealias Reason = Outcome
    }

    /// True when a step failed or the request was cancelled.
    public enum Failed: ConditionKind {
        public static let type = "Failed"
        public typealias Reason = Outcome
    }

    /// True when the backup was restored, verified and the writers resumed.
    public enum Ready: ConditionKind {
        public static let type = "Ready"
        public typealias Reason = Outcome
    }

    /// Why a step failed: the reason of its `<Step>Failed` Event, before the message.
    public struct StepFailure: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let policyNotFound: Self = "PolicyNotFound"
        /// The target is the policy's live source and `allowOverwriteSource` is not set.
        public static let overwriteNotAllowed: Self = "OverwriteNotAllowed"
        /// A workload in `spec.quiesce` (or `target.redis.workload`) does not exist.
        public static let workloadNotFound: Self = "WorkloadNotFound"
        /// The target cannot be restored through the controller as specified.
        public static let notSupported: Self = "NotSupported"
        /// `spec.backup` matches no artifact in the store (an unknown id, a time before every backup).
        public static let noMatchingBackup: Self = "NoMatchingBackup"
        /// `spec.backup.id` is not an artifact id.
        public static let invalidBackupID: Self = "InvalidBackupID"
        /// A restored Redis server did not become ready in time.
        public static let redisNotReady: Self = "RedisNotReady"
        /// The writers' replicas are back but they did not become ready in time.
        public static let resumeTimeout: Self = "ResumeTimeout"
        /// The agent failed without a reason of its own.
        public static let agentFailed: Self = "AgentFailed"
        public static let knownValues: [Self] = [.policyNotFound, .overwriteNotAllowed, .workloadNotFound, .notSupported, .noMatchingBackup,
                                                 .invalidBackupID, .redisNotReady, .resumeTimeout, .agentFailed]
    }
}
