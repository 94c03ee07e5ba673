import DynamicJSON
import Foundation

/// One field-level validation error, worded like apimachinery's `field.Error`.
struct FieldError: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case notFound, required, duplicate, invalid, notSupported, forbidden, tooLong, tooMany, internalError, typeInvalid

        /// The text `field.ErrorType.String()` prints.
        var text: String {
            switch self {
            case .notFound: "Not found"
            case .required: "Required value"
            case .duplicate: "Duplicate value"
            case .invalid, .typeInvalid: "Invalid value"
            case .notSupported: "Unsupported value"
            case .forbidden: "Forbidden"
            case .tooLong: "Too long"
            case .tooMany: "Too many"
            case .internalError: "Internal error"
            }
        }

        /// The `StatusCause.reason` (`metav1.CauseType`).
        var causeType: String {
            switch self {
            case .notFound: "FieldValueNotFound"
            case .required: "FieldValueRequired"
            case .duplicate: "FieldValueDuplicate"
            case .invalid: "FieldValueInvalid"
            case .notSupported: "FieldValueNotSupported"
            case .forbidden: "FieldValueForbidden"
            case .tooLong: "FieldValueTooLong"
            case .tooMany: "FieldValueTooMany"
            case .internalError: "InternalError"
            case .typeInvalid: "FieldValueTypeInvalid"
            }
        }
    }

    var kind: Kind
    var field: String
    /// The bad value already formatted the way Go's `%v`/`%q` would print it; nil omits it.
    var badValue: String?
    var detail: String

    init(_ kind: Kind, _ field: String, _ badValue: String? = nil, _ detail: String = "") {
        self.kind = kind
        self.field = field
        self.badValue = badValue
        self.detail = detail
    }

    static func invalid(_ field: String, _ value: JSONValue?, _ detail: String) -> FieldError {
        FieldError(.invalid, field, goFormat(value), detail)
    }
    static func required(_ field: String, _ detail: String = "") -> FieldError { FieldError(.required, field, nil, detail) }
    static func forbidden(_ field: String, _ detail: String) -> FieldError { FieldError(.forbidden, field, nil, detail) }
    static func notSupported(_ field: String, _ value: JSONValue?, _ supported: [String]) -> FieldError {
        let list = supported.map { goQuote($0) }.joined(separator: ", ")
        return FieldError(.notSupported, field, goFormat(value), supported.isEmpty ? "" : "supported values: \(list)")
    }

    /// `field.Error.ErrorBody()`.
    var body: String {
        var text: String
        switch kind {
        case .required, .forbidden, .tooLong, .internalError:
            text = kind.text
        default:
            // A nil bad value is Go's field.OmitValueType: only the type is printed.
            text = badValue.map { "\(kind.text): \($0)" } ?? kind.text
        }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }

    /// `field.Error.Error()`.
    var message: String { field.isEmpty ? body : "\(field): \(body)" }
}

