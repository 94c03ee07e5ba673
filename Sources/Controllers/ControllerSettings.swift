import KubeRuntime

/// What the controllers need from the process that hosts them (`backstop run`, the demo, tests).
public struct ControllerSettings: Sendable {
    /// The image of the agent Jobs: the operator's own image, which contains `backstop agent`.
    public var agentImage: String
    /// Where the operator runs (for Events about cluster-scoped matters and the agent's ServiceAccount lookup).
    public var operatorNamespace: String?

    public static let defaultAgentImage = "ghcr.io/backstop-dev/backstop:0.1.0"

    public init(agentImage: String = ControllerSettings.defaultAgentImage, operatorNamespace: String? = nil) {
        self.agentImage = agentImage
        self.operatorNamespace = operatorNamespace
    }
}

/// Every controller `backstop run` starts, in registration order. The BackupPolicy controller
/// fills this in; until then the list is empty and `run` serves informers, election and /metrics.
public func backstopControllers(_ settings: ControllerSettings) -> [ControllerRegistration] {
    []
}
