import KubeModel

/// A status type with `notifications` (every kind with `spec.notify`).
public protocol NotifyingStatus {
    var notifications: NotificationStatus? { get set }
}

extension BackupPolicyStatus: NotifyingStatus {}
extension CleanupPolicyStatus: NotifyingStatus {}
extension DrillRunStatus: NotifyingStatus {}
extension RestoreRequestStatus: NotifyingStatus {}
extension SecretRotationStatus: NotifyingStatus {}

/// A transition a planner observed, before it is known whether anyone listens. `token` names
/// the transition (the failed Job, the stale-since time, the drill's uid) so its id is stable.
public struct NotificationTrigger: Sendable, Hashable {
    public var event: NotificationEvent
    public var reason: String
    public var message: String
    public var token: String
    public init(event: NotificationEvent, reason: String, message: String, token: String) {
        self.event = event
        self.reason = reason
        self.message = message
        self.token = token
    }
}

/// Staging: which triggers become pending messages in status. Pure. A message is staged in the
/// same status write that records its transition, so a transition that is recorded is never
/// lost, and one that is re-planned (a 409, a restart) gets the same id and is staged once.
public enum NotificationLedger {
    /// Pending messages kept per object; beyond it the oldest are dropped (a webhook down for
    /// days must not grow status without bound).
    public static let pendingLimit = 10

    /// `<event>-<16 hex>`: FNV-1a of the object's uid, the event and the transition's token.
    public static func id(uid: String, event: NotificationEvent, token: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (uid + "/" + event.rawValue + "/" + token).utf8 {
            h ^= UInt64(b)
            h &*= 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return event.rawValue.lowercased() + "-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The events any of `targets` lists.
    public static func listened(_ targets: [KubeModel.Notification]?) -> Set<NotificationEvent> {
        Set((targets ?? []).flatMap(\.events))
    }

    /// `status` with the listened-to triggers appended to `pending` (each id once; never one
    /// already delivered last). Unchanged (nil stays nil) when nothing is staged.
    public static func stage(_ triggers: [NotificationTrigger], targets: [KubeModel.Notification]?, uid: String,
                             into status: NotificationStatus?, now: Time) -> NotificationStatus? {
        let listened = listened(targets)
        var pending = status?.pending ?? []
        var changed = false
        for t in triggers where listened.contains(t.event) {
            let id = id(uid: uid, event: t.event, token: t.token)
            guard !pending.contains(where: { $0.id == id }), status?.lastDelivery?.id != id else { continue }
            pending.append(PendingNotification(id: id, event: t.event, reason: String(t.reason.prefix(128)),
                                               message: String(t.message.prefix(4000)), time: now))
            changed = true
        }
        guard changed else { return status }
        var out = status ?? NotificationStatus()
        out.pending = Array(pending.suffix(pendingLimit))
        return out
    }

    /// `status` with `triggers` staged (the step every controller takes before its status write).
    public static func staging<Status: NotifyingStatus>(_ triggers: [NotificationTrigger], targets: [KubeModel.Notification]?, uid: String,
                                                        into status: Status, now: Time) -> Status {
        var out = status
        out.notifications = stage(triggers, targets: targets, uid: uid, into: status.notifications, now: now)
        return out
    }

    /// `status` after a delivery finished: the message leaves `pending`, `lastDelivery` tells how it went.
    public static func record(_ delivery: NotificationDelivery, in status: NotificationStatus?) -> NotificationStatus {
        var out = status ?? NotificationStatus()
        let rest = (out.pending ?? []).filter { $0.id != delivery.id }
        out.pending = rest.isEmpty ? nil : rest
        out.lastDelivery = delivery
        return out
    }
}
