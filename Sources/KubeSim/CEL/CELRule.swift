import DynamicJSON

/// One compiled `x-kubernetes-validations` entry.
struct CELRule: Sendable {
    let rule: String
    let expr: CELExpr
    let message: String?
    let messageExpression: CELExpr?
    let reason: FieldError.Kind
    let fieldPath: String?
    let optionalOldSelf: Bool
    /// Transition rules mention `oldSelf` and run only on updates.
    var isTransition: Bool { expr.mentions("oldSelf") }

    init(_ json: JSONValue) throws(CELError) {
        guard let rule = json["rule"]?.stringValue, !rule.isEmpty else { throw CELError("rule is required") }
        self.rule = rule
        expr = try CELParser.parse(rule)
        try Self.checkIdentifiers(expr, bound: ["self", "oldSelf"])
        message = json["message"]?.stringValue
        if let me = json["messageExpression"]?.stringValue {
            let parsed = try CELParser.parse(me)
            try Self.checkIdentifiers(parsed, bound: ["self", "oldSelf"])
            messageExpression = parsed
        } else {
            messageExpression = nil
        }
        switch json["reason"]?.stringValue {
        case nil, "FieldValueInvalid"?: reason = .invalid
        case "FieldValueForbidden"?: reason = .forbidden
        case "FieldValueRequired"?: reason = .required
        case "FieldValueDuplicate"?: reason = .duplicate
        case let other?: throw CELError("unsupported reason \(goQuote(other))")
        }
        fieldPath = json["fieldPath"]?.stringValue
        optionalOldSelf = json["optionalOldSelf"]?.boolValue ?? false
    }

    /// Every free identifier must be bound; CEL rejects the rule at compile time otherwise.
    private static func checkIdentifiers(_ e: CELExpr, bound: Set<String>) throws(CELError) {
        switch e {
        case .literal: return
        case .ident(let n):
            if !bound.contains(n) { throw CELError("undeclared reference to '\(n)' (in container '')") }
        case .select(let x, _, _), .unary(_, let x), .has(let x): try checkIdentifiers(x, bound: bound)
        case .index(let a, let b), .binary(_, let a, let b):
            try checkIdentifiers(a, bound: bound)
            try checkIdentifiers(b, bound: bound)
        case .call(_, let t, let args):
            if let t { try checkIdentifiers(t, bound: bound) }
            for a in args { try checkIdentifiers(a, bound: bound) }
        case .list(let items): for x in items { try checkIdentifiers(x, bound: bound) }
        case .map(let entries):
            for (k, v) in entries {
                try checkIdentifiers(k, bound: bound)
                try checkIdentifiers(v, bound: bound)
            }
        case .ternary(let a, let b, let c):
            try checkIdentifiers(a, bound: bound)
            try checkIdentifiers(b, bound: bound)
            try checkIdentifiers(c, bound: bound)
        case .comprehension(_, let t, let v, let f, let body):
            try checkIdentifiers(t, bound: bound)
            if let f { try checkIdentifiers(f, bound: bound.union([v])) }
            try checkIdentifiers(body, bound: bound.union([v]))
        }
    }
}

/// Runs the CEL rules of a schema tree over an object (§P4 step 6).
enum CELValidation {
    static func validate(_ value: JSONValue, old: JSONValue?, schema: Schema, path: String, isRoot: Bool = false) -> [FieldError] {
        var errors: [FieldError] = []
        walk(value, old: old, schema: schema, path: path, isRoot: isRoot, into: &errors)
        return errors
    }

    private static func walk(_ value: JSONValue, old: JSONValue?, schema: Schema, path: String, isRoot: Bool,
                             into errors: inout [FieldError])
    {
        if value.isNull { return }
        if !schema.rules.isEmpty {
            let selfCEL = CELValue(value)
            for rule in schema.rules {
                var vars: [String: CELValue] = ["self": selfCEL]
                if rule.isTransition {
                    if let old { vars["oldSelf"] = rule.optionalOldSelf ? .optional(CELValue(old)) : CELValue(old) } else if rule.optionalOldSelf {
                        vars["oldSelf"] = .optional(nil)
                    } else {
                        continue
                    }
                }
                let evaluator = CELEvaluator(vars: vars)
                let field = fieldPathFor(path, rule.fieldPath)
                do {
                    let result = try evaluator.eval(rule.expr)
                    guard case .bool(let ok) = result else {
                        errors.append(.invalid(field, .string("object"), "rule did not evaluate to a bool: \(rule.rule)"))
                        continue
                    }
                    if ok { continue }
                    var message = rule.message ?? "failed rule: \(rule.rule)"
                    if let me = rule.messageExpression, case .string(let s)? = try? evaluator.eval(me), !s.isEmpty {
                        message = s
                    }
                    switch rule.reason {
                    case .invalid: errors.append(FieldError(.invalid, field, goFormat(.string(value.typeName)), message))
                    default: errors.append(FieldError(rule.reason, field, nil, message))
                    }
                } catch {
                    errors.append(.invalid(field, .string("object"), "\(rule.rule): \(error.message)"))
                }
            }
        }
        switch value {
        case .object(let members):
            for (key, child) in members {
                if isRoot, ["apiVersion", "kind", "metadata"].contains(key) { continue }
                guard let sub = schema.properties[key] ?? schema.additionalProperties else { continue }
                walk(child, old: old?[key], schema: sub, path: path.isEmpty ? key : "\(path).\(key)", isRoot: false, into: &errors)
            }
        case .array(let items):
            guard let itemSchema = schema.items else { return }
            let oldItems = old?.arrayValue ?? []
            for (i, item) in items.enumerated() {
                // Only list-type map items (by key) and sets (by value) correlate with old items.
                var oldItem: JSONValue?
                if schema.listType == "map", !schema.listMapKeys.isEmpty {
                    oldItem = oldItems.first { o in schema.listMapKeys.allSatisfy { o[$0] == item[$0] } }
                } else if schema.listType == "set" {
                    oldItem = oldItems.contains(item) ? item : nil
                }
                walk(item, old: oldItem, schema: itemSchema, path: "\(path)[\(i)]", isRoot: false, into: &errors)
            }
        default: break
        }
    }

    private static func fieldPathFor(_ path: String, _ fieldPath: String?) -> String {
        guard var fp = fieldPath, !fp.isEmpty else { return path }
        if fp.hasPrefix(".") { fp.removeFirst() }
        return path.isEmpty ? fp : "\(path).\(fp)"
    }
}
