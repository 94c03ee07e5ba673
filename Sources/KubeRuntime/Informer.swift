import KubeClient
import KubeModel
import Logging
import ServiceLifecycle
import Synchronization

/// What an informer tells its handlers after updating the cache.
public enum InformerEvent<R: KubeResource>: Sendable {
    case added(R)
    /// Only sent when the resourceVersion changed (a relist of unchanged objects is silent).
    case updated(old: R, new: R)
    case deleted(R)
    /// The object at this key no longer decodes; it was dropped from the cache (logged once).
    case undecodable(ObjectKey, UndecodableObject)

    public var key: ObjectKey {
        switch self {
        case .added(let o), .deleted(let o), .updated(_, let o): ObjectKey(o)
        case .undecodable(let key, _): key
        }
    }
}

/// A reflector feeding an `ObjectCache`: list, then watch from the list's resourceVersion with
/// bookmarks; re-watch from the last seen version when a watch ends or drops (with backoff
/// after failures); list again on 410 Gone, telling handlers only about what really changed.
/// One reflector runs per watched namespace (or one for all namespaces). A `Service`.
public final class Informer<R: KubeResource>: Service, Sendable {
    public let cache = ObjectCache<R>()
    public let namespaces: [String]?
    public let labelSelector: String?
    public let fieldSelector: String?
    private let client: KubeClient
    private let logger: Logger
    private let watchTimeout: ClosedRange<Int>
    private let handlers = Mutex<[@Sendable (InformerEvent<R>) -> Void]>([])
    private let synced = Mutex<(scopes: Set<String>, waiters: [Int: CheckedContinuation<Void, Never>], nextWaiter: Int)>(([], [:], 0))
    private let loggedUndecodable = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - namespaces: nil watches all namespaces (or a cluster-scoped kind).
    ///   - watchTimeout: each watch asks the server to end it after a random time in this range (seconds).
    public init(client: KubeClient, namespaces: [String]? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
                watchTimeout: ClosedRange<Int> = 300...600, logger: Logger? = nil) {
        self.client = client
        self.namespaces = R.resourceType.namespaced ? namespaces : nil
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.watchTimeout = watchTimeout
        var logger = logger ?? client.logger
        logger[metadataKey: "resource"] = "\(R.resourceType.qualifiedPlural)"
        self.logger = logger
    }

    /// Adds a handler; call before `run`. Handlers run on the reflector's task: keep them quick
    /// (enqueue a key, nothing more).
    public func addHandler(_ handler: @escaping @Sendable (InformerEvent<R>) -> Void) {
        handlers.withLock { $0.append(handler) }
    }

    private var scopes: [String?] { namespaces.map { $0.map { Optional($0) } } ?? [nil] }

    /// True once every namespace was listed at least once.
    public var hasSynced: Bool { synced.withLock { $0.scopes.count >= scopes.count } }

