import DynamicJSON
import Foundation
import KubeModel

/// Runs the checks the API server runs against a CRD's structural schema (types, required,
/// enums, bounds, patterns, list uniqueness, unknown fields, defaults, the Swift form of the
/// CEL rules) on a parsed document, plus the precise Backstop formats (cron, durations, zones).
public struct SchemaValidator {
    public private(set) var issues: [ValidationIssue] = []
    private var regexCache: [String: NSRegularExpression] = [:]

    public init() {}

    /// Validates `value` and returns it with schema defaults applied.
    public static func validate(_ value: JSONValue, against schema: Schema, at path: FieldPath = FieldPath())
        -> (issues: [ValidationIssue], defaulted: JSONValue) {
        var v = SchemaValidator()
        let out = v.walk(value, schema, path)
        return (v.issues, out)
    }

    mutating func walk(_ value: JSONValue, _ schema: Schema, _ path: FieldPath) -> JSONValue {
        let before = issues.count
        var value = value
        switch schema.kind {
        case .object(let props):
            guard case .object(var object) = value else { return typeError(value, "object", path) }
            let names = Set(props.map(\.name))
            for key in object.keys.sorted() where !names.contains(key) {
                var msg = "unknown field \"\(key)\""
                if let near = Self.nearest(key, in: props.map(\.name)) { msg += "; did you mean \"\(near)\"?" }
                else { msg += "; allowed fields: " + props.map(\.name).joined(separator: ", ") }
                issues.append(ValidationIssue(path.appending(key), "FieldValueUnknown", msg))
            }
            for p in props {
                let childPath = path.appending(p.name)
                if object[p.name] == nil || object[p.name] == .null {
                    if let d = p.schema.defaultValue {
                        object[p.name] = walk(d, p.schema, childPath)
                    } else {
                        object[p.name] = nil
                        if p.schema.isRequired {
                            issues.append(ValidationIssue(childPath, "FieldValueRequired",
                                                          "Required value: add \(p.name) (\(Self.firstSentence(p.schema.description)))"))
                        }
                    }
                } else {
                    object[p.name] = walk(object[p.name]!, p.schema, childPath)
                }
            }
            value = .object(object)
        case .map(let valueSchema):
            guard case .object(var object) = value else { return typeError(value, "object", path) }
            for key in object.keys.sorted() {
                object[key] = walk(object[key]!, valueSchema, path.appending(key))
            }
            value = .object(object)
        case .array(let itemSchema):
            guard case .array(var items) = value else { return typeError(value, "array", path) }
            if let max = schema.maxItems, items.count > max {
                issues.append(ValidationIssue(path, "FieldValueTooMany", "Too many: \(items.count): must have at most \(max) items"))
                return value
            }
            if let min = schema.minItems, items.count < min {
                issues.append(.invalid(path, "must have at least \(min) item\(min == 1 ? "" : "s")"))
            }
            for i in items.indices { items[i] = walk(items[i], itemSchema, path.appending(.index(i))) }
            checkListType(items, schema.listType, path)
            value = .array(items)
        case .string:
            guard case .string(let s) = value else { return typeError(value, "string", path) }
            checkString(s, schema, path)
        case .integer:
            guard let i = value.intValue, value.stringValue == nil, value.boolValue == nil else {
                return typeError(value, "integer", path)
            }
            if let min = schema.minimum, i < min {
                issues.append(.invalid(path, "Invalid value: \(i): must be greater than or equal to \(min)"))
            }
            if let max = schema.maximum, i > max {
                issues.append(.invalid(path, "Invalid value: \(i): must be less than or equal to \(max)"))
            }
        case .number:
            guard let d = value.doubleValue else { return typeError(value, "number", path) }
            if let min = schema.minimum, d < Double(min) {
                issues.append(.invalid(path, "Invalid value: \(d): must be greater than or equal to \(min)"))
            }
        case .boolean:
            guard value.boolValue != nil else { return typeError(value, "boolean", path) }
        case .intOrString:
            if case .string(let s) = value {
                if let p = schema.pattern, !matches(s, p) {
                    issues.append(.invalid(path, "Invalid value: \"\(s)\": not a quantity (e.g. 100m, 512Mi, 2)"))
                }
            } else if value.intValue == nil {
                return typeError(value, "integer or string", path)
            }
        }
        // Like the API server, CEL rules run only where the subtree had no schema errors.
        if issues.count == before {
            for rule in schema.rules {
                guard let check = rule.check, !check(value) else { continue }
                let target = rule.fieldPath.map { path.appending(FieldPath(parsing: $0)) } ?? path
                issues.append(ValidationIssue(target, rule.reason ?? "FieldValueInvalid", rule.message))
            }
        }
        return value
    }

