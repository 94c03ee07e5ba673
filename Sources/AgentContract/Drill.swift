/// `backstop agent drill`: the parts of a disaster-recovery drill that touch a store but are
/// not a backup or a restore. Each action is idempotent, so a Job retried after a crash or an
/// operator restart repeats it safely.
public struct DrillAgentSpec: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable, CaseIterable {
        /// Write the marker into `source` (a row, an object, a file), creating its table when missing.
        case mark
        /// Remove the marker from `source` and, with `dropTarget`, the scratch copy in `target`.
        case cleanup
        /// Check `target` is free before the drill touches anything: no database of that name
        /// (unless it carries `ownerTag`: this drill's own, which the restore replaces), no
        /// entries in the scratch directory, no objects under the scratch bucket prefix.
        case probe
    }

    public var action: Action
    /// The marker's id: unique per drill, so a repeated `mark` writes nothing new.
    public var marker: String?
    /// cleanup: drop the scratch database / empty the scratch directory or bucket prefix.
    public var dropTarget: Bool?
    /// cleanup and probe of a scratch database: this drill's tag (a PostgreSQL comment, a
    /// ClickHouse owner table); cleanup drops only a database carrying it.
    public var ownerTag: String?

    public init(action: Action, marker: String? = nil, dropTarget: Bool? = nil, ownerTag: String? = nil) {
        self.action = action
        self.marker = marker
        self.dropTarget = dropTarget
        self.ownerTag = ownerTag
    }

    /// Where markers live in each kind of store: names a person recognises as Backstop's.
    public enum Names {
        /// PostgreSQL: `backstop.drill_markers` (a schema of its own, created when missing).
        public static let postgresSchema = "backstop"
        public static let postgresTable = "drill_markers"
        /// ClickHouse: a table in the source database (so a database backup holds it).
        public static let clickhouseTable = "backstop_drill_markers"
        /// Redis: a key `backstop:drill:<id>` (in database 0).
        public static let redisKeyPrefix = "backstop:drill:"
        /// Volumes and buckets: a folder at the top of the source.
        public static let folder = ".backstop-drill"
    }
}

/// What `drill` reports in the result's `drill` member.
public struct DrillAgentReport: Codable, Sendable, Hashable {
    public var marker: String?
    /// mark: when the marker was written, by the store's clock where it has one (RFC 3339).
    public var markedAt: String?
    /// cleanup: whether the scratch target was dropped, and whether a marker was removed.
    public var droppedTarget: Bool?
    public var removedMarker: Bool?
    public var notes: [String]?

    public init(marker: String? = nil, markedAt: String? = nil, droppedTarget: Bool? = nil, removedMarker: Bool? = nil, notes: [String]? = nil) {
        self.marker = marker
        self.markedAt = markedAt
        self.droppedTarget = droppedTarget
        self.removedMarker = removedMarker
        self.notes = notes
    }
}
