/// KubeClient: a typed Kubernetes REST client over the HTTP module: kubeconfig and in-cluster auth,
/// CRUD, patch, status, scale, watch, and `KubeError` carrying the server's `Status`.
///
/// One `KubeClient` per process: every request takes a token from its `RequestRateLimiter`,
/// idempotent reads are retried with jittered backoff, 429s are retried for every verb after the
/// server's `Retry-After` (then through the limiter again), and a 401 re-reads a token file once. Nothing logged contains the
/// Authorization header or a request/response body.
import DynamicJSON
import Foundation
import HTTP
import KubeModel
import Logging
import Metrics

public struct KubeClientOptions: Sendable {
    /// The process-wide request budget. Pass the same limiter to share it between clients.
    public var rateLimiter: RequestRateLimiter
    public var userAgent: String
    /// Retries of GET/LIST after 5xx or transport failures.
    public var maxRetries: Int
    /// Retries after 429 (any verb), each after the server's Retry-After.
    public var maxThrottleRetries: Int
    public var retryBackoff: Backoff
    /// Limit on one non-watch request, including its retries' individual attempts.
    public var requestTimeout: Duration
    public var connectTimeout: Duration
    public var maxResponseBytes: Int

    public init(qps: Double = 20, burst: Int = 30, userAgent: String = "backstop", maxRetries: Int = 5,
                maxThrottleRetries: Int = 10, retryBackoff: Backoff = .requests, requestTimeout: Duration = .seconds(30),
                connectTimeout: Duration = .seconds(10), maxResponseBytes: Int = 512 << 20) {
        rateLimiter = RequestRateLimiter(qps: qps, burst: burst)
        self.userAgent = userAgent
        self.maxRetries = maxRetries
        self.maxThrottleRetries = maxThrottleRetries
        self.retryBackoff = retryBackoff
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

public final class KubeClient: Sendable {
    public let config: KubeConfig
    public let options: KubeClientOptions
    public let logger: Logger
    public var rateLimiter: RequestRateLimiter { options.rateLimiter }
    let http: HTTPClient
    let tokens: TokenSource
    let metrics: ClientMetrics

    public init(config: KubeConfig, options: KubeClientOptions = .init(), logger: Logger = Logger(label: "backstop.kube"),
                metricsFactory: (any MetricsFactory)? = nil) throws(KubeError) {
        guard config.server.hasPrefix("https://") || config.server.hasPrefix("http://") else {
            throw KubeConfig.configError("server \"\(config.server)\" must be an http:// or https:// URL")
        }
        self.config = config
        self.options = options
        self.logger = logger
        var httpConfig = HTTPClientConfiguration()
        httpConfig.connectTimeout = options.connectTimeout
        httpConfig.userAgent = options.userAgent
        httpConfig.tls = TLSConfiguration(
            trustRoots: config.certificateAuthority.map(Self.pemSource),
            clientCertificate: config.clientCertificate.map(Self.pemSource),
            clientKey: config.clientKey.map(Self.pemSource),
            insecureSkipVerify: config.insecureSkipTLSVerify)
        http = HTTPClient(configuration: httpConfig)
        tokens = TokenSource(config.credentials, reloadInterval: config.tokenReloadInterval)
        metrics = ClientMetrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    private static func pemSource(_ pem: KubeConfig.PEM) -> TLSConfiguration.PEMSource {
        switch pem {
        case .data(let bytes): .pem(bytes)
        case .file(let path): .file(path)
        }
    }

    /// Typed access to one resource type, in `namespace` (nil: all namespaces, or cluster-scoped).
    public func resource<R: KubeResource>(_ type: R.Type, namespace: String? = nil) -> ResourceClient<R> {
        ResourceClient(client: self, type: R.resourceType, namespace: namespace)
    }

    /// Untyped access (objects as `JSONValue`) to any resource type, e.g. a CRD known only at run time.
    public func dynamic(_ type: ResourceType, namespace: String? = nil) -> ResourceClient<JSONValue> {
        ResourceClient(client: self, type: type, namespace: namespace)
    }

    /// `GET` of an arbitrary path (discovery, `/version`), decoded as JSON.
    public func getRaw(path: String) async throws(KubeError) -> JSONValue {
        let bytes = try await perform(KubeRequest(method: .get, path: path, verb: "get"))
        do { return try JSONValue(parsing: bytes) } catch {
            throw KubeError(kind: .decoding, request: "GET \(path)", detail: "the answer is not JSON: \(error)")
        }
    }
}

/// One API call as the client sees it.
struct KubeRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var query: [(String, String)] = []
    var body: [UInt8]? = nil
    var contentType: String? = nil
    /// For metrics: get, list, watch, create, update, patch, delete.
    var verb: String
    var timeout: Duration? = nil

    /// Reads are safe to repeat after a 5xx or a dropped connection; writes are not.
    var retryable: Bool { method == .get }

    var summary: String { "\(method) \(path)" }

    func url(server: String) -> String {
        guard !query.isEmpty else { return server + path }
        return server + path + "?" + query.map { "\(queryComponent($0.0))=\(queryComponent($0.1))" }.joined(separator: "&")
    }
}

extension KubeClient {
    /// Sends `request` with limiter, auth, retries and metrics; returns the body of a 2xx answer.
    func perform(_ request: KubeRequest) async throws(KubeError) -> [UInt8] {
        let response = try await send(request, stream: false)
        return response.bytes
    }

    /// Opens a streamed answer (watch). Only 429 and 401-with-new-token are retried here; the
    /// reflector owns every other retry.
    func openStream(_ request: KubeRequest) async throws(KubeError) -> HTTPResponse {
        let response = try await send(request, stream: true)
        return response.stream!
    }

    private struct Sent { var bytes: [UInt8] = []; var stream: HTTPResponse? }

    private func send(_ request: KubeRequest, stream: Bool) async throws(KubeError) -> Sent {
        var attempt = 0, throttled = 0
        var refreshedToken = false
        while true {
            do { try await options.rateLimiter.acquire(RequestPriority.of(verb: request.verb, path: request.path)) } catch {
                throw KubeError(kind: .cancelled, request: request.summary)
            }
            let token = try tokens.token()
            var headers: HTTPHeaders = ["Accept": "application/json"]
            if let contentType = request.contentType { headers.add("Content-Type", contentType) }
            let http = HTTPRequest(
                method: request.method, url: request.url(server: config.server), headers: headers,
                body: request.body.map { .bytes($0) } ?? .empty, authorization: token.map { .bearer($0) },
                idleTimeout: stream ? request.timeout.map { $0 + .seconds(60) } ?? .zero : nil,
                totalTimeout: stream ? nil : (request.timeout ?? options.requestTimeout))
            let started = ContinuousClock.now
            let head: HTTPResponseHead
            var result = Sent()
            do {
                if stream {
                    let response = try await self.http.execute(http)
                    head = response.head
                    if response.head.isSuccess { result.stream = response } else {
                        result.bytes = (try? await response.body.collect(upTo: 1 << 20, truncating: true)) ?? []
                    }
                } else {
                    (head, result.bytes) = try await self.http.data(http, maxBytes: options.maxResponseBytes)
                }
            } catch {
                let elapsed = ContinuousClock.now - started
                metrics.record(verb: request.verb, code: "error", duration: elapsed)
                let failure = transportError(error, request: request)
                logger.trace("kube request failed", metadata: [
                    "verb": "\(request.verb)", "path": "\(request.path)", "error": "\(failure.detail)"])
                if failure.kind == .cancelled || Task.isCancelled { throw KubeError(kind: .cancelled, request: request.summary) }
                if request.retryable, failure.kind == .transport, attempt < options.maxRetries, error.kind != .tls {
                    try await backoff(attempt: attempt, request: request, reason: failure.detail)
                    attempt += 1
                    continue
                }
                throw failure
            }
            let elapsed = ContinuousClock.now - started
            metrics.record(verb: request.verb, code: String(head.status), duration: elapsed)
            logger.trace("kube request", metadata: [
                "verb": "\(request.verb)", "path": "\(request.path)", "code": "\(head.status)",
                "ms": "\(Int((elapsed.inSeconds * 1000).rounded()))"])
            if head.isSuccess { return result }

            let error = statusError(code: head.status, headers: head.headers, body: result.bytes, request: request)
            switch head.status {
            case 401 where !refreshedToken && tokens.isFile:
                refreshedToken = true
                if tokens.refreshAfterUnauthorized() {
                    logger.debug("kube token rotated; retrying", metadata: ["path": "\(request.path)"])
                    continue
                }
            case 429 where throttled < options.maxThrottleRetries:
                throttled += 1
                let wait = error.retryAfter ?? .seconds(1)
                logger.debug("kube request throttled", metadata: [
                    "path": "\(request.path)", "retryAfterSeconds": "\(wait.inSeconds)"])
                // Like client-go, the throttled request waits out Retry-After itself and then
                // takes a fresh token; other requests keep their budget.
                do { try await Task.sleep(for: min(wait, .seconds(60))) } catch {
                    throw KubeError(kind: .cancelled, request: request.summary)
                }
                continue
            case let code where [500, 502, 503, 504].contains(code) && request.retryable && attempt < options.maxRetries:
                try await backoff(attempt: attempt, request: request, reason: "HTTP \(head.status)")
                attempt += 1
                continue
            default:
                break
            }
            throw error
        }
    }

    private func backoff(attempt: Int, request: KubeRequest, reason: String) async throws(KubeError) {
        let delay = options.retryBackoff.delay(attempt: attempt)
        logger.debug("kube request retrying", metadata: [
            "path": "\(request.path)", "attempt": "\(attempt + 1)", "reason": "\(reason)",
            "delayMs": "\(Int(delay.inSeconds * 1000))"])
        do { try await Task.sleep(for: delay) } catch { throw KubeError(kind: .cancelled, request: request.summary) }
    }

    private func transportError(_ error: HTTPError, request: KubeRequest) -> KubeError {
        switch error.kind {
        case .cancelled:
            return KubeError(kind: .cancelled, request: request.summary)
        case .tls:
            return KubeError(kind: .transport, request: request.summary, detail:
                "TLS handshake with \(config.server) failed (\(error.message)); check the cluster CA (certificate-authority) and client certificate")
        case .invalidRequest where error.message.contains("certificate") || error.message.lowercased().contains("ca"):
            return KubeError(kind: .configuration, request: request.summary, detail: "TLS setup failed: \(error.message)")
        default:
            return KubeError(kind: .transport, request: request.summary, detail: error.description)
        }
    }

    func statusError(code: Int, headers: HTTPHeaders, body: [UInt8], request: KubeRequest) -> KubeError {
        let status = try? JSONDecoder().decode(Status.self, from: Data(body))
        var retryAfter: Duration?
        if let header = headers["retry-after"], let seconds = Double(header.trimmingCharacters(in: .whitespaces)) {
            retryAfter = .seconds(max(0, seconds))
        } else if let seconds = status?.details?.retryAfterSeconds {
            retryAfter = .seconds(seconds)
        }
        let detail = status == nil ? "HTTP \(code)" : ""
        return KubeError(kind: KubeError.kind(forCode: code, reason: status?.reason), code: code, status: status,
                         request: request.summary, detail: detail, retryAfter: retryAfter)
    }
}

/// API request metrics: totals by verb and code, latency by verb.
struct ClientMetrics: Sendable {
    let factory: any MetricsFactory

    func record(verb: String, code: String, duration: Duration) {
        Counter(label: "backstop_kube_requests_total", dimensions: [("verb", verb), ("code", code)], factory: factory)
            .increment()
        Metrics.Timer(label: "backstop_kube_request_duration_seconds", dimensions: [("verb", verb)], factory: factory)
            .recordNanoseconds(Int64(duration.inSeconds * 1e9))
    }
}