    mutating func typeError(_ value: JSONValue, _ expected: String, _ path: FieldPath) -> JSONValue {
        issues.append(ValidationIssue(path, "FieldValueTypeInvalid",
                                      "Invalid value: \(value.typeName): must be \(expected == "integer" || expected == "array" || expected == "object" ? "an" : "a") \(expected)"))
        return value
    }

    mutating func checkString(_ s: String, _ schema: Schema, _ path: FieldPath) {
        if let allowed = schema.enumValues, !allowed.contains(s) {
            var msg = "Unsupported value: \"\(s)\": supported values: " + allowed.map { "\"\($0)\"" }.joined(separator: ", ")
            if let near = allowed.first(where: { $0.lowercased() == s.lowercased() }) { msg += " (did you mean \"\(near)\"?)" }
            issues.append(ValidationIssue(path, "FieldValueNotSupported", msg))
            return
        }
        if let max = schema.maxLength, s.count > max {
            issues.append(ValidationIssue(path, "FieldValueTooLong", "Too long: may not be more than \(max) characters (is \(s.count))"))
            return
        }
        if let min = schema.minLength, s.count < min {
            issues.append(.invalid(path, min == 1 ? "must not be empty" : "must be at least \(min) characters"))
            return
        }
        if schema.format == "date-time", Time(rfc3339: s) == nil {
            issues.append(.invalid(path, "Invalid value: \"\(s)\": must be an RFC 3339 time such as 2026-02-08T10:30:00Z"))
            return
        }
        if let semantic = schema.semantic, let message = Self.checkFormat(s, semantic) {
            issues.append(.invalid(path, message))
            return
        }
        if schema.semantic == nil, let p = schema.pattern, !matches(s, p) {
            issues.append(.invalid(path, "Invalid value: \"\(s)\": \(Self.firstSentence(schema.description)) (must match \(p))"))
        }
    }

