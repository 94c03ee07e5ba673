import KubeModel

/// An Event planned by a pure planner; the executor records it after the status write.
public struct PlannedEvent: Sendable, Hashable {
    public var warning: Bool
    public var reason: String
    public var message: String
    public init(warning: Bool = false, reason: String, message: String) {
        self.warning = warning
        self.reason = reason
        self.message = message
    }
}

/// One Event per condition transition, for the step-wise kinds (the BackupPolicy planner names
/// its Events itself, as its tests pin them): a condition that appears, or whose status or
/// reason changes, is announced once; a message-only update is not (no Event spam from a
/// changing "3 of 5 ready").
public enum ConditionEvents {
    /// `abnormal` says which status of a type is bad news (Ready=False, Stale=True): those
    /// transitions become Warnings.
    public static func transitions(from old: [Condition], to new: [Condition],
                                   abnormal: (String) -> ConditionStatus = { _ in .false }) -> [PlannedEvent] {
        new.compactMap { c in
            let before = old.find(c.type)
            guard before?.status != c.status || before?.reason != c.reason else { return nil }
            let message = c.message.isEmpty ? "\(c.type) is \(c.status)" : "\(c.type)=\(c.status): \(c.message)"
            return PlannedEvent(warning: c.status == abnormal(c.type), reason: c.reason, message: message)
        }
    }
}

/// Metric labels every Backstop metric carries, so dashboards join across kinds:
/// `namespace` and the object under the kind's own label (`policy`, `request`, `drill`, …).
public enum MetricDimensions {
    public static func of(namespace: String, _ label: String, _ name: String) -> [(String, String)] {
        [("namespace", namespace), (label, name)]
    }
}
