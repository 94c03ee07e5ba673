import DynamicJSON
import Foundation

/// A CEL runtime value.
indirect enum CELValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case list([CELValue])
    case map([String: CELValue])
    case type(String)
    case duration(Double)
    case timestamp(Double)
    case optional(CELValue?)

    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(CELValue.init))
        case .object(let o): self = .map(o.mapValues(CELValue.init))
        }
    }

    var typeName: String {
        switch self {
        case .null: "null_type"
        case .bool: "bool"
        case .int: "int"
        case .uint: "uint"
        case .double: "double"
        case .string: "string"
        case .bytes: "bytes"
        case .list: "list"
        case .map: "map"
        case .type: "type"
        case .duration: "google.protobuf.Duration"
        case .timestamp: "google.protobuf.Timestamp"
        case .optional: "optional_type"
        }
    }

    var display: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .uint(let u): String(u)
        case .double(let d): d.rounded() == d && abs(d) < 1e15 ? String(format: "%.0f", d) : String(d)
        case .string(let s): s
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        case .list(let l): "[" + l.map(\.display).joined(separator: ", ") + "]"
        case .map(let m): "{" + m.keys.sorted().map { "\($0): \(m[$0]!.display)" }.joined(separator: ", ") + "}"
        case .type(let t): t
        case .duration(let d): "\(goFormat(.double(d)))s"
        case .timestamp(let t): Timestamp.format(Date(timeIntervalSince1970: t))
        case .optional(let o): o.map { "optional(\($0.display))" } ?? "optional.none()"
        }
    }
}

/// Evaluates a parsed expression with variables bound.
struct CELEvaluator {
    var vars: [String: CELValue]

    func eval(_ e: CELExpr) throws(CELError) -> CELValue {
        switch e {
        case .literal(let v): return v
        case .ident(let n):
            guard let v = vars[n] else { throw CELError("undeclared reference to '\(n)'") }
            return v
        case .select(let target, let field, let optional):
            let t = try eval(target)
            if case .optional(let inner) = t {
                guard let inner else { return .optional(nil) }
                return try selectField(inner, field, optional: true)
            }
            return try selectField(t, field, optional: optional)
        case .has(let sel):
            guard case .select(let target, let field, _) = sel else { throw CELError("invalid has()") }
            switch try eval(target) {
            case .map(let m): return .bool(m[field] != nil && m[field] != .null)
            default: throw CELError("invalid type for field selection.")
            }
        case .index(let target, let idx):
            return try index(try eval(target), try eval(idx))
        case .list(let items): return .list(try items.map { (x) throws(CELError) in try eval(x) })
        case .map(let entries):
            var m: [String: CELValue] = [:]
            for (k, v) in entries {
                guard case .string(let key) = try eval(k) else { throw CELError("map keys must be strings") }
                m[key] = try eval(v)
            }
            return .map(m)
        case .unary(let op, let x):
            let v = try eval(x)
            switch (op, v) {
            case ("!", .bool(let b)): return .bool(!b)
            case ("-", .int(let i)): return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            case ("-", .duration(let d)): return .duration(-d)
            default: throw CELError("no such overload: \(op)\(v.typeName)")
            }
        case .ternary(let c, let a, let b):
            guard case .bool(let cond) = try eval(c) else { throw CELError("no such overload: ternary condition") }
            return try eval(cond ? a : b)
        case .binary(let op, let l, let r):
            return try binary(op, l, r)
        case .call(let name, let target, let args):
            let t = try target.map { (x) throws(CELError) in try eval(x) }
            let a = try args.map { (x) throws(CELError) in try eval(x) }
            return try CELFunctions.call(name, target: t, args: a)
        case .comprehension(let macro, let target, let variable, let filter, let body):
            return try comprehension(macro, try eval(target), variable, filter, body)
        }
    }

    private func selectField(_ v: CELValue, _ field: String, optional: Bool) throws(CELError) -> CELValue {
        guard case .map(let m) = v else { throw CELError("no such key: \(field)") }
        if optional { return .optional(m[field]) }
        guard let x = m[field] else { throw CELError("no such key: \(field)") }
        return x
    }

    private func index(_ t: CELValue, _ i: CELValue) throws(CELError) -> CELValue {
        switch (t, i) {
        case (.list(let l), .int(let n)):
            guard n >= 0, n < l.count else { throw CELError("index out of bounds: \(n)") }
            return l[Int(n)]
        case (.list(let l), .uint(let n)):
            guard n < l.count else { throw CELError("index out of bounds: \(n)") }
            return l[Int(n)]
        case (.map(let m), .string(let k)):
            guard let v = m[k] else { throw CELError("no such key: \(k)") }
            return v
        default: throw CELError("no such overload: \(t.typeName)[\(i.typeName)]")
        }
    }

    private func binary(_ op: String, _ l: CELExpr, _ r: CELExpr) throws(CELError) -> CELValue {
        // Logical operators commute over errors, as CEL specifies.
        if op == "&&" || op == "||" {
            let short = op == "||"
            var firstError: CELError?
            do throws(CELError) {
                guard case .bool(let b) = try eval(l) else { throw CELError("no such overload: \(op)") }
                if b == short { return .bool(short) }
            } catch { firstError = error }
            guard case .bool(let rb) = try eval(r) else { throw CELError("no such overload: \(op)") }
            if rb == short { return .bool(short) }
            if let firstError { throw firstError }
            return .bool(!short)
        }
        let a = try eval(l), b = try eval(r)
        return try CELFunctions.binary(op, a, b)
    }

    private func comprehension(_ macro: String, _ target: CELValue, _ variable: String, _ filter: CELExpr?,
                               _ body: CELExpr) throws(CELError) -> CELValue
    {
        let elements: [CELValue]
        switch target {
        case .list(let l): elements = l
        case .map(let m): elements = m.keys.sorted().map { .string($0) }
        default: throw CELError("expression of type '\(target.typeName)' cannot be range of a comprehension")
        }
        var scope = self
        func run(_ x: CELValue, _ e: CELExpr) throws(CELError) -> CELValue {
            scope.vars[variable] = x
            return try scope.eval(e)
        }
        func truth(_ x: CELValue, _ e: CELExpr) throws(CELError) -> Bool {
            guard case .bool(let b) = try run(x, e) else { throw CELError("no matching overload for '\(macro)'") }
            return b
        }
        switch macro {
        case "all":
            for x in elements where try !truth(x, body) { return .bool(false) }
            return .bool(true)
        case "exists":
            for x in elements where try truth(x, body) { return .bool(true) }
            return .bool(false)
        case "exists_one":
            var count = 0
            for x in elements where try truth(x, body) { count += 1 }
            return .bool(count == 1)
        case "filter":
            var out: [CELValue] = []
            for x in elements where try truth(x, body) { out.append(x) }
            return .list(out)
        case "map":
            var out: [CELValue] = []
            for x in elements {
                if let filter, try !truth(x, filter) { continue }
                out.append(try run(x, body))
            }
            return .list(out)
        default: throw CELError("unknown macro \(macro)")
        }
    }
}