    /// Returns once every namespace was listed, or as soon as the calling task is cancelled
    /// (a shutdown must not hang on a kind the server does not serve).
    public func waitUntilSynced() async {
        let needed = scopes.count
        let id = synced.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let done = synced.withLock { s -> Bool in
                    if s.scopes.count >= needed || Task.isCancelled { return true }
                    s.waiters[id] = c
                    return false
                }
                if done { c.resume() }
            }
        } onCancel: {
            synced.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for scope in self.scopes {
                    group.addTask { await self.reflect(namespace: scope) }
                }
            }
        }
    }

    // MARK: Reflector

    private func reflect(namespace: String?) async {
        let api = client.resource(R.self, namespace: namespace)
        var logger = self.logger
        if let namespace { logger[metadataKey: "namespace"] = "\(namespace)" }
        var failures = 0
        relist: while !Task.isCancelled {
            let listed: (resourceVersion: String, count: Int)
            do {
                listed = try await listIntoCache(api, namespace: namespace, logger: logger)
            } catch {
                if error.kind == .cancelled || Task.isCancelled { return }
                logger.warning("list failed; retrying", metadata: ["error": "\(error)"])
                guard await pause(Backoff.watch.delay(attempt: failures)) else { return }
                failures += 1
                continue
            }
            markSynced(namespace)
            // The decoded list is released by now; hand its pages back.
            if listed.count >= 200 { FreeMemory.releaseToSystem() }
            var resourceVersion = listed.resourceVersion
            logger.debug("listed", metadata: ["count": "\(listed.count)", "resourceVersion": "\(resourceVersion)"])
            failures = 0

            while !Task.isCancelled {
                do {
                    let stream = try await api.watch(WatchOptions(
                        resourceVersion: resourceVersion, labelSelector: labelSelector, fieldSelector: fieldSelector,
                        allowBookmarks: true, timeoutSeconds: Int.random(in: watchTimeout)))
                    for try await event in stream {
                        if let rv = apply(event, logger: logger), !rv.isEmpty { resourceVersion = rv }
                        failures = 0
                    }
                    logger.trace("watch ended; re-watching", metadata: ["resourceVersion": "\(resourceVersion)"])
                } catch {
                    if error.kind == .cancelled || Task.isCancelled { return }
                    if error.kind == .gone {
                        logger.info("watch history expired (410); relisting", metadata: ["resourceVersion": "\(resourceVersion)"])
                        continue relist
                    }
                    logger.info("watch failed; re-watching", metadata: ["error": "\(error)", "resourceVersion": "\(resourceVersion)"])
                    guard await pause(Backoff.watch.delay(attempt: failures)) else { return }
                    failures += 1
                }
            }
        }
    }

    /// Lists and replaces the cache. A function of its own so the decoded list (untrimmed
    /// objects) is freed before the watch starts, not kept until the next relist.
    private func listIntoCache(_ api: ResourceClient<R>, namespace: String?, logger: Logger) async throws(KubeError)
        -> (resourceVersion: String, count: Int)
    {
        let list = try await api.listAll(ListOptions(labelSelector: labelSelector, fieldSelector: fieldSelector))
        replace(namespace: namespace, with: list, logger: logger)
        return (list.resourceVersion, list.items.count)
    }

    /// Sleeps; false when cancelled.
    private func pause(_ delay: Duration) async -> Bool {
        do { try await Task.sleep(for: delay); return true } catch { return false }
    }

    private func markSynced(_ namespace: String?) {
        let waiters = synced.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.scopes.insert(namespace ?? "")
            guard s.scopes.count >= scopes.count else { return [] }
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume() }
    }

    private func dispatch(_ events: [InformerEvent<R>]) {
        guard !events.isEmpty else { return }
        let handlers = self.handlers.withLock { $0 }
        for event in events { for handler in handlers { handler(event) } }
    }

    /// Applies one watch event to the cache; returns its resourceVersion.
    private func apply(_ event: WatchEvent<R>, logger: Logger) -> String? {
        switch event {
        case .added(let received), .modified(let received):
            let object = Self.trimmed(received)
            let old = cache.upsert(object)
            if let old {
                if old.metadata.resourceVersion != object.metadata.resourceVersion {
                    dispatch([.updated(old: old, new: object)])
                }
            } else {
                dispatch([.added(object)])
            }
            return object.metadata.resourceVersion
        case .deleted(let object):
            if let old = cache.remove(ObjectKey(object)) { dispatch([.deleted(old)]) }
            return object.metadata.resourceVersion
        case .bookmark(let rv):
            return rv
        case .undecodable(let type, let failure):
            let key = ObjectKey(namespace: failure.namespace, name: failure.name)
            if type == "DELETED" {
                if let old = cache.remove(key) { dispatch([.deleted(old)]) }
            } else {
                undecodable(key, failure, logger: logger)
            }
            return failure.resourceVersion
        }
    }

    private func undecodable(_ key: ObjectKey, _ failure: UndecodableObject, logger: Logger) {
        let first = loggedUndecodable.withLock { $0.insert("\(key)@\(failure.resourceVersion ?? "")").inserted }
        if first {
            logger.error("object does not decode; skipped", metadata: [
                "key": "\(key)", "resourceVersion": "\(failure.resourceVersion ?? "")", "reason": "\(failure.reason)"])
        }
        let alreadyKnown = cache.undecodable(key) == failure
        _ = cache.markUndecodable(key, failure)
        if !alreadyKnown { dispatch([.undecodable(key, failure)]) }
    }

    /// What the cache keeps of an object: no `managedFields` (as controller-runtime's
    /// TransformStripManagedFields) — often larger than the object itself, no controller reads
    /// them, and an update without them leaves the server's copy unchanged — and, for kinds that
    /// are `CacheTrimmed` (Pods), only the fields controllers read.
    static func trimmed(_ object: R) -> R {
        var copy = object
        copy.metadata.managedFields = nil
        if let trimmable = copy as? any CacheTrimmed, let trimmed = trimmable.trimmedForCache() as? R { return trimmed }
        return copy
    }

    /// Replaces the cache contents of one namespace (or all) with a fresh list and tells the
    /// handlers the difference.
    private func replace(namespace: String?, with list: ObjectList<R>, logger: Logger) {
        var stale = cache.keys(in: namespace)
        var events: [InformerEvent<R>] = []
        for received in list.items {
            let object = Self.trimmed(received)
            let key = ObjectKey(object)
            stale.remove(key)
            let old = cache.upsert(object)
            if let old {
                if old.metadata.resourceVersion != object.metadata.resourceVersion {
                    events.append(.updated(old: old, new: object))
                }
            } else {
                events.append(.added(object))
            }
        }
        dispatch(events)
        for failure in list.undecodable {
            let key = ObjectKey(namespace: failure.namespace, name: failure.name)
            stale.remove(key)
            undecodable(key, failure, logger: logger)
        }
        events = []
        for key in stale {
            if let old = cache.remove(key) { events.append(.deleted(old)) }
        }
        dispatch(events)
    }
}
