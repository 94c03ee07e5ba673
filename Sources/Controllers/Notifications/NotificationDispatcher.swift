import DynamicJSON
import Foundation
import HTTP
import KubeClient
import KubeModel
import KubeRuntime
import Logging
import Metrics
import Synchronization

/// Delivers staged messages off the reconcile path. A reconciler hands over its object after
/// the status write that staged them (`submit` returns at once); one task per message reads the
/// webhook URL from its Secret, POSTs with retries, then writes the outcome back into
/// `status.notifications` (GET + PUT, retried on 409, so it never overwrites a reconcile's
/// write), records a Warning Event when delivery finally failed, and counts
/// `backstop_notifications_total{kind,event,result}`.
///
/// Delivery is at least once: a message whose POST succeeded but whose write-back did not land
/// (operator killed in between) is sent again, with the same `id`, after the restart.
public final class NotificationDispatcher: Sendable {
    let client: KubeClient
    let recorder: EventRecorder
    let factory: any MetricsFactory
    let logger: Logger
    let sender: WebhookSender
    let clock: @Sendable () -> Date
    private let state = Mutex(Ledger())

    /// Ids in flight, and ids finished recently (the cache may still show them pending).
    struct Ledger {
        var inFlight: Set<String> = []
        var finished: Set<String> = []
        var finishedOrder: [String] = []
        mutating func finish(_ id: String) {
            inFlight.remove(id)
            if finished.insert(id).inserted { finishedOrder.append(id) }
            if finishedOrder.count > 4096 { finished.remove(finishedOrder.removeFirst()) }
        }
    }

    public init(client: KubeClient, recorder: EventRecorder, factory: any MetricsFactory, logger: Logger,
                retry: WebhookRetry = WebhookRetry(), timeout: Duration = .seconds(10), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.recorder = recorder
        self.factory = factory
        self.logger = logger
        var config = HTTPClientConfiguration()
        config.connectTimeout = .seconds(5)
        config.preferHTTP2 = false
        sender = WebhookSender(http: HTTPClient(configuration: config), retry: retry, timeout: timeout)
        self.clock = clock
    }

    /// Starts delivering `object`'s pending messages to the webhooks in `targets` that list
    /// their event. Messages already in flight or just finished are skipped.
    public func submit<Object: StatusBearing>(_ object: Object, targets: [KubeModel.Notification]?) where Object.Status: NotifyingStatus {
        guard let pending = object.status?.notifications?.pending, !pending.isEmpty else { return }
        let fresh = state.withLock { s in
            pending.filter { item in
                guard !s.inFlight.contains(item.id), !s.finished.contains(item.id) else { return false }
                s.inFlight.insert(item.id)
                return true
            }
        }
        for item in fresh {
            Task { await self.deliver(item, of: object, targets: targets ?? []) }
        }
    }

    func deliver<Object: StatusBearing>(_ item: PendingNotification, of object: Object, targets: [KubeModel.Notification]) async
    where Object.Status: NotifyingStatus {
        let kind = Object.resourceType.kind
        let namespace = object.metadata.namespace ?? ""
        let name = object.metadata.name ?? ""
        let body = Array((try? JSONValue.encode(NotificationMessage(kind: kind, namespace: namespace, name: name, item: item)).serialized()) ?? [])
        var attempts = 0
        var failures: [String] = []
        var details: [String] = []
        var skipped = 0
        let listening = targets.filter { $0.events.contains(item.event) }
        if listening.isEmpty { failures.append("no webhook in spec.notify lists \(item.event.rawValue) any more") }
        for (index, target) in listening.enumerated() {
            let label = listening.count > 1 ? "webhook \(index + 1): " : ""
            switch await url(target.webhook.urlSecretRef, namespace: namespace) {
            case .failure(let why):
                // `optional: true`: a missing Secret or key means "this webhook is switched off".
                if target.webhook.urlSecretRef.optional == true, why.missing {
                    skipped += 1
                    details.append(label + why.description + " (optional: skipped)")
                } else {
                    failures.append(label + why.description)
                }
            case .success(let url):
                let r = await sender.send(body, to: url)
                attempts += r.attempts
                let text = "\(r.detail) after \(r.attempts) attempt\(r.attempts == 1 ? "" : "s")"
                if r.delivered { details.append(label + text) } else { failures.append(label + text) }
            }
        }
        let ok = failures.isEmpty
        let result: DeliveryResult = !ok ? .failed : (skipped == listening.count ? .skipped : .delivered)
        let delivery = NotificationDelivery(id: item.id, event: item.event, time: Time(clock()), result: result,
                                            attempts: attempts, message: String((failures + details).joined(separator: "; ").prefix(1000)))
        Counter(label: "backstop_notifications_total",
                dimensions: [("kind", kind), ("event", item.event.rawValue), ("result", result.rawValue.lowercased())], factory: factory).increment()
        if !ok {
            recorder.record(object, type: .warning, reason: "NotificationFailed",
                            message: "\(item.event.rawValue) notification \(item.id) was not delivered: \(delivery.message ?? "")")
        }
        let recorded = await writeBack(delivery, of: object)
        state.withLock { s in
            if recorded { s.finish(item.id) } else { s.inFlight.remove(item.id) }
        }
    }

