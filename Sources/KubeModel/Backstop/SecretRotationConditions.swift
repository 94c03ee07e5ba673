/// The SecretRotation's condition types and their reasons (beside the API types, like
/// `RestoreRequestConditions`). Reasons are open enums: a failed run's reason is its step's
/// failure reason (`StepFailure`, or the agent's own such as `PermissionDenied`).
public enum SecretRotationConditions {
    /// Shared by `Ready` and `RotationSucceeded`.
    public struct Outcome: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The last run rotated every key and its consumers are ready on the new value.
        public static let rotated: Self = "Rotated"
        /// The inputs are there; the next run is scheduled (or waits for run-now).
        public static let scheduled: Self = "Scheduled"
        /// `spec.schedule` does not parse.
        public static let scheduleInvalid: Self = "ScheduleInvalid"
        /// The run was cancelled by deleting the SecretRotation.
        public static let cancelled: Self = "Cancelled"
        public static let knownValues: [Self] = [.rotated, .scheduled, .scheduleInvalid, .cancelled]

        /// A step's failure as the outcome of its run (or, between runs, of the input check).
        public init(_ failure: StepFailure) { self.init(rawValue: failure.rawValue) }
    }

    /// Summary: the inputs are usable and the last run did not fail.
    public enum Ready: ConditionKind {
        public static let type = "Ready"
        public typealias Reason = Outcome
    }

    /// The last run's result.
    public enum RotationSucceeded: ConditionKind {
        public static let type = "RotationSucceeded"
        public typealias Reason = Outcome
    }

    /// Why a step failed: the start of its message and of the `<Step>Failed` Event.
    public struct StepFailure: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let secretNotFound: Self = "SecretNotFound"
        public static let stagedSecretNotFound: Self = "StagedSecretNotFound"
        public static let adminSecretNotFound: Self = "AdminSecretNotFound"
        /// A key's `generate` settings cannot produce a value.
        public static let cannotGenerate: Self = "CannotGenerate"
        public static let workloadNotFound: Self = "WorkloadNotFound"
        public static let consumerNotReady: Self = "ConsumerNotReady"
        public static let rollbackFailed: Self = "RollBackFailed"
        /// The run's pending Secret was deleted by someone else before an agent Job could mount it.
        public static let pendingSecretMissing: Self = "PendingSecretMissing"
        /// The agent failed without a reason of its own.
        public static let agentFailed: Self = "AgentFailed"
        /// A step without its Job: a bug, not an input problem.
        public static let `internal`: Self = "Internal"
        public static let knownValues: [Self] = [.secretNotFound, .stagedSecretNotFound, .adminSecretNotFound, .cannotGenerate,
                                                 .workloadNotFound, .consumerNotReady, .rollbackFailed, .pendingSecretMissing,
                                                 .agentFailed, .internal]
    }
}