    static func checkFormat(_ s: String, _ format: SemanticFormat) -> String? {
        switch format {
        case .duration:
            do {
                let span = try TimeSpan(parsing: s)
                return span.seconds == 0 ? "Invalid value: \"\(s)\": must be longer than 0s" : nil
            } catch { return "Invalid value: \"\(s)\": duration \(error.message)" }
        case .schedule:
            do { _ = try Schedule(parsing: s) } catch { return "Invalid value: \"\(s)\": schedule \(error.message)" }
            return nil
        case .timeZone:
            do { _ = try Schedule.timeZone(s) } catch { return "Invalid value: \"\(s)\": \(error.message)" }
            return nil
        case .dnsSubdomain, .dnsLabel:
            return NameRules.dnsSubdomainProblem(s, label: format == .dnsLabel).map { "Invalid value: \"\(s)\": \($0)" }
        case .secretKey:
            let ok = !s.isEmpty && s.count <= 253 && s.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95 }
            return ok ? nil : "Invalid value: \"\(s)\": a Secret key may contain only letters, digits, '-', '_' and '.'"
        }
    }

    mutating func checkListType(_ items: [JSONValue], _ type: ListType?, _ path: FieldPath) {
        switch type {
        case .set:
            var seen = Set<JSONValue>()
            for (i, item) in items.enumerated() where !seen.insert(item).inserted {
                issues.append(ValidationIssue(path.appending(.index(i)), "FieldValueDuplicate", "Duplicate value: \(item.jsonString)"))
            }
        case .map(let keys):
            var seen = Set<[JSONValue]>()
            for (i, item) in items.enumerated() {
                let k = keys.map { item[$0] ?? .null }
                if !seen.insert(k).inserted {
                    let shown = zip(keys, k).map { "\($0.0)=\($0.1.stringValue ?? $0.1.jsonString)" }.joined(separator: ", ")
                    issues.append(ValidationIssue(path.appending(.index(i)), "FieldValueDuplicate",
                                                  "Duplicate value: \(shown): each entry needs a unique \(keys.joined(separator: "+"))"))
                }
            }
        default: break
        }
    }

    mutating func matches(_ s: String, _ pattern: String) -> Bool {
        let re: NSRegularExpression
        if let cached = regexCache[pattern] { re = cached } else {
            guard let compiled = try? NSRegularExpression(pattern: pattern) else { return true }
            regexCache[pattern] = compiled
            re = compiled
        }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    /// The description up to its first sentence end, lower-cased at the start: a period
    /// followed by a space or the end of the text, outside a `code span` (so "`..`" or
    /// "`a.b`" do not end it).
    static func firstSentence(_ text: String) -> String {
        let chars = Array(text)
        var inCode = false
        var end = chars.count
        for (i, c) in chars.enumerated() {
            if c == "`" { inCode.toggle() }
            if c == ".", !inCode, i + 1 == chars.count || chars[i + 1] == " " {
                end = i
                break
            }
        }
        let s = String(chars[..<end])
        return s.prefix(1).lowercased() + s.dropFirst()
    }

    /// A field name within edit distance 2 (typos) or differing only in case.
    static func nearest(_ key: String, in names: [String]) -> String? {
        if let c = names.first(where: { $0.lowercased() == key.lowercased() }) { return c }
        return names.map { ($0, distance(Array(key.lowercased()), Array($0.lowercased()))) }
            .filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

/// Kubernetes name rules and Backstop's Job-name budget.
public enum NameRules {
    /// Why `name` is not an RFC 1123 subdomain (or label), or nil.
    public static func dnsSubdomainProblem(_ name: String, label: Bool = false) -> String? {
        let limit = label ? 63 : 253
        if name.isEmpty { return "must not be empty" }
        if name.count > limit { return "must be at most \(limit) characters" }
        let bytes = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 97 && c <= 122) }
        let ok = bytes.allSatisfy { alnum($0) || $0 == 45 || (!label && $0 == 46) }
            && alnum(bytes.first!) && alnum(bytes.last!)
            && !name.contains(".-") && !name.contains("-.") && !name.contains("..")
        return ok ? nil : "must consist of lowercase letters, digits\(label ? "" : ", '.'") and '-', and start and end with a letter or digit (e.g. my-name)"
    }

    /// A child (Job, DrillRun) name `<owner>-<purpose>-<8 hex>` that always fits `maxLength`:
    /// the owner part is shortened when needed; the hash covers the full owner name and token.
    public static func childName(owner: String, purpose: String, token: String, maxLength: Int = 63) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (owner + "/" + purpose + "/" + token).utf8 {
            h ^= UInt64(b)
            h &*= 0x100_0000_01b3
        }
        let hex = String(h & 0xffff_ffff, radix: 16)
        let suffix = "-\(purpose)-" + String(repeating: "0", count: 8 - hex.count) + hex
        var head = String(owner.prefix(max(1, maxLength - suffix.count)))
        while head.hasSuffix("-") || head.hasSuffix(".") { head.removeLast() }
        return head + suffix
    }
}
