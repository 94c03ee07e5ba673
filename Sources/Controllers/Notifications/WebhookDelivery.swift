import Foundation
import HTTP

/// When a webhook POST is tried again: connection errors, timeouts, 5xx and 429 are retried with
/// exponential backoff (429/503 honour `Retry-After` in seconds, capped); any other 4xx, a 3xx
/// or an unusable URL is permanent. Pure, so the table is tested without a server.
public struct WebhookRetry: Sendable, Hashable {
    public var maxAttempts: Int
    public var initialDelay: Duration
    public var maxDelay: Duration
    public init(maxAttempts: Int = 5, initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    public enum Outcome: Sendable, Hashable {
        case status(Int, retryAfter: String?)
        /// A transport failure: `retryable` is false for an unusable request (bad URL).
        case transport(String, retryable: Bool)
    }

    public enum Verdict: Sendable, Hashable {
        case delivered
        case retry(after: Duration)
        case giveUp
    }

    /// `attempt` counts from 1 (the attempt that produced `outcome`).
    public func verdict(_ outcome: Outcome, attempt: Int) -> Verdict {
        let retryAfter: String?
        switch outcome {
        case .status(let code, let header):
            if (200..<300).contains(code) { return .delivered }
            guard code == 429 || code >= 500 else { return .giveUp }
            retryAfter = header
        case .transport(_, let retryable):
            guard retryable else { return .giveUp }
            retryAfter = nil
        }
        guard attempt < maxAttempts else { return .giveUp }
        if let seconds = retryAfter.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), seconds >= 0 {
            return .retry(after: min(.seconds(seconds), maxDelay))
        }
        let factor = 1 << min(attempt - 1, 20)
        return .retry(after: min(initialDelay * factor, maxDelay))
    }
}

/// POSTs one JSON body to one URL with `WebhookRetry`. Results say what happened in words that
/// never include the URL (a chat webhook's path is its credential).
struct WebhookSender: Sendable {
    let http: HTTPClient
    let retry: WebhookRetry
    /// Per attempt; short, so a hanging receiver costs seconds, never a reconcile.
    let timeout: Duration

    struct Result: Sendable {
        var delivered: Bool
        var attempts: Int
        var detail: String
    }

    func send(_ body: [UInt8], to url: String) async -> Result {
        var attempt = 0
        while true {
            attempt += 1
            let outcome = await post(body, url)
            let detail = Self.describe(outcome)
            switch retry.verdict(outcome, attempt: attempt) {
            case .delivered:
                return Result(delivered: true, attempts: attempt, detail: detail)
            case .giveUp:
                return Result(delivered: false, attempts: attempt, detail: detail)
            case .retry(let delay):
                do { try await Task.sleep(for: delay) } catch {
                    return Result(delivered: false, attempts: attempt, detail: detail + " (stopped: operator shutting down)")
                }
            }
        }
    }

    func post(_ body: [UInt8], _ url: String) async -> WebhookRetry.Outcome {
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            return .transport("the URL in the Secret is not http(s)", retryable: false)
        }
        let request = HTTPRequest(method: .post, url: url, headers: ["Content-Type": "application/json"],
                                  body: .bytes(body), idleTimeout: timeout, totalTimeout: timeout)
        do {
            let response = try await http.execute(request)
            // The status decides; the body is read (to reuse the connection) but never used, and
            // a large one is no reason to send the message again.
            _ = try? await response.body.collect(upTo: 64 << 10)
            return .status(response.head.status, retryAfter: response.head.headers["retry-after"])
        } catch {
            // Only the kind: HTTPError's text names the request's host and path.
            return .transport(Self.words(error.kind), retryable: error.kind != .invalidRequest)
        }
    }

    static func words(_ kind: HTTPError.Kind) -> String {
        switch kind {
        case .connectFailed: "connection failed"
        case .timedOut: "timed out"
        case .tls: "TLS handshake failed"
        case .connectionClosed: "connection closed early"
        case .protocolError: "not a valid HTTP response"
        case .invalidRequest: "the URL in the Secret is not usable"
        default: "transport error (\(kind.rawValue))"
        }
    }

    static func describe(_ outcome: WebhookRetry.Outcome) -> String {
        switch outcome {
        case .status(let code, _): "HTTP \(code)"
        case .transport(let words, _): words
        }
    }
}
