import DynamicJSON
import Foundation

/// OpenAPI v3 validation of custom resources (§P4 step 5), worded like kube-openapi's errors as
/// the apiextensions server converts them to field errors.
enum SchemaValidator {
    static func validate(_ value: JSONValue, _ schema: Schema, path: String, isRoot: Bool = false) -> [FieldError] {
        var errors: [FieldError] = []
        check(value, schema, path: path, isRoot: isRoot, into: &errors)
        return errors
    }

    /// Whether errors of this kind make the server skip CEL rules.
    static func blocksCEL(_ errors: [FieldError]) -> Bool {
        errors.contains { [.typeInvalid, .required, .notSupported, .tooLong, .tooMany].contains($0.kind) }
    }

    private static func num(_ d: Double) -> String { goFormat(.double(d)) }

    private static func check(_ value: JSONValue, _ s: Schema, path: String, isRoot: Bool, into errors: inout [FieldError]) {
        let name = path
        if value.isNull {
            if !s.nullable, s.type != nil || s.intOrString {
                errors.append(FieldError(.typeInvalid, path, "null", "\(name) in body must be of type \(s.type ?? "integer,string"): \"null\""))
            }
            return
        }
        if s.intOrString {
            switch value {
            case .int, .string: break
            case .double(let d) where d.rounded() == d: break
            default:
                errors.append(FieldError(.typeInvalid, path, goFormat(value),
                                         "\(name) in body must be of type integer,string: \(goQuote(value.typeName))"))
                return
            }
        } else if let type = s.type, !typeMatches(value, type) {
            errors.append(FieldError(.typeInvalid, path, goFormat(value),
                                     "\(name) in body must be of type \(type): \(goQuote(value.typeName))"))
            return
        }
        if let allowed = s.enumValues, !allowed.contains(where: { equalNumeric($0, value) }) {
            errors.append(FieldError(.notSupported, path, goFormat(value),
                                     "supported values: " + allowed.map { $0.stringValue.map(goQuote) ?? goFormat($0) }.joined(separator: ", ")))
        }
        switch value {
        case .string(let str):
            let length = str.count
            if let max = s.maxLength, length > max {
                errors.append(FieldError(.tooLong, path, nil, "may not be more than \(max) bytes"))
            }
            if let min = s.minLength, length < min {
                errors.append(.invalid(path, value, "\(name) in body should be at least \(min) chars long"))
            }
            if let p = s.pattern, !RegexCache.matches(p, str) {
                errors.append(.invalid(path, value, "\(name) in body should match '\(p)'"))
            }
            if let f = s.format, !FormatCheck.valid(str, format: f) {
                errors.append(FieldError(.typeInvalid, path, goFormat(value), "\(name) in body must be of type \(f): \(goQuote(str))"))
            }
        case .int, .double:
            let d = value.doubleValue ?? 0
            if let min = s.minimum {
                if s.exclusiveMinimum ? d <= min : d < min {
                    errors.append(.invalid(path, value, "\(name) in body should be greater than \(s.exclusiveMinimum ? "" : "or equal to ")\(num(min))"))
                }
            }
            if let max = s.maximum {
                if s.exclusiveMaximum ? d >= max : d > max {
                    errors.append(.invalid(path, value, "\(name) in body should be less than \(s.exclusiveMaximum ? "" : "or equal to ")\(num(max))"))
                }
            }
            if let m = s.multipleOf, m != 0, (d / m).rounded() != d / m {
                errors.append(.invalid(path, value, "\(name) in body should be a multiple of \(num(m))"))
            }
            if s.format == "int32", let i = value.intValue, i < Int64(Int32.min) || i > Int64(Int32.max) {
                errors.append(FieldError(.typeInvalid, path, goFormat(value), "\(name) in body must be of type int32: \(goQuote(goFormat(value)))"))
            }
        case .array(let items):
            if let max = s.maxItems, items.count > max {
                errors.append(FieldError(.tooMany, path, String(items.count), "must have at most \(max) items"))
            }
            if let min = s.minItems, items.count < min {
                errors.append(.invalid(path, value, "\(name) in body should have at least \(min) items"))
            }
            if let itemSchema = s.items {
                for (i, item) in items.enumerated() { check(item, itemSchema, path: "\(path)[\(i)]", isRoot: false, into: &errors) }
            }
            checkListType(items, s, path: path, into: &errors)
        case .object(let members):
            for req in s.required where members[req] == nil && !(isRoot && req == "metadata") {
                errors.append(.required(path.isEmpty ? req : "\(path).\(req)"))
            }
            if let max = s.maxProperties, members.count > max {
                errors.append(FieldError(.tooMany, path, String(members.count), "must have at most \(max) items"))
            }
            if let min = s.minProperties, members.count < min {
                errors.append(.invalid(path, value, "\(name) in body should have at least \(min) properties"))
            }
            if isRoot { checkMetadataName(members["metadata"], s.properties["metadata"], into: &errors) }
            for key in members.keys.sorted() {
                if (isRoot || s.embedded), ["apiVersion", "kind", "metadata"].contains(key) { continue }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                if let sub = s.properties[key] {
                    check(members[key]!, sub, path: childPath, isRoot: false, into: &errors)
                } else if let ap = s.additionalProperties {
                    check(members[key]!, ap, path: childPath, isRoot: false, into: &errors)
                }
            }
        default: break
        }
        for sub in s.allOf { check(value, sub, path: path, isRoot: isRoot, into: &errors) }
        if !s.anyOf.isEmpty, !s.anyOf.contains(where: { validate(value, $0, path: path).isEmpty }) {
            errors.append(.invalid(path, value, "\(name) in body must validate at least one schema (anyOf)"))
        }
        if !s.oneOf.isEmpty, s.oneOf.filter({ validate(value, $0, path: path).isEmpty }).count != 1 {
            errors.append(.invalid(path, value, "\(name) in body must validate one and only one schema (oneOf)"))
        }
        if let not = s.not, validate(value, not, path: path).isEmpty {
            errors.append(.invalid(path, value, "\(name) in body must not validate the schema (not)"))
        }
    }

