import Foundation

/// A secret read from a mounted Secret file. Its `description` is always redacted, so it can
/// be interpolated into an error by mistake without leaking.
public struct SecretValue: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "[REDACTED]" }
    public var debugDescription: String { "[REDACTED]" }

    /// Reads a Secret file; one trailing newline is dropped (`echo secret > file`).
    public static func read(file path: String, purpose: String) throws -> SecretValue {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgentError(.secretUnreadable, "\(purpose): cannot read secret file \(path)")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else { throw AgentError(.secretUnreadable, "\(purpose): secret file \(path) is empty") }
        return SecretValue(text)
    }
}

/// A libpq password file (`PGPASSFILE`) with mode 0600 in the work directory, removed by
/// `remove()`. This is how a password reaches pg_dump/pg_restore: not argv (world-readable
/// via /proc), not an environment variable of ours.
public final class PostgresPasswordFile: Sendable {
    public let path: String

    public init(password: SecretValue, directory: String) throws {
        guard !password.value.contains("\n"), !password.value.contains("\r") else {
            throw AgentError(.secretUnreadable, "the database password contains a line break, which a libpq password file cannot hold")
        }
        // Fields are `host:port:database:user:password`; `\` and `:` in the password are escaped.
        let escaped = password.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
        let dir = (directory as NSString).standardizingPath
        path = (dir as NSString).appendingPathComponent("backstop-pgpass-\(UUID().uuidString.prefix(12))")
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError(.internal, "cannot create a password file in \(dir): \(String(cString: strerror(errno)))")
        }
        defer { POSIX.close(fd) }
        do {
            try POSIX.writeAll(fd, Array("*:*:*:*:\(escaped)\n".utf8))
        } catch {
            unlink(path)
            throw AgentError(.internal, "cannot write the password file in \(dir)")
        }
    }

    public func remove() { unlink(path) }

    deinit { unlink(path) }
}
