import Foundation

/// Every failure of this module. Descriptions never contain the password or a connection
/// string: messages are built from server fields or libpq text and then redacted.
public struct PostgresError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Wrong password or no matching pg_hba rule / role (SQLSTATE 28P01 or 28000).
        case authenticationFailed
        /// The database named in the configuration does not exist (SQLSTATE 3D000).
        case databaseDoesNotExist
        /// Nothing answers at host:port (refused, unknown host, no route).
        case unreachable
        /// The connection attempt did not finish within `connectTimeout`.
        case timeout
        /// TLS could not be negotiated or verified.
        case tls
        /// The server refused the session for another reason (too many connections, starting up…).
        case connectionRejected
        /// The connection broke while in use.
        case connectionLost
        /// `close()` was called or the connection was released.
        case connectionClosed
        /// The server rejected a statement; see `sqlState`.
        case server
        /// A value could not be converted to the requested Swift type.
        case decoding
        /// The API was used in a way libpq cannot honour (e.g. a query during an active COPY).
        case misuse
    }

    public var kind: Kind
    /// Five-character SQLSTATE when the server sent one, e.g. "28P01", "42P01".
    public var sqlState: String?
    /// Severity as sent by the server (ERROR, FATAL, PANIC), when known.
    public var severity: String?
    /// Primary message, redacted.
    public var message: String
    public var detail: String?
    public var hint: String?

    public init(kind: Kind, sqlState: String? = nil, severity: String? = nil, message: String,
                detail: String? = nil, hint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.severity = severity
        self.message = message
        self.detail = detail
        self.hint = hint
    }

    public var description: String {
        var text = "postgres \(kind.rawValue)"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": "
        if let severity { text += "\(severity): " }
        text += message
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }

    /// Removes `secrets` (and their URL-encoded forms) plus anything shaped like a password
    /// assignment or a URI user-info section.
    func redacted(_ secrets: [String]) -> PostgresError {
        var copy = self
        copy.message = Redactor.redact(message, secrets: secrets)
        copy.detail = detail.map { Redactor.redact($0, secrets: secrets) }
        copy.hint = hint.map { Redactor.redact($0, secrets: secrets) }
        return copy
    }
}

enum Redactor {
    static let mask = "[REDACTED]"

    static func redact(_ text: String, secrets: [String]) -> String {
        var out = text
        for secret in secrets where !secret.isEmpty {
            var forms = [secret]
            if let encoded = secret.addingPercentEncodingForURIUserInfo(), encoded != secret { forms.append(encoded) }
            for form in forms { out = out.replacingAll(form, with: mask) }
        }
        return redactAssignments(out)
    }

    /// `password=xyz`, `password='x y'` and `scheme://user:xyz@` are masked whatever the secret.
    private static func redactAssignments(_ text: String) -> String {
        let assignment = #/(?i)((?:ssl)?pass(?:word|wd)\s*=\s*)('[^']*'|[^\s&"]*)/#
        let userInfo = #/(://[^/\s:@"]*):[^@/\s"]*@/#
        return text
            .replacing(assignment) { "\($0.1)\(mask)" }
            .replacing(userInfo) { "\($0.1):\(mask)@" }
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        out += rest
        return out
    }

    fileprivate func addingPercentEncodingForURIUserInfo() -> String? {
        var out = ""
        for byte in utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }

    private func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
