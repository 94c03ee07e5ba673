import DynamicJSON

/// One node of a structural OpenAPI v3 schema, written once in Swift and used three ways: the
/// CRDs (`openAPI`), the field reference in `docs/reference/`, and the offline structural
/// validator in BackstopCore, which runs the same checks the API server runs.
public struct Schema: Sendable {
    public indirect enum Kind: Sendable {
        case object([Property])
        /// `additionalProperties` with this value schema (a string-keyed map).
        case map(Schema)
        case array(Schema)
        case string
        case integer
        case number
        case boolean
        /// `x-kubernetes-int-or-string` (resource quantities).
        case intOrString
    }

    public var kind: Kind
    public var description: String
    /// Required in the parent object.
    public var isRequired = false
    public var enumValues: [String]?
    public var pattern: String?
    public var format: String?
    public var minLength: Int?
    public var maxLength: Int?
    public var minimum: Int64?
    public var maximum: Int64?
    public var minItems: Int?
    public var maxItems: Int?
    public var listType: ListType?
    public var defaultValue: JSONValue?
    public var example: JSONValue?
    public var rules: [Rule] = []
    /// A Backstop format the Swift validator checks precisely (better messages than `pattern`).
    public var semantic: SemanticFormat?

    public init(_ kind: Kind, description: String) {
        self.kind = kind
        self.description = description
    }

    public var properties: [Property] {
        if case .object(let p) = kind { return p }
        return []
    }

    public func property(_ name: String) -> Schema? { properties.first { $0.name == name }?.schema }
}

public struct Property: Sendable {
    public var name: String
    public var schema: Schema
}

public enum ListType: Sendable, Equatable {
    case atomic
    case set
    case map(keys: [String])
}

/// Formats with a Swift checker in BackstopCore's validator.
public enum SemanticFormat: String, Sendable {
    case duration, schedule, timeZone, dnsSubdomain, dnsLabel, secretKey
}

/// A cross-field rule: the CEL the API server evaluates (`x-kubernetes-validations`) and, unless
/// it compares with the old object, the same rule in Swift for offline validation.
public struct Rule: Sendable {
    public var cel: String
    public var message: String
    /// Relative JSON path of the field to blame, e.g. `.maxAge`.
    public var fieldPath: String?
    public var reason: String?
    /// Same meaning as `cel` on the node's (defaulted) value; nil for transition rules.
    public var check: (@Sendable (JSONValue) -> Bool)?

    public init(_ cel: String, message: String, fieldPath: String? = nil, reason: String? = nil,
                check: (@Sendable (JSONValue) -> Bool)?) {
        self.cel = cel
        self.message = message
        self.fieldPath = fieldPath
        self.reason = reason
        self.check = check
    }

    /// Exactly one of `members` is present.
    public static func exactlyOne(of members: [String], what: String) -> Rule {
        let cel = members.map { "(has(self.\($0)) ? 1 : 0)" }.joined(separator: " + ") + " == 1"
        let list = members.joined(separator: ", ")
        return Rule(cel, message: "\(what): set exactly one of \(list)", check: { value in
            members.filter { value[$0] != nil && value[$0] != .null }.count == 1
        })
    }

    /// The value may not change after creation.
    public static func immutable(_ message: String) -> Rule {
        Rule("self == oldSelf", message: message, check: nil)
    }
}

// MARK: - Builders

extension Schema {
    public static func object(_ description: String, _ properties: KeyValuePairs<String, Schema>,
                              rules: [Rule] = []) -> Schema {
        var s = Schema(.object(properties.map { Property(name: $0.key, schema: $0.value) }), description: description)
        s.rules = rules
        return s
    }

    public static func string(_ description: String, enum values: [String]? = nil, pattern: String? = nil,
                              minLength: Int? = nil, maxLength: Int? = 253, default value: String? = nil,
                              example: String? = nil, semantic: SemanticFormat? = nil) -> Schema {
        var s = Schema(.string, description: description)
        s.enumValues = values
        s.pattern = pattern
        s.minLength = minLength
        s.maxLength = values == nil ? maxLength : nil
        s.defaultValue = value.map { .string($0) }
        s.example = example.map { .string($0) }
        s.semantic = semantic
        return s
    }

    public static func enumeration<E: OpenEnum>(_ description: String, _ type: E.Type, default value: E? = nil) -> Schema {
        string(description, enum: E.knownRawValues, default: value?.rawValue)
    }

    public static func integer(_ description: String, min: Int64? = nil, max: Int64? = nil, default value: Int64? = nil,
                               format: String = "int32", example: Int64? = nil) -> Schema {
        var s = Schema(.integer, description: description)
        s.minimum = min
        s.maximum = max
        s.format = format
        s.defaultValue = value.map { .int($0) }
        s.example = example.map { .int($0) }
        return s
    }

    public static func number(_ description: String, min: Int64? = nil) -> Schema {
        var s = Schema(.number, description: description)
        s.minimum = min
        s.format = "double"
        return s
    }

    public static func boolean(_ description: String, default value: Bool? = nil) -> Schema {
        var s = Schema(.boolean, description: description)
        s.defaultValue = value.map { .bool($0) }
        return s
    }

