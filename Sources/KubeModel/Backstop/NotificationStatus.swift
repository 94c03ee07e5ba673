/// `status.notifications` of every kind with `spec.notify`: the messages decided but not yet
/// delivered (written before delivery, so an operator restart neither drops nor repeats a
/// transition) and the outcome of the last delivery. Never holds a URL or a Secret value.
public struct NotificationStatus: Codable, Sendable, Hashable {
    /// Oldest first; bounded (see `NotificationLedger.pendingLimit`).
    public var pending: [PendingNotification]?
    public var lastDelivery: NotificationDelivery?
    public init(pending: [PendingNotification]? = nil, lastDelivery: NotificationDelivery? = nil) {
        self.pending = pending
        self.lastDelivery = lastDelivery
    }
}

/// One transition to announce. `id` is stable per transition: a receiver that sees it twice
/// (at-least-once delivery) can drop the repeat.
public struct PendingNotification: Codable, Sendable, Hashable {
    public var id: String
    public var event: NotificationEvent
    /// CamelCase reason, e.g. the agent's `AuthenticationFailed`.
    public var reason: String
    /// What happened, for humans (the condition message: no secrets).
    public var message: String
    /// When the transition was observed.
    public var time: Time
    public init(id: String, event: NotificationEvent, reason: String, message: String, time: Time) {
        self.id = id
        self.event = event
        self.reason = reason
        self.message = message
        self.time = time
    }
}

public struct DeliveryResult: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let delivered: Self = "Delivered"
    public static let failed: Self = "Failed"
    /// Every webhook listening to the event had `urlSecretRef.optional` and no Secret: none was called.
    public static let skipped: Self = "Skipped"
    public static let knownValues: [Self] = [.delivered, .failed, .skipped]
}

/// How the last notification went.
public struct NotificationDelivery: Codable, Sendable, Hashable {
    public var id: String
    public var event: NotificationEvent
    public var time: Time
    public var result: DeliveryResult
    /// HTTP attempts made (over all webhooks that listen to the event).
    public var attempts: Int
    /// e.g. "HTTP 200 after 2 attempts" or why it failed; never the URL.
    public var message: String?
    public init(id: String, event: NotificationEvent, time: Time, result: DeliveryResult, attempts: Int, message: String? = nil) {
        self.id = id
        self.event = event
        self.time = time
        self.result = result
        self.attempts = attempts
        self.message = message
    }
}