/// Go's `%q` for a string (close enough for ASCII and common escapes).
func goQuote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7f {
                out += String(format: "\\x%02x", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// How a bad value appears in a field error: strings quoted, numbers and booleans plain.
func goFormat(_ value: JSONValue?) -> String {
    guard let value else { return "null" }
    switch value {
    case .null: return "null"
    case .string(let s): return goQuote(s)
    case .int(let i): return String(i)
    case .double(let d): return d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    case .bool(let b): return b ? "true" : "false"
    case .array, .object: return value.jsonString(sortedKeys: true)
    }
}

/// A failed API call, carried as the `metav1.Status` the real server would send.
public struct KubeAPIError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    /// `details` of the Status (name, group, kind, uid, causes, retryAfterSeconds); nil omits it.
    public var details: JSONValue?
    /// Extra response headers (for example `Retry-After`).
    public var headers: [(String, String)] = []

    public init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
    }

    public var description: String { "\(code) \(reason): \(message)" }

    /// The `metav1.Status` object.
    public var status: JSONValue {
        var s: JSONValue = [
            "kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
            "message": .string(message), "reason": .string(reason), "code": .int(Int64(code)),
        ]
        if let details { s["details"] = details }
        return s
    }

    static func details(name: String?, group: String, kind: String, uid: String? = nil) -> JSONValue {
        var d: JSONValue = ["group": .string(group), "kind": .string(kind)]
        if let name { d["name"] = .string(name) }
        if let uid { d["uid"] = .string(uid) }
        return d
    }

    // MARK: - The real server's error shapes (apimachinery/pkg/api/errors)

    static let pathNotFound = KubeAPIError(
        code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: [:])

    static func notFound(_ gr: GroupResource, _ name: String) -> KubeAPIError {
        KubeAPIError(code: 404, reason: "NotFound", message: "\(gr) \(goQuote(name)) not found",
                     details: details(name: name, group: gr.group, kind: gr.resource))
    }

    static func namespaceNotFound(_ ns: String) -> KubeAPIError {
        notFound(GroupResource(group: "", resource: "namespaces"), ns)
    }

    static func alreadyExists(_ gr: GroupResource, _ name: String) -> KubeAPIError {
        KubeAPIError(code: 409, reason: "AlreadyExists", message: "\(gr) \(goQuote(name)) already exists",
                     details: details(name: name, group: gr.group, kind: gr.resource))
    }

    static func conflict(_ gr: GroupResource, _ name: String, _ why: String) -> KubeAPIError {
        KubeAPIError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(gr) \(goQuote(name)): \(why)",
                     details: details(name: name, group: gr.group, kind: gr.resource))
    }

    static func staleConflict(_ gr: GroupResource, _ name: String) -> KubeAPIError {
        conflict(gr, name, "the object has been modified; please apply your changes to the latest version and try again")
    }

    /// 422 Invalid. `group` and `kind` name the Kind (not the resource), as the real server does.
    static func invalid(group: String, kind: String, name: String, _ errors: [FieldError]) -> KubeAPIError {
        let qualified = group.isEmpty ? kind : "\(kind).\(group)"
        var seen = Set<String>()
        let messages = errors.map(\.message).filter { seen.insert($0).inserted }
        let message: String
        switch messages.count {
        case 0: message = "\(qualified) \(goQuote(name)) is invalid"
        case 1: message = "\(qualified) \(goQuote(name)) is invalid: \(messages[0])"
        default: message = "\(qualified) \(goQuote(name)) is invalid: [\(messages.joined(separator: ", "))]"
        }
        let causes: [JSONValue] = errors.map {
            ["reason": .string($0.kind.causeType), "message": .string($0.body), "field": .string($0.field)]
        }
        var d = details(name: name, group: group, kind: kind)
        d["causes"] = .array(causes)
        return KubeAPIError(code: 422, reason: "Invalid", message: message, details: d)
    }

    static func badRequest(_ message: String) -> KubeAPIError {
        KubeAPIError(code: 400, reason: "BadRequest", message: message)
    }

    static func forbidden(_ gr: GroupResource, _ name: String?, _ why: String) -> KubeAPIError {
        let subject = name.map { "\(gr) \(goQuote($0))" } ?? "\(gr)"
        return KubeAPIError(code: 403, reason: "Forbidden", message: "\(subject) is forbidden: \(why)",
                            details: details(name: name, group: gr.group, kind: gr.resource))
    }

    static func methodNotAllowed(_ method: String) -> KubeAPIError {
        KubeAPIError(code: 405, reason: "MethodNotAllowed",
                     message: "the server does not allow this method on the requested resource", details: [:])
    }

    static let notAcceptable = KubeAPIError(
        code: 406, reason: "NotAcceptable",
        message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf")

    static func unsupportedMediaType(_ accepted: [String]) -> KubeAPIError {
        KubeAPIError(code: 415, reason: "UnsupportedMediaType",
                     message: "the body of the request was in an unknown format - accepted media types include: \(accepted.joined(separator: ", "))")
    }

    static func expired(_ message: String) -> KubeAPIError {
        KubeAPIError(code: 410, reason: "Expired", message: message)
    }

    static func tooOld(requested: Int64, oldest: Int64) -> KubeAPIError {
        expired("too old resource version: \(requested) (\(oldest))")
    }

    static func internalError(_ message: String) -> KubeAPIError {
        KubeAPIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)",
                     details: ["causes": [["message": .string(message)]]])
    }

    static func timeout(_ message: String) -> KubeAPIError {
        KubeAPIError(code: 504, reason: "Timeout", message: "Timeout: \(message)", details: [:])
    }

    static let unauthorized = KubeAPIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func tooManyRequests(retryAfter: Int) -> KubeAPIError {
        var e = KubeAPIError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                             details: ["retryAfterSeconds": .int(Int64(retryAfter))])
        e.headers = [("Retry-After", String(retryAfter))]
        return e
    }

    static func serviceUnavailable(_ message: String = "the server is currently unable to handle the request") -> KubeAPIError {
        KubeAPIError(code: 503, reason: "ServiceUnavailable", message: message)
    }

    /// 422 on request options (`dryRun`, `force`, `fieldManager`): kind `CreateOptions` etc., group meta.k8s.io.
    static func invalidOptions(_ kind: String, _ errors: [FieldError]) -> KubeAPIError {
        invalid(group: "meta.k8s.io", kind: kind, name: "", errors)
    }
}
