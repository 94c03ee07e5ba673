import DynamicJSON
import YAML

/// The response shapes a client can ask for through `Accept` (§A).
enum OutputForm: Sendable, Equatable {
    case json
    case table
    case partialMetadata
    case aggregatedDiscovery
}

/// One media range of an Accept header.
struct MediaType: Sendable {
    var type: String
    var params: [String: String]

    init(_ text: String) {
        let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        type = parts.first?.lowercased() ?? ""
        var p: [String: String] = [:]
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if kv.count == 2 { p[kv[0].lowercased()] = kv[1] }
        }
        params = p
    }
}

enum Negotiation {
    /// Picks the first entry of the Accept list the server supports; nil means 406.
    static func output(accept: String?, discovery: Bool) -> OutputForm? {
        guard let accept, !accept.trimmingCharacters(in: .whitespaces).isEmpty else { return .json }
        for entry in accept.split(separator: ",") {
            let m = MediaType(String(entry))
            switch m.type {
            case "application/json", "*/*", "application/*":
                if let as_ = m.params["as"] {
                    let g = m.params["g"] ?? "", v = m.params["v"] ?? ""
                    if as_ == "Table", g == "meta.k8s.io", v == "v1" || v == "v1beta1" { return .table }
                    if as_ == "PartialObjectMetadata" || as_ == "PartialObjectMetadataList", g == "meta.k8s.io", v == "v1" || v == "v1beta1" {
                        return .partialMetadata
                    }
                    if as_ == "APIGroupDiscoveryList", g == "apidiscovery.k8s.io", v == "v2" || v == "v2beta1" {
                        if discovery { return .aggregatedDiscovery }
                        continue
                    }
                    continue
                }
                return .json
            default:
                continue
            }
        }
        return nil
    }

    /// The media type of a request body, without parameters.
    static func bodyType(_ contentType: String?) -> String {
        MediaType(contentType ?? "application/json").type
    }

    /// Decodes a JSON (or JSON-compatible YAML) body. Malformed input is 400 as the real
    /// server words decode errors.
    static func decodeBody(_ body: [UInt8], contentType: String, kindHint: ResourceType?) throws(KubeAPIError) -> JSONValue {
        if body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            throw KubeAPIError.badRequest("the body of the request was empty")
        }
        do {
            return try JSONValue(parsing: body)
        } catch {
            if contentType.hasSuffix("yaml"), let parsed = try? YAML.parseSingle(String(decoding: body, as: UTF8.self)),
               case .object = parsed
            {
                return parsed
            }
            let prefix = kindHint.map { "\($0.kind) in version \(goQuote($0.version)) cannot be handled as a \($0.kind): " } ?? ""
            throw KubeAPIError.badRequest("\(prefix)\(contentType.hasSuffix("yaml") ? "yaml" : "json"): \(error)")
        }
    }
}