    /// The apiextensions server validates the whole object, so a CRD's constraints on
    /// `metadata.name` and `metadata.generateName` (the only ones a structural schema may declare)
    /// apply; other metadata members are ObjectMeta's business.
    private static func checkMetadataName(_ meta: JSONValue?, _ schema: Schema?, into errors: inout [FieldError]) {
        guard let meta, case .object(let m) = meta, let schema else { return }
        for field in ["name", "generateName"] {
            if let v = m[field], !v.isNull, let sub = schema.properties[field] {
                check(v, sub, path: "metadata.\(field)", isRoot: false, into: &errors)
            }
        }
    }

    private static func checkListType(_ items: [JSONValue], _ s: Schema, path: String, into errors: inout [FieldError]) {
        switch s.listType {
        case "set":
            var seen: [JSONValue] = []
            for (i, item) in items.enumerated() {
                if seen.contains(item) { errors.append(FieldError(.duplicate, "\(path)[\(i)]", goFormat(item))) } else { seen.append(item) }
            }
        case "map":
            var seen: [[JSONValue?]] = []
            for (i, item) in items.enumerated() {
                let keys = s.listMapKeys.map { item[$0] ?? s.items?.properties[$0]?.defaultValue }
                for (k, v) in zip(s.listMapKeys, keys) where v == nil {
                    errors.append(.required("\(path)[\(i)].\(k)"))
                }
                if seen.contains(keys) {
                    var obj: [String: JSONValue] = [:]
                    for (k, v) in zip(s.listMapKeys, keys) { obj[k] = v }
                    errors.append(FieldError(.duplicate, "\(path)[\(i)]", goFormat(.object(obj))))
                } else {
                    seen.append(keys)
                }
            }
        default: break
        }
    }

    static func typeMatches(_ value: JSONValue, _ type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("integer", .int): true
        case ("integer", .double(let d)): d.rounded() == d
        case ("number", .int), ("number", .double): true
        default: false
        }
    }

    private static func equalNumeric(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }
}

/// The string formats the apiextensions server knows, checked as far as is reasonable.
enum FormatCheck {
    static func valid(_ s: String, format: String) -> Bool {
        switch format {
        case "date-time": return Timestamp.parse(s) != nil
        case "date": return RegexCache.matches("^\\d{4}-\\d{2}-\\d{2}$", s)
        case "byte": return Data(base64Encoded: s) != nil
        case "uuid": return UUID(uuidString: s) != nil
        case "duration": return RegexCache.matches("^(\\d+(\\.\\d+)?\\s*(ns|us|µs|ms|s|m|h|d|w)\\s*)+$", s)
        case "ipv4": return RegexCache.matches("^((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$", s)
        case "hostname": return MetaValidation.isDNSSubdomain(s.lowercased()) && s.utf8.count <= 255
        case "email": return RegexCache.matches("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", s)
        case "uri": return URL(string: s)?.scheme != nil
        default: return true
        }
    }
}
