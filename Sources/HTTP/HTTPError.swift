import CCurl

/// Every failure of the HTTP module. Messages name the method, host and path, never headers,
/// query strings or credentials.
public struct HTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// DNS failure or TCP connect refused/unreachable, or the connect timeout expired.
        case connectFailed
        /// Idle (no bytes for the idle timeout) or total timeout.
        case timedOut
        /// Handshake failed: untrusted CA, host name mismatch, bad client certificate…
        case tls
        /// The server closed or reset the connection before the response was complete.
        case connectionClosed
        /// The server's bytes are not valid HTTP (malformed chunk, garbage status line, HTTP/2 error).
        case protocolError
        /// The calling task was cancelled or the body was dropped.
        case cancelled
        /// The body exceeded the caller's limit.
        case tooLarge
        /// A status the caller did not accept (see `HTTPResponse.expectStatus`).
        case status
        /// The request itself is unusable (bad URL, unreadable certificate file…).
        case invalidRequest
        /// The request body's source threw.
        case requestBody
        /// Any other transport failure.
        case other
    }

    public let kind: Kind
    /// What went wrong, for humans; no secrets.
    public let message: String
    /// "GET https://host:port/path" (no query, no credentials).
    public let request: String
    /// The HTTP status for `.status`.
    public let status: Int?
    /// libcurl's CURLcode when the failure came from libcurl.
    public let curlCode: Int?

    public init(kind: Kind, message: String, request: String, status: Int? = nil, curlCode: Int? = nil) {
        self.kind = kind
        self.message = message
        self.request = request
        self.status = status
        self.curlCode = curlCode
    }

    public var description: String {
        let what: String = switch kind {
        case .connectFailed: "connection failed"
        case .timedOut: "timed out"
        case .tls: "TLS error"
        case .connectionClosed: "connection closed early"
        case .protocolError: "protocol error"
        case .cancelled: "cancelled"
        case .tooLarge: "response too large"
        case .status: "unexpected status \(status ?? 0)"
        case .invalidRequest: "invalid request"
        case .requestBody: "request body failed"
        case .other: "transfer failed"
        }
        return message.isEmpty ? "\(what) (\(request))" : "\(what): \(message) (\(request))"
    }

    static func cancelled(_ request: String) -> HTTPError {
        HTTPError(kind: .cancelled, message: "", request: request)
    }

    static func status(_ status: Int, body: [UInt8], request: String) -> HTTPError {
        let text = String(decoding: body.prefix(512), as: UTF8.self)
            .map { $0.isASCII && ($0.asciiValue! >= 32 || $0 == "\n") ? $0 : " " }
        return HTTPError(kind: .status, message: String(text).trimmingSpaces, request: request, status: status)
    }

    /// Maps a libcurl result and its error-buffer text to a kind.
    static func curl(_ code: CURLcode, detail: String, request: String) -> HTTPError {
        let kind: Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            kind = .connectFailed
        case CURLE_OPERATION_TIMEDOUT:
            // The connect timeout is reported with the same code; its text says "Connection timed out".
            kind = detail.hasPrefix("Connection timed out") || detail.hasPrefix("Resolving timed out") ? .connectFailed : .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED:
            kind = .tls
        case CURLE_RECV_ERROR where detail.contains("chunk"):
            kind = .protocolError
        case CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR:
            kind = .connectionClosed
        case CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_BAD_CONTENT_ENCODING,
             CURLE_UNSUPPORTED_PROTOCOL, CURLE_HTTP3, CURLE_TOO_MANY_REDIRECTS:
            kind = .protocolError
        case CURLE_URL_MALFORMAT, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_NOT_BUILT_IN, CURLE_UNKNOWN_OPTION,
             CURLE_READ_ERROR, CURLE_FILE_COULDNT_READ_FILE:
            kind = .invalidRequest
        default:
            kind = .other
        }
        let text = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        return HTTPError(kind: kind, message: text, request: request, curlCode: Int(code.rawValue))
    }
}
