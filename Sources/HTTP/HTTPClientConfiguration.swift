/// Settings shared by every request of one `HTTPClient`.
public struct HTTPClientConfiguration: Sendable {
    /// Limit for DNS + TCP + TLS handshake.
    public var connectTimeout: Duration = .seconds(10)
    /// A request that moves no bytes for this long fails with `.timedOut`; `.zero` disables.
    /// Time spent paused because the caller reads the body slowly does not count; time spent
    /// waiting for a slow request-body source does.
    public var idleTimeout: Duration = .seconds(60)
    public var tls = TLSConfiguration()
    /// HTTP/2 is negotiated by ALPN on https when the server offers it.
    public var preferHTTP2 = true
    public var userAgent = "backstop"
    /// libcurl's receive buffer (CURLOPT_BUFFERSIZE), and the size its 16 KiB pieces are
    /// coalesced to in body chunks. 64 KiB measured cheapest per GiB: bigger chunks are fresh
    /// allocations that cost page faults, smaller ones cost more hand-overs.
    public var receiveBufferSize = 64 << 10
    /// Body bytes buffered per response before the transfer is paused until the reader catches
    /// up; the same bound applies to request bodies read ahead from their source.
    public var maxBufferedBytes = 2 << 20
    /// Idle connections kept for reuse (CURLMOPT_MAXCONNECTS).
    public var maxCachedConnections = 16
    public var followRedirects = false

    public init() {}
}

/// Trust and identity for https. The default trusts the system's CA bundle.
public struct TLSConfiguration: Sendable {
    /// A PEM document: a file path or the bytes themselves.
    public enum PEMSource: Sendable, Hashable {
        case file(String)
        case pem([UInt8])
        public static func pem(_ text: String) -> PEMSource { .pem(Array(text.utf8)) }
    }
    /// CA certificates to trust instead of the system bundle.
    public var trustRoots: PEMSource?
    public var clientCertificate: PEMSource?
    public var clientKey: PEMSource?
    /// Skip certificate and host name verification. Only when explicitly asked for.
    public var insecureSkipVerify = false

    public init(trustRoots: PEMSource? = nil, clientCertificate: PEMSource? = nil, clientKey: PEMSource? = nil,
                insecureSkipVerify: Bool = false) {
        self.trustRoots = trustRoots
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.insecureSkipVerify = insecureSkipVerify
    }
}
