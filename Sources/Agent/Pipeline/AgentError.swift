/// Every failure the agent reports: a stable CamelCase `reason` the controllers branch on and
/// a message for humans. Messages are built from our own words plus tool output that has
/// been passed through `Redactor`; they never contain secrets.
public struct AgentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Codable, CaseIterable {
        // Exit 2: the request itself is wrong.
        case specInvalid = "SpecInvalid"
        case secretUnreadable = "SecretUnreadable"
        // Exit 3: cannot reach or log in to something.
        case sourceUnreachable = "SourceUnreachable"
        case targetUnreachable = "TargetUnreachable"
        case storeUnreachable = "StoreUnreachable"
        case authenticationFailed = "AuthenticationFailed"
        case storeAccessDenied = "StoreAccessDenied"
        // Exit 4: refused before doing anything.
        case clientTooOld = "ClientTooOld"
        case toolMissing = "ToolMissing"
        case tableMissing = "TableMissing"
        case sourceEmpty = "SourceEmpty"
        case targetExists = "TargetExists"
        case targetMissing = "TargetMissing"
        case artifactNotFound = "ArtifactNotFound"
        case columnMissing = "ColumnMissing"
        /// A cleanup's timestamp column is not a date/timestamp (or a table's partitions carry no date).
        case notTimestamp = "NotTimestamp"
        /// A cleanup's ClickHouse table has no partitions to drop (not a MergeTree table).
        case notPartitioned = "NotPartitioned"
        /// A cleanup target would delete more than its guard allows: nothing of it was deleted.
        case deleteLimitExceeded = "DeleteLimitExceeded"
        /// The login works but lacks the privilege for the statement (e.g. `ALTER ROLE`).
        case permissionDenied = "PermissionDenied"
        // Exit 5: the artifact or the restored data is not what it should be.
        case checksumMismatch = "ChecksumMismatch"
        case sizeMismatch = "SizeMismatch"
        case formatInvalid = "FormatInvalid"
        case manifestInvalid = "ManifestInvalid"
        case tooSmall = "ArtifactTooSmall"
        case verificationFailed = "VerificationFailed"
        // Exit 6: failed part-way (whatever was started has been rolled back or aborted).
        case toolFailed = "ToolFailed"
        case uploadFailed = "UploadFailed"
        case storeFailed = "StoreFailed"
        case restoreFailed = "RestoreFailed"
        case cleanupFailed = "CleanupFailed"
        case queryFailed = "QueryFailed"
        /// SIGTERM/SIGINT: the transfer was stopped and aborted (no artifact was stored).
        case terminated = "Terminated"
        // Exit 1: a bug or something unforeseen.
        case `internal` = "Internal"

        /// Process exit code for the reason; see `AgentExitCode`.
        public var exitCode: Int32 {
            switch self {
            case .specInvalid, .secretUnreadable: AgentExitCode.badRequest
            case .sourceUnreachable, .targetUnreachable, .storeUnreachable, .authenticationFailed, .storeAccessDenied:
                AgentExitCode.unreachable
            case .clientTooOld, .toolMissing, .tableMissing, .sourceEmpty, .targetExists, .targetMissing, .artifactNotFound,
                 .columnMissing, .notTimestamp, .notPartitioned, .deleteLimitExceeded, .permissionDenied:
                AgentExitCode.refused
            case .checksumMismatch, .sizeMismatch, .formatInvalid, .manifestInvalid, .tooSmall, .verificationFailed:
                AgentExitCode.integrity
            case .toolFailed, .uploadFailed, .storeFailed, .restoreFailed, .cleanupFailed, .queryFailed, .terminated:
                AgentExitCode.failed
            case .internal: AgentExitCode.internalError
            }
        }
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}

/// `backstop agent` exit codes (also in the result JSON as `exitCode`).
public enum AgentExitCode {
    /// Succeeded (a backup with a failed guard still succeeds, flagged).
    public static let success: Int32 = 0
    /// Unexpected internal error.
    public static let internalError: Int32 = 1
    /// Bad spec, bad arguments, unreadable secret file.
    public static let badRequest: Int32 = 2
    /// Source, target or store unreachable, or credentials rejected.
    public static let unreachable: Int32 = 3
    /// Refused before changing anything (client too old, target exists, missing table, empty source, no artifact).
    public static let refused: Int32 = 4
    /// Integrity: checksum, size, format, manifest, row-count or SQL check failed.
    public static let integrity: Int32 = 5
    /// Failed part-way; partial work was aborted or rolled back.
    public static let failed: Int32 = 6
}
