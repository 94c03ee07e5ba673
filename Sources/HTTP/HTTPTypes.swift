/// Value types of the public HTTP API: requests, responses and their headers.

/// An HTTP method; any token is allowed (`HTTPMethod("PROPFIND")`).
public struct HTTPMethod: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
    public init(_ rawValue: String) { self.init(rawValue: rawValue) }
    public var description: String { rawValue }

    public static let get = HTTPMethod("GET")
    public static let head = HTTPMethod("HEAD")
    public static let post = HTTPMethod("POST")
    public static let put = HTTPMethod("PUT")
    public static let patch = HTTPMethod("PATCH")
    public static let delete = HTTPMethod("DELETE")
}

/// Ordered header fields with case-insensitive lookup. Its description never shows values of
/// credential-bearing fields.
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public private(set) var fields: [Field]

    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    public init() { fields = [] }
    public init(_ pairs: [(String, String)]) { fields = pairs.map { Field(name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The first value of `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    /// Every value of `name` (case-insensitive), in order.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
    public mutating func add(_ name: String, _ value: String) { fields.append(Field(name: name, value: value)) }
    /// Replaces every field called `name` with one field.
    public mutating func set(_ name: String, _ value: String) { remove(name); add(name, value) }
    public mutating func remove(_ name: String) { fields.removeAll { $0.name.lowercased() == name.lowercased() } }
    public func contains(_ name: String) -> Bool { self[name] != nil }
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    static let sensitive: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"]
    public var description: String {
        fields.map { Self.sensitive.contains($0.name.lowercased()) ? "\($0.name): <redacted>" : "\($0.name): \($0.value)" }
            .joined(separator: ", ")
    }
}

/// How a request authenticates. `description` never contains the secret.
public enum HTTPAuthorization: Sendable, CustomStringConvertible {
    /// `Authorization: Bearer <token>`.
    case bearer(String)
    /// AWS Signature V4 computed by libcurl (`CURLOPT_AWS_SIGV4`), e.g. service "s3".
    case awsSigV4(AWSCredentials, region: String, service: String)

    public var description: String {
        switch self {
        case .bearer: "bearer(<redacted>)"
        case .awsSigV4(let c, let region, let service): "awsSigV4(\(c), region: \(region), service: \(service))"
        }
    }
}

/// An access key pair (and optional session token). `description` shows only the access key id.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
    public var description: String { "AWSCredentials(accessKeyID: \(accessKeyID), secret: <redacted>)" }
}

/// A request body: nothing, bytes in memory, or chunks streamed from an `AsyncSequence` with a
/// known length (sent with Content-Length) or an unknown one (sent chunked on HTTP/1.1).
public struct HTTPRequestBody: Sendable {
    enum Storage: Sendable {
        case empty
        case bytes([UInt8])
        case stream(length: Int64?, pump: @Sendable (UploadSink) async throws -> Void)
    }
    let storage: Storage

    public static let empty = HTTPRequestBody(storage: .empty)
    public static func bytes(_ bytes: [UInt8]) -> HTTPRequestBody { HTTPRequestBody(storage: .bytes(bytes)) }
    public static func string(_ text: String) -> HTTPRequestBody { .bytes(Array(text.utf8)) }
    /// Streams `source` with back-pressure: it is read only as fast as the server accepts data.
    /// An error thrown by `source` aborts the request with an `HTTPError` of kind `.requestBody`.
    public static func stream<S: AsyncSequence & Sendable>(_ source: S, length: Int64? = nil) -> HTTPRequestBody
    where S.Element == [UInt8] {
        HTTPRequestBody(storage: .stream(length: length, pump: { sink in
            for try await chunk in source where !chunk.isEmpty {
                guard await sink.write(chunk) else { return }
            }
        }))
    }

    /// The length when known in advance (nil for a stream of unknown length).
    public var length: Int64? {
        switch storage {
        case .empty: 0
        case .bytes(let b): Int64(b.count)
        case .stream(let length, _): length
        }
    }
}

/// One HTTP request. `description` redacts credentials and the query string.
public struct HTTPRequest: Sendable, CustomStringConvertible {
    public var method: HTTPMethod
    /// Absolute `http://` or `https://` URL, already percent-encoded.
    public var url: String
    public var headers: HTTPHeaders
    public var body: HTTPRequestBody
    public var authorization: HTTPAuthorization?
    /// Overrides the client's idle timeout (no bytes either way for this long aborts the request);
    /// `.zero` disables it (long watches).
    public var idleTimeout: Duration?
    /// A limit on the whole request including the body; nil means none.
    public var totalTimeout: Duration?

    public init(method: HTTPMethod = .get, url: String, headers: HTTPHeaders = [:], body: HTTPRequestBody = .empty,
                authorization: HTTPAuthorization? = nil, idleTimeout: Duration? = nil, totalTimeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.authorization = authorization
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
    }

    public var description: String { "\(method) \(redactedURL(url))" }
}

/// Status line and headers of a response, available before the body is read.
public struct HTTPResponseHead: Sendable, Hashable {
    public var status: Int
    public var headers: HTTPHeaders
    /// "1.1", "2" …
    public var httpVersion: String
    public init(status: Int, headers: HTTPHeaders, httpVersion: String) {
        self.status = status
        self.headers = headers
        self.httpVersion = httpVersion
    }
    public var isSuccess: Bool { (200..<300).contains(status) }
    public var contentLength: Int64? { headers["content-length"].flatMap { Int64($0.trimmingSpaces) } }
}

/// A response whose body has not been read yet. Dropping it (or its body) before the body is
/// read to the end aborts the transfer.
public struct HTTPResponse: Sendable {
    public let head: HTTPResponseHead
    public let body: HTTPBody
    public var status: Int { head.status }
    public var headers: HTTPHeaders { head.headers }

    /// Throws `HTTPError` of kind `.status` (with the start of the body as detail) unless the
    /// status is in `accepted`.
    public func expectStatus(_ accepted: some RangeExpression<Int> = 200..<300) async throws(HTTPError) {
        guard !accepted.contains(status) else { return }
        let snippet = (try? await body.collect(upTo: 64 << 10, truncating: true)) ?? []
        throw HTTPError.status(status, body: snippet, request: body.requestDescription)
    }
}

/// "GET https://host:port/path" with any userinfo and query string removed, for messages.
func redactedURL(_ url: String) -> String {
    var s = Substring(url)
    if let q = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<q] }
    if let scheme = s.range(of: "://") {
        let rest = s[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            s = s[..<scheme.upperBound] + rest[rest.index(after: at)...]
        }
    }
    return String(s)
}

extension String {
    /// Without leading and trailing ASCII whitespace (space, tab, CR, LF, VT, FF). Byte-wise: it
    /// runs on every response header line, where Character-wise trimming (grapheme breaking and a
    /// Unicode property lookup per Character) was 6 % of the operator's CPU.
    var trimmingSpaces: String {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        let bytes = utf8
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
