import Foundation
import Synchronization

/// Supplies the bearer token. A token file is re-read when the cached copy is older than the
/// reload interval and after the server answered 401, so a rotated token is picked up
/// without a restart. The token is never logged or put in an error.
final class TokenSource: Sendable {
    private enum Source { case none, fixed(String), file(String) }
    private struct Cache {
        var token: String?
        var readAt: ContinuousClock.Instant?
    }
    private let source: Source
    private let reloadInterval: Duration
    private let cache = Mutex(Cache())

    init(_ credentials: KubeConfig.Credentials, reloadInterval: Duration) {
        switch credentials {
        case .none: source = .none
        case .token(let t): source = .fixed(t)
        case .tokenFile(let path): source = .file(path)
        }
        self.reloadInterval = reloadInterval
    }

    var isFile: Bool { if case .file = source { true } else { false } }

    /// The current token (nil when the config has none).
    func token() throws(KubeError) -> String? {
        switch source {
        case .none: return nil
        case .fixed(let token): return token
        case .file(let path):
            let now = ContinuousClock.now
            if let cached = cache.withLock({ c -> String? in
                guard let readAt = c.readAt, now - readAt < reloadInterval else { return nil }
                return c.token
            }) { return cached }
            let token = try Self.read(path)
            cache.withLock { $0 = Cache(token: token, readAt: now) }
            return token
        }
    }

    /// After a 401: forget the cached token. Returns true when re-reading the file gives a
    /// different token (so one retry is worthwhile).
    func refreshAfterUnauthorized() -> Bool {
        guard case .file(let path) = source else { return false }
        let old = cache.withLock { $0.token }
        guard let fresh = try? Self.read(path) else { return false }
        cache.withLock { $0 = Cache(token: fresh, readAt: .now) }
        return fresh != old
    }

    private static func read(_ path: String) throws(KubeError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeError(kind: .configuration, detail: "token file \(path) cannot be read")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw KubeError(kind: .configuration, detail: "token file \(path) is empty") }
        return token
    }
}
