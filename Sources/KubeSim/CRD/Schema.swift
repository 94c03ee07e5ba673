import DynamicJSON
import Foundation
import Synchronization

/// A parsed OpenAPI v3 schema node of a CRD version (structural subset), immutable and shared.
final class Schema: Sendable {
    let type: String?
    let format: String?
    let properties: [String: Schema]
    let required: [String]
    let items: Schema?
    /// `additionalProperties` as a schema; `additionalPropertiesAny` for `true`.
    let additionalProperties: Schema?
    let additionalPropertiesAny: Bool
    let enumValues: [JSONValue]?
    let pattern: String?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Bool
    let exclusiveMaximum: Bool
    let multipleOf: Double?
    let minLength: Int?
    let maxLength: Int?
    let minItems: Int?
    let maxItems: Int?
    let minProperties: Int?
    let maxProperties: Int?
    let nullable: Bool
    let defaultValue: JSONValue?
    let preserveUnknown: Bool
    let intOrString: Bool
    let embedded: Bool
    let listType: String?
    let listMapKeys: [String]
    let allOf: [Schema]
    let anyOf: [Schema]
    let oneOf: [Schema]
    let not: Schema?
    let rules: [CELRule]

    /// Parses `json`; structural problems and rule compile errors are appended to `errors`
    /// with `path` as the field prefix.
    init(_ json: JSONValue, path: String, errors: inout [FieldError], inJunctor: Bool = false) {
        func int(_ k: String) -> Int? { json[k]?.intValue.map { Int($0) } }
        type = json["type"]?.stringValue
        format = json["format"]?.stringValue
        var props: [String: Schema] = [:]
        for (name, sub) in (json["properties"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            props[name] = Schema(sub, path: "\(path).properties[\(name)]", errors: &errors, inJunctor: inJunctor)
        }
        properties = props
        required = (json["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        items = json["items"].flatMap { $0.objectValue != nil ? Schema($0, path: "\(path).items", errors: &errors, inJunctor: inJunctor) : nil }
        switch json["additionalProperties"] {
        case .object?:
            additionalProperties = Schema(json["additionalProperties"]!, path: "\(path).additionalProperties", errors: &errors)
            additionalPropertiesAny = false
        case .bool(true)?:
            additionalProperties = nil
            additionalPropertiesAny = true
        default:
            additionalProperties = nil
            additionalPropertiesAny = false
        }
        enumValues = json["enum"]?.arrayValue
        pattern = json["pattern"]?.stringValue
        minimum = json["minimum"]?.doubleValue
        maximum = json["maximum"]?.doubleValue
        exclusiveMinimum = json["exclusiveMinimum"]?.boolValue ?? false
        exclusiveMaximum = json["exclusiveMaximum"]?.boolValue ?? false
        multipleOf = json["multipleOf"]?.doubleValue
        minLength = int("minLength")
        maxLength = int("maxLength")
        minItems = int("minItems")
        maxItems = int("maxItems")
        minProperties = int("minProperties")
        maxProperties = int("maxProperties")
        nullable = json["nullable"]?.boolValue ?? false
        defaultValue = json["default"]
        preserveUnknown = json["x-kubernetes-preserve-unknown-fields"]?.boolValue ?? false
        intOrString = json["x-kubernetes-int-or-string"]?.boolValue ?? false
        embedded = json["x-kubernetes-embedded-resource"]?.boolValue ?? false
        listType = json["x-kubernetes-list-type"]?.stringValue
        listMapKeys = (json["x-kubernetes-list-map-keys"]?.arrayValue ?? []).compactMap(\.stringValue)
        func junctor(_ key: String) -> [Schema] {
            (json[key]?.arrayValue ?? []).enumerated().map { i, s in
                Schema(s, path: "\(path).\(key)[\(i)]", errors: &errors, inJunctor: true)
            }
        }
        allOf = junctor("allOf")
        anyOf = junctor("anyOf")
        oneOf = junctor("oneOf")
        not = json["not"].map { Schema($0, path: "\(path).not", errors: &errors, inJunctor: true) }
        var compiled: [CELRule] = []
        for (i, rule) in (json["x-kubernetes-validations"]?.arrayValue ?? []).enumerated() {
            let rulePath = "\(path).x-kubernetes-validations[\(i)]"
            do {
                compiled.append(try CELRule(rule))
            } catch {
                errors.append(.invalid("\(rulePath).rule", rule["rule"], "compilation failed: \(error.message)"))
            }
        }
        rules = compiled
        if let pattern, RegexCache.compile(pattern) == nil {
            errors.append(.invalid("\(path).pattern", .string(pattern), "must be a valid regular expression"))
        }
    }

    var isObjectLike: Bool { type == "object" || (!properties.isEmpty) }

    /// The schema for a child member of an object node.
    func child(_ name: String) -> Schema? { properties[name] ?? additionalProperties }
}

/// Compiled regular expressions shared across requests.
enum RegexCache {
    final class Box: @unchecked Sendable {
        let regex: NSRegularExpression
        init(_ r: NSRegularExpression) { regex = r }
    }
    private static let cache = Mutex<[String: Box]>([:])

    static func compile(_ pattern: String) -> NSRegularExpression? {
        if let hit = cache.withLock({ $0[pattern] }) { return hit.regex }
        guard let r = try? NSRegularExpression(pattern: pattern) else { return nil }
        cache.withLock { c in
            if c.count > 512 { c.removeAll() }
            c[pattern] = Box(r)
        }
        return r
    }

    static func matches(_ pattern: String, _ s: String) -> Bool {
        guard let r = compile(pattern) else { return false }
        return r.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}
