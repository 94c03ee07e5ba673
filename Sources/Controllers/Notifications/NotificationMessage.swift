import KubeModel

/// The JSON body a webhook receives: a Slack-compatible `text` (one line a person reads in a
/// chat channel) and the same facts as fields for machines (Alertmanager / Flux style receivers
/// route on `kind`, `event`, `reason` and drop repeats by `id`). Built only from the object's
/// identity and a status message: it has no field that could hold a URL or a Secret value.
public struct NotificationMessage: Codable, Sendable, Hashable {
    public var text: String
    /// Stable per transition: a repeat (at-least-once delivery) carries the same id.
    public var id: String
    public var kind: String
    public var namespace: String
    public var name: String
    public var event: String
    public var reason: String
    public var message: String
    /// RFC 3339, when the transition was observed.
    public var time: String
    public var source: String

    public init(kind: String, namespace: String, name: String, item: PendingNotification) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        id = item.id
        event = item.event.rawValue
        reason = item.reason
        message = item.message
        time = item.time.rfc3339
        source = "backstop"
        let what = Self.headline(item.event, kind: kind)
        let why = item.reason.isEmpty || item.reason == item.event.rawValue ? "" : " (\(item.reason))"
        let detail = item.message.isEmpty ? "" : ": \(item.message)"
        let next = Self.advice(item.event, kind: kind, namespace: namespace, name: name)
        text = "\(Self.good(item.event) ? "✅" : "🚨") \(kind) \(namespace)/\(name): \(what)\(why)\(detail)" + (next.isEmpty ? "" : ". \(next)")
    }

    static func good(_ event: NotificationEvent) -> Bool {
        [.succeeded, .drillPassed, .restoreSucceeded, .rotationSucceeded].contains(event)
    }

    static func headline(_ event: NotificationEvent, kind: String) -> String {
        let run = kind == "CleanupPolicy" ? "cleanup" : "backup"
        switch event {
        case .succeeded: return "\(run) succeeded"
        case .failed: return "\(run) failed"
        case .stale: return "no successful backup within staleAfter"
        case .verificationFailed: return "backup verification failed"
        case .drillPassed: return "restore drill passed"
        case .drillFailed: return "restore drill failed"
        case .restoreSucceeded: return "restore succeeded"
        case .restoreFailed: return "restore failed"
        case .rotationSucceeded: return "secret rotation succeeded"
        case .rotationFailed: return "secret rotation failed"
        case .rotationRolledBack: return "secret rotation rolled back"
        default: return event.rawValue
        }
    }

    /// What to do next, as a command to run; nothing for good news.
    static func advice(_ event: NotificationEvent, kind: String, namespace: String, name: String) -> String {
        guard !good(event) else { return "" }
        let describe = "kubectl describe \(kind.lowercased()) -n \(namespace) \(name)"
        switch event {
        case .stale: return "Check why backups stop succeeding: \(describe)"
        default: return "See the conditions and Events: \(describe)"
        }
    }
}