    public static func array(_ description: String, _ items: Schema, minItems: Int? = nil, maxItems: Int = 64,
                             listType: ListType? = nil) -> Schema {
        var s = Schema(.array(items), description: description)
        s.minItems = minItems
        s.maxItems = maxItems
        s.listType = listType
        return s
    }

    public static func map(_ description: String, _ values: Schema) -> Schema {
        Schema(.map(values), description: description)
    }

    public static func time(_ description: String) -> Schema {
        var s = Schema(.string, description: description)
        s.format = "date-time"
        s.example = "2026-02-08T02:00:00Z"
        return s
    }

    public static func intOrString(_ description: String, pattern: String? = nil) -> Schema {
        var s = Schema(.intOrString, description: description)
        s.pattern = pattern
        return s
    }

    public var required: Schema {
        var s = self
        s.isRequired = true
        return s
    }

    public func with(rules: [Rule]) -> Schema {
        var s = self
        s.rules += rules
        return s
    }

    public func example(_ value: JSONValue) -> Schema {
        var s = self
        s.example = value
        return s
    }

    public func defaulting(_ value: JSONValue) -> Schema {
        var s = self
        s.defaultValue = value
        return s
    }

    /// The same object with no required members and no defaults at the top level: a
    /// restore target overrides the policy's source field by field.
    public func overlay(_ description: String) -> Schema {
        guard case .object(let props) = kind else { return self }
        var s = self
        s.description = description
        s.kind = .object(props.map { p in
            var q = p.schema
            q.isRequired = false
            q.defaultValue = nil
            return Property(name: p.name, schema: q)
        })
        return s
    }

    /// The object without the named properties.
    public func removing(_ names: Set<String>) -> Schema {
        guard case .object(let props) = kind else { return self }
        var s = self
        s.kind = .object(props.filter { !names.contains($0.name) })
        return s
    }

    /// The object with extra properties appended.
    public func adding(_ extra: KeyValuePairs<String, Schema>) -> Schema {
        guard case .object(let props) = kind else { return self }
        var s = self
        s.kind = .object(props + extra.map { Property(name: $0.key, schema: $0.value) })
        return s
    }
}

// MARK: - OpenAPI output

extension Schema {
    /// This node as `openAPIV3Schema` JSON.
    public var openAPI: JSONValue {
        var o: [String: JSONValue] = ["description": .string(description)]
        switch kind {
        case .object(let props):
            o["type"] = "object"
            var members: [String: JSONValue] = [:]
            for p in props { members[p.name] = p.schema.openAPI }
            if !props.isEmpty { o["properties"] = .object(members) }
            let req = props.filter(\.schema.isRequired).map { JSONValue.string($0.name) }
            if !req.isEmpty { o["required"] = .array(req) }
        case .map(let values):
            o["type"] = "object"
            o["additionalProperties"] = values.openAPI
        case .array(let items):
            o["type"] = "array"
            o["items"] = items.openAPI
        case .string: o["type"] = "string"
        case .integer: o["type"] = "integer"
        case .number: o["type"] = "number"
        case .boolean: o["type"] = "boolean"
        case .intOrString:
            // No `anyOf: [{type: integer}, {type: string}]`: the flag alone is structural and
            // simpler for every consumer.
            o["x-kubernetes-int-or-string"] = true
        }
        if let v = enumValues { o["enum"] = .array(v.map { .string($0) }) }
        if let v = pattern { o["pattern"] = .string(v) }
        if let v = format { o["format"] = .string(v) }
        if let v = minLength { o["minLength"] = .int(Int64(v)) }
        if let v = maxLength { o["maxLength"] = .int(Int64(v)) }
        if let v = minimum { o["minimum"] = .int(v) }
        if let v = maximum { o["maximum"] = .int(v) }
        if let v = minItems { o["minItems"] = .int(Int64(v)) }
        if let v = maxItems { o["maxItems"] = .int(Int64(v)) }
        if let v = defaultValue { o["default"] = v }
        switch listType {
        case .atomic: o["x-kubernetes-list-type"] = "atomic"
        case .set: o["x-kubernetes-list-type"] = "set"
        case .map(let keys):
            o["x-kubernetes-list-type"] = "map"
            o["x-kubernetes-list-map-keys"] = .array(keys.map { .string($0) })
        case nil: break
        }
        if !rules.isEmpty {
            o["x-kubernetes-validations"] = .array(rules.map { r in
                var j: [String: JSONValue] = ["rule": .string(r.cel), "message": .string(r.message)]
                if let f = r.fieldPath { j["fieldPath"] = .string(f) }
                if let reason = r.reason { j["reason"] = .string(reason) }
                return .object(j)
            })
        }
        return .object(o)
    }

    /// A value using every field (examples, enum values, bounds), for round-trip tests and docs.
    public var sample: JSONValue {
        if let e = example { return e }
        if let d = defaultValue { return d }
        if let e = enumValues?.first { return .string(e) }
        switch kind {
        case .object(let props): return .object(Dictionary(uniqueKeysWithValues: props.map { ($0.name, $0.schema.sample) }))
        case .map(let v): return ["example-key": v.sample]
        case .array(let items): return [items.sample]
        case .string: return format == "date-time" ? "2026-02-08T02:00:00Z" : "example"
        case .integer: return .int(minimum.map { max($0, 1) } ?? 1)
        case .number: return .double(1.5)
        case .boolean: return true
        case .intOrString: return "500m"
        }
    }
}
