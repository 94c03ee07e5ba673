import BackstopCore
import Foundation
import HTTP

/// One ClickHouse server over its HTTP interface. Queries go in the POST body (no length
/// limit); INSERT data streams as the body with the query in the URL. The password is sent
/// as HTTP Basic authentication and never appears in messages.
struct ClickHouseEndpoint: Sendable {
    let url: String
    let user: String
    let password: SecretValue?
    let http: HTTPClient
    /// Reason for connection failures: `.sourceUnreachable` for backups, `.targetUnreachable` for restores.
    let unreachable: AgentError.Reason

    init(url: String, user: String?, passwordFile: String?, timeoutSeconds: Int?, unreachable: AgentError.Reason) throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw AgentError(.specInvalid, "clickhouse url must start with http:// or https:// (the HTTP interface, port 8123)")
        }
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.user = user ?? "default"
        password = try passwordFile.map { try SecretValue.read(file: $0, purpose: "ClickHouse password") }
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(timeoutSeconds ?? 300)
        configuration.connectTimeout = .seconds(min(10, timeoutSeconds ?? 10))
        http = HTTPClient(configuration: configuration)
        self.unreachable = unreachable
    }

    var headers: HTTPHeaders {
        let token = Data("\(user):\(password?.value ?? "")".utf8).base64EncodedString()
        return ["Authorization": "Basic \(token)"]
    }

    func requestURL(_ parameters: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let query = parameters.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        return query.isEmpty ? "\(url)/" : "\(url)/?\(query)"
    }

    /// Runs a statement and returns its (small) text result.
    @discardableResult
    func text(_ sql: String, settings: [String: String] = [:]) async throws -> String {
        let response = try await execute(HTTPRequest(method: .post, url: requestURL(settings), headers: headers, body: .string(sql)), sql)
        do {
            return String(decoding: try await response.body.collect(upTo: 64 << 20), as: UTF8.self)
        } catch {
            throw mapTransport(error, sql)
        }
    }

    /// TabSeparated rows of a query (values unescaped for the simple cases used here).
    func rows(_ sql: String) async throws -> [[String]] {
        try await text(sql + " FORMAT TabSeparated").split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map { Self.unescapeTSV(String($0)) }
        }
    }

    /// Starts a query whose result is streamed (`FORMAT Native`).
    func stream(_ sql: String, settings: [String: String]) async throws -> HTTPBody {
        try await execute(HTTPRequest(method: .post, url: requestURL(settings), headers: headers, body: .string(sql)), sql).body
    }

    /// `INSERT … FORMAT Native` with the data streamed from `body`.
    func insert(_ sql: String, body: HTTPRequestBody) async throws {
        let response = try await execute(HTTPRequest(method: .post, url: requestURL(["query": sql]), headers: headers, body: body), sql)
        do { _ = try await response.body.collect(upTo: 1 << 20) } catch { throw mapTransport(error, sql) }
    }

    private func execute(_ request: HTTPRequest, _ sql: String) async throws -> HTTPResponse {
        let response: HTTPResponse
        do { response = try await http.execute(request) } catch { throw mapTransport(error, sql) }
        guard response.head.isSuccess else {
            let bytes = (try? await response.body.collect(upTo: 64 << 10, truncating: true)) ?? []
            throw serverError(status: response.status, text: String(decoding: bytes, as: UTF8.self), sql: sql)
        }
        return response
    }

    func serverError(status: Int, text: String, sql: String) -> AgentError {
        var message = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let what = message.range(of: ", e.what() = ") { message = String(message[..<what.lowerBound]) }
        if let password, !password.value.isEmpty { message = message.replacingOccurrences(of: password.value, with: "[REDACTED]") }
        let code = Self.errorCode(message)
        let statement = sql.split(separator: "\n").first.map { String($0.prefix(120)) } ?? ""
        let text = "clickhouse \(url): \(message.prefix(600)) (HTTP \(status); \(statement))"
        switch code {
        case 192, 193, 194, 516: return AgentError(.authenticationFailed, text)
        case 60, 81: return AgentError(unreachable == .sourceUnreachable ? .tableMissing : .targetMissing, text)
        case 57, 82: return AgentError(.targetExists, text)
        default: return AgentError(.queryFailed, text)
        }
    }

    func mapTransport(_ error: any Error, _ sql: String) -> AgentError {
        if let agent = error as? AgentError { return agent }
        if let http = error as? HTTPError {
            switch http.kind {
            case .connectFailed, .timedOut, .tls: return AgentError(unreachable, "clickhouse \(url): \(http.message)")
            case .requestBody: return AgentError(.restoreFailed, "clickhouse \(url): sending data failed: \(http.message)")
            default: return AgentError(.queryFailed, "clickhouse \(url): \(http.message)")
            }
        }
        return AgentError(.queryFailed, "clickhouse \(url): \(error)")
    }

    /// `Code: 60, e.displayText() = …` → 60.
    static func errorCode(_ message: String) -> Int? {
        guard let range = message.range(of: "Code: ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    static func quote(identifier: String) -> String {
        "`" + identifier.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`") + "`"
    }

    static func quote(literal: String) -> String {
        "'" + literal.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    static func unescapeTSV(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = ""
        var escaped = false
        for ch in text {
            if escaped {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                default: out.append(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
