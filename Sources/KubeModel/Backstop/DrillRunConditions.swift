/// The DrillRun's condition types and their reasons (beside the API types, like
/// `RestoreRequestConditions`). Reasons are open enums: an agent failure reason
/// (`ChecksumMismatch`, `TargetExists`, …) passes through as its own value.
public enum DrillRunConditions {
    /// The verdict, shared by `Complete`, `Passed` and `Ready` once the drill finished.
    public struct Outcome: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// Restored, verified and within its objectives.
        public static let drillPassed: Self = "DrillPassed"
        /// A step failed, the drill was cancelled, or an objective was missed (`status.reasons`).
        public static let drillFailed: Self = "DrillFailed"
        public static let knownValues: [Self] = [.drillPassed, .drillFailed]
    }

    /// True once the drill finished, passed or not.
    public enum Complete: ConditionKind {
        public static let type = "Complete"
        public typealias Reason = Outcome
    }

    /// True when the drill passed.
    public enum Passed: ConditionKind {
        public static let type = "Passed"
        public typealias Reason = Outcome
    }

    public enum Ready: ConditionKind {
        public static let type = "Ready"
        public typealias Reason = Outcome
    }

    /// Why a step failed: the reason of its `<Step>Failed` Event, before the message.
    public struct StepFailure: OpenEnum {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let policyNotFound: Self = "PolicyNotFound"
        /// The spec cannot be run as written (marker, scratch, objectives); the message says what to fix.
        public static let invalidSpec: Self = "InvalidSpec"
        /// The scratch target is the policy's live source.
        public static let scratchIsSource: Self = "ScratchIsSource"
        /// The policy's source kind or the scratch target cannot be drilled as specified.
        public static let notSupported: Self = "NotSupported"
        /// The drill's fresh backup Job failed.
        public static let backupFailed: Self = "BackupFailed"
        /// The agent failed without a reason of its own.
        public static let agentFailed: Self = "AgentFailed"
        /// A step without its Job: a bug, not an input problem.
        public static let `internal`: Self = "Internal"
        public static let knownValues: [Self] = [.policyNotFound, .invalidSpec, .scratchIsSource, .notSupported, .backupFailed,
                                                 .agentFailed, .internal]
    }
}
