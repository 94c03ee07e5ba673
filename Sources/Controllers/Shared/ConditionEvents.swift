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

/// Metric labels every Backstop metric carries, so dashboards join across kinds:
/// `namespace` and the object under the kind's own label (`policy`, `request`, `drill`, …).
public enum MetricDimensions {
    public static func of(namespace: String, _ label: String, _ name: String) -> [(String, String)] {
        [("namespace", namespace), (label, name)]
    }
}