    /// The webhook URL, or why there is none (never the value itself).
    func url(_ ref: SecretKeySelector, namespace: String) async -> Result<String, Failure> {
        do {
            guard let secret = try await client.resource(Secret.self, namespace: namespace).getIfExists(ref.name) else {
                return .failure(Failure("Secret \(ref.name) not found", missing: true))
            }
            if let text = secret.stringData?[ref.key] { return .success(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard let encoded = secret.data?[ref.key], let data = Data(base64Encoded: encoded),
                  let text = String(data: data, encoding: .utf8) else {
                return .failure(Failure("Secret \(ref.name) has no key \(ref.key)", missing: true))
            }
            return .success(text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            return .failure(Failure("could not read Secret \(ref.name): \(error.kind)"))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        /// The Secret or its key does not exist (as opposed to a failed read).
        var missing = false
        init(_ description: String, missing: Bool = false) {
            self.description = description
            self.missing = missing
        }
    }

    /// Removes the message from `pending` and sets `lastDelivery`, on the object as it is now.
    /// False when the write did not land (the message stays pending and is tried again).
    func writeBack<Object: StatusBearing>(_ delivery: NotificationDelivery, of object: Object) async -> Bool
    where Object.Status: NotifyingStatus {
        let api = client.resource(Object.self, namespace: object.metadata.namespace)
        for _ in 0..<8 {
            do {
                guard var current = try await api.getIfExists(object.metadata.name ?? ""),
                      current.metadata.uid == object.metadata.uid, var status = current.status else { return true }
                status.notifications = NotificationLedger.record(delivery, in: status.notifications)
                current.status = status
                _ = try await api.updateStatus(current)
                return true
            } catch {
                if error.kind == .notFound { return true }
                if error.kind != .conflict {
                    logger.warning("notification status not written", metadata: ["object": "\(object.metadata.namespace ?? "")/\(object.metadata.name ?? "")",
                                                                                  "error": "\(error.kind)"])
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        return false
    }
}

/// One dispatcher per set of controllers started together (made on first use, with the first
/// Manager that asks): `ControllerSettings` carries it, so every controller of one
/// `backstopControllers(settings)` call shares the same in-flight ledger.
public final class NotificationHub: Sendable {
    private let dispatcher = Mutex<NotificationDispatcher?>(nil)
    let retry: WebhookRetry

    public init(retry: WebhookRetry = WebhookRetry()) { self.retry = retry }

    public func dispatcher(for manager: Manager, clock: @escaping @Sendable () -> Date) -> NotificationDispatcher {
        dispatcher.withLock { d in
            if let d { return d }
            let made = NotificationDispatcher(client: manager.client, recorder: manager.recorder, factory: manager.metricsFactory,
                                              logger: manager.logger, retry: retry, clock: clock)
            d = made
            return made
        }
    }
}
