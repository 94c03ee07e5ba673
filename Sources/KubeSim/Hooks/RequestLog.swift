import Foundation
import Synchronization

/// A bounded record of the requests the server answered, for assertions in tests.
public final class RequestLog: Sendable {
    public struct Entry: Sendable {
        public var time: Date
        public var method: String
        public var path: String
        public var query: [String: String]
        public var contentType: String?
        public var userAgent: String
        /// The authenticated user (nil when authentication failed).
        public var user: String?
        public var status: Int
    }

    private let entriesState = Mutex<[Entry]>([])
    private let capacity: Int
    private let clock: SimClock

    init(capacity: Int = 10_000, clock: SimClock) {
        self.capacity = capacity
        self.clock = clock
    }

    func record(_ req: APIRequest, user: String?, status: Int) {
        let e = Entry(time: clock.now, method: req.method, path: req.path, query: req.query, contentType: req.contentType,
                      userAgent: req.userAgent, user: user, status: status)
        entriesState.withLock { list in
            list.append(e)
            if list.count > capacity { list.removeFirst(list.count - capacity) }
        }
    }

    /// All recorded requests, oldest first.
    public var entries: [Entry] { entriesState.withLock { $0 } }

    /// Requests whose path contains `path` (and method, when given).
    public func matching(method: String? = nil, path: String) -> [Entry] {
        entries.filter { ($0.method == method?.uppercased() || method == nil) && $0.path.contains(path) }
    }

    public func clear() { entriesState.withLock { $0.removeAll() } }
}

/// Where the Job runner keeps container logs, served by `GET …/pods/<name>/log`.
final class PodLogs: Sendable {
    private let files = Mutex<[String: URL]>([:])

    func register(podUID: String, container: String, file: URL) {
        files.withLock { $0["\(podUID)/\(container)"] = file }
    }

    func read(podUID: String, container: String) -> String? {
        guard let url = files.withLock({ $0["\(podUID)/\(container)"] }) else { return nil }
        return (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
