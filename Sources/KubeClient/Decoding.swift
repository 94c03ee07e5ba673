import Foundation
import KubeModel

/// An object the server sent that did not decode into the expected type (an unknown enum value,
/// a wrong type from a newer server). Lists and watches report it and go on.
public struct UndecodableObject: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String?
    public var name: String
    public var uid: String?
    public var resourceVersion: String?
    /// Where and why decoding failed (coding path and kind, no values).
    public var reason: String

    public var key: String { namespace.map { "\($0)/\(name)" } ?? name }
    public var description: String { "\(key)@\(resourceVersion ?? "?"): \(reason)" }
}

/// One page of a LIST. `undecodable` holds the items that failed to decode (skipped in `items`).
public struct ObjectList<Object: Sendable>: Sendable {
    public var items: [Object]
    public var resourceVersion: String
    /// Set when more pages remain.
    public var continueToken: String?
    public var remainingItemCount: Int64?
    public var undecodable: [UndecodableObject]

    public init(items: [Object], resourceVersion: String, continueToken: String? = nil,
                remainingItemCount: Int64? = nil, undecodable: [UndecodableObject] = []) {
        self.items = items
        self.resourceVersion = resourceVersion
        self.continueToken = continueToken
        self.remainingItemCount = remainingItemCount
        self.undecodable = undecodable
    }
}

/// Just enough of an object to name it.
struct PartialObject: Decodable {
    struct Meta: Decodable {
        var name: String?
        var namespace: String?
        var uid: String?
        var resourceVersion: String?
        var annotations: [String: String]?
    }
    var metadata: Meta?
}

/// Decodes `Object`, or on failure records what it can of the object's identity.
struct Lenient<Object: Decodable>: Decodable {
    var value: Object?
    var failure: UndecodableObject?

    init(from decoder: any Decoder) throws {
        do {
            value = try decoder.singleValueContainer().decode(Object.self)
        } catch {
            let meta = (try? decoder.singleValueContainer().decode(PartialObject.self))?.metadata
            failure = UndecodableObject(namespace: meta?.namespace, name: meta?.name ?? "<unnamed>", uid: meta?.uid,
                                        resourceVersion: meta?.resourceVersion, reason: describe(error))
        }
    }
}

struct ListEnvelope<Object: Decodable>: Decodable {
    struct Meta: Decodable {
        var resourceVersion: String?
        var `continue`: String?
        var remainingItemCount: Int64?
    }
    var metadata: Meta?
    var items: [Lenient<Object>]?
}

/// A decoding error as text that names the place and the problem but not the offending value,
/// which could be secret.
func describe(_ error: any Error) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.isEmpty ? "(root)" : p
    }
    switch error {
    case DecodingError.typeMismatch(let type, let context):
        return "\(path(context)): expected \(type)"
    case DecodingError.valueNotFound(let type, let context):
        return "\(path(context)): missing \(type) value"
    case DecodingError.keyNotFound(let key, let context):
        return "\(path(context)): missing required field \"\(key.stringValue)\""
    case DecodingError.dataCorrupted(let context):
        return "\(path(context)): invalid value"
    default:
        return "\(type(of: error))"
    }
}

/// Foundation's `JSONDecoder`, not DynamicJSON's parser and decoder: they were no faster here,
/// and a LIST parsed into a `JSONValue` tree doubled the operator's peak memory.
func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], request: String) throws(KubeError) -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
        throw KubeError(kind: .decoding, request: request, detail: "cannot decode \(T.self): \(describe(error))")
    }
}
