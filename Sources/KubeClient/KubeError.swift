import KubeModel

/// Every failure of `KubeClient`. `status` is the server's decoded `Status` when it sent one.
/// Descriptions carry the verb, path and the server's message, never headers, tokens or bodies.
public struct KubeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case notFound, alreadyExists, conflict
        /// 410: resource version too old or continue token expired; relist.
        case gone
        /// 422 with `causes`.
        case invalid
        case badRequest, unauthorized, forbidden, methodNotAllowed, notAcceptable, unsupportedMediaType
        case tooManyRequests
        /// 500, 502, 503, 504 and other 5xx.
        case serverError
        /// Connect, TLS, timeout or a connection closed early.
        case transport
        /// The answer could not be decoded into the expected type.
        case decoding
        /// Bad kubeconfig, unreadable token or CA file, …
        case configuration
        case cancelled
        /// Any other status code.
        case other
    }

    public let kind: Kind
    /// The HTTP status, or the `code` of a watch `ERROR` event.
    public let code: Int?
    public let status: Status?
    /// "GET /api/v1/namespaces/x/configmaps/y" (no query string).
    public let request: String
    /// For `.transport`, `.decoding`, `.configuration`: what failed.
    public let detail: String
    /// For `.tooManyRequests`: the server's `Retry-After`.
    public let retryAfter: Duration?

    public init(kind: Kind, code: Int? = nil, status: Status? = nil, request: String = "", detail: String = "",
                retryAfter: Duration? = nil) {
        self.kind = kind
        self.code = code
        self.status = status
        self.request = request
        self.detail = detail
        self.retryAfter = retryAfter
    }

    /// Maps an HTTP status (and the Status body if any) to a kind.
    public static func kind(forCode code: Int, reason: String?) -> Kind {
        switch code {
        case 400: .badRequest
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 405: .methodNotAllowed
        case 406: .notAcceptable
        case 409: reason == "AlreadyExists" ? .alreadyExists : .conflict
        case 410: .gone
        case 415: .unsupportedMediaType
        case 422: .invalid
        case 429: .tooManyRequests
        case 500...599: .serverError
        default: .other
        }
    }

    /// The server's message (or the transport detail).
    public var message: String { status?.message ?? detail }
    /// Field-level causes of a 422 `Invalid` or an apply conflict.
    public var causes: [StatusCause] { status?.details?.causes ?? [] }
    public var reason: String? { status?.reason }

    public var isNotFound: Bool { kind == .notFound }
    public var isConflict: Bool { kind == .conflict }
    public var isAlreadyExists: Bool { kind == .alreadyExists }
    public var isGone: Bool { kind == .gone }

    public var description: String {
        var parts: [String] = []
        if let code { parts.append("\(code)") }
        parts.append(kind.rawValue)
        if let reason = status?.reason, !reason.isEmpty { parts.append("(\(reason))") }
        var text = parts.joined(separator: " ")
        if !request.isEmpty { text += " on \(request)" }
        let msg = message
        if !msg.isEmpty { text += ": \(msg)" }
        return text
    }
}
