import DynamicJSON
import Foundation

/// One HTTP request as the API layer sees it (transport-independent).
struct APIRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: [(String, String)]
    var body: [UInt8]

    init(method: String, uri: String, headers: [(String, String)], body: [UInt8]) {
        self.method = method.uppercased()
        self.headers = headers
        self.body = body
        if let q = uri.firstIndex(of: "?") {
            path = Self.percentDecode(String(uri[..<q]), plusIsSpace: false)
            query = Self.parseQuery(String(uri[uri.index(after: q)...]))
        } else {
            path = Self.percentDecode(uri, plusIsSpace: false)
            query = [:]
        }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    var contentType: String? { header("Content-Type") }
    var accept: String? { header("Accept") }
    var userAgent: String { header("User-Agent") ?? "" }

    /// A boolean query flag ("true"/"1").
    func flag(_ name: String) -> Bool {
        guard let v = query[name]?.lowercased() else { return false }
        return v == "true" || v == "1"
    }

    static func parseQuery(_ s: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in s.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(parts[0]), plusIsSpace: true)
            let value = parts.count > 1 ? percentDecode(String(parts[1]), plusIsSpace: true) : ""
            if out[key] == nil { out[key] = value }
        }
        return out
    }

    static func percentDecode(_ s: String, plusIsSpace: Bool) -> String {
        guard s.contains("%") || (plusIsSpace && s.contains("+")) else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == 37, it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else if c == 43, plusIsSpace {
                bytes.append(32)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What the API layer answers.
enum APIResponse: Sendable {
    case data(status: Int, contentType: String, headers: [(String, String)], body: [UInt8])
    case watch(WatchPlan)

    static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = [],
                     contentType: String = "application/json") -> APIResponse
    {
        .data(status: status, contentType: contentType, headers: headers, body: value.serialized())
    }

    static func error(_ e: KubeAPIError) -> APIResponse {
        .json(e.code, e.status, headers: e.headers)
    }

    static func text(_ status: Int, _ s: String) -> APIResponse {
        .data(status: status, contentType: "text/plain; charset=utf-8", headers: [], body: Array(s.utf8))
    }

    var status: Int {
        switch self {
        case .data(let s, _, _, _): s
        case .watch: 200
        }
    }
}
