/// A practical subset of CEL for `x-kubernetes-validations`: literals, field selection, `has()`,
/// comparisons, arithmetic, `&& || !`, `?:`, `in`, indexing, list/map literals, the comprehension
/// macros (`all`, `exists`, `exists_one`, `map`, `filter`), optional field selection (`.?x`) and
/// the common string/list functions. Anything else is a compile error, so a CRD never carries a
/// rule the simulator would silently skip.
struct CELError: Error, Sendable {
    var message: String
    init(_ message: String) { self.message = message }
}

indirect enum CELExpr: Sendable {
    case literal(CELValue)
    case ident(String)
    case select(CELExpr, String, optional: Bool)
    case index(CELExpr, CELExpr)
    case call(String, target: CELExpr?, args: [CELExpr])
    case list([CELExpr])
    case map([(CELExpr, CELExpr)])
    case unary(String, CELExpr)
    case binary(String, CELExpr, CELExpr)
    case ternary(CELExpr, CELExpr, CELExpr)
    case has(CELExpr)
    /// `target.macro(v, body)` / `target.map(v, filter, body)`; `v2` for two-variable forms.
    case comprehension(macro: String, target: CELExpr, variable: String, filter: CELExpr?, body: CELExpr)

    /// Whether the expression mentions `name` as a free identifier.
    func mentions(_ name: String) -> Bool {
        switch self {
        case .literal: false
        case .ident(let n): n == name
        case .select(let e, _, _), .unary(_, let e), .has(let e): e.mentions(name)
        case .index(let a, let b), .binary(_, let a, let b): a.mentions(name) || b.mentions(name)
        case .call(_, let t, let args): (t?.mentions(name) ?? false) || args.contains { $0.mentions(name) }
        case .list(let items): items.contains { $0.mentions(name) }
        case .map(let entries): entries.contains { $0.0.mentions(name) || $0.1.mentions(name) }
        case .ternary(let a, let b, let c): a.mentions(name) || b.mentions(name) || c.mentions(name)
        case .comprehension(_, let t, let v, let f, let b):
            t.mentions(name) || (v != name && ((f?.mentions(name) ?? false) || b.mentions(name)))
        }
    }
}

private enum Token: Equatable {
    case ident(String), int(Int64), uint(UInt64), double(Double), string(String), bytes([UInt8]), op(String), eof
}

struct CELParser {
    static let globalFunctions: Set<String> = ["size", "int", "uint", "double", "string", "bool", "type", "dyn",
                                               "duration", "timestamp", "matches", "bytes"]
    static let memberFunctions: Set<String> = ["size", "startsWith", "endsWith", "contains", "matches", "lowerAscii",
                                               "upperAscii", "trim", "split", "join", "indexOf", "lastIndexOf",
                                               "replace", "substring", "isSorted", "sum", "min", "max", "orValue",
                                               "hasValue", "value", "getSeconds", "getMinutes", "getHours", "charAt"]
    static let macros: Set<String> = ["all", "exists", "exists_one", "map", "filter"]

    private var tokens: [Token] = []
    private var pos = 0

    static func parse(_ source: String) throws(CELError) -> CELExpr {
        var p = CELParser()
        p.tokens = try lex(Array(source.unicodeScalars))
        let e = try p.expr()
        guard p.peek == .eof else { throw CELError("Syntax error: unexpected \(p.describe(p.peek))") }
        return e
    }

    private var peek: Token { tokens[pos] }
    private mutating func advance() -> Token { defer { pos += 1 }; return tokens[pos] }
    private mutating func accept(_ op: String) -> Bool {
        if peek == .op(op) { pos += 1; return true }
        return false
    }
    private mutating func expect(_ op: String) throws(CELError) {
        guard accept(op) else { throw CELError("Syntax error: expected '\(op)', found \(describe(peek))") }
    }
    private func describe(_ t: Token) -> String {
        switch t {
        case .ident(let s): "'\(s)'"
        case .op(let s): "'\(s)'"
        case .eof: "end of input"
        default: "literal"
        }
    }

    private mutating func expr() throws(CELError) -> CELExpr {
        let cond = try binary(0)
        if accept("?") {
            let a = try expr()
            try expect(":")
            let b = try expr()
            return .ternary(cond, a, b)
        }
        return cond
    }

    private static let levels: [[String]] = [["||"], ["&&"], ["==", "!=", "<", "<=", ">", ">=", "in"], ["+", "-"], ["*", "/", "%"]]

    private mutating func binary(_ level: Int) throws(CELError) -> CELExpr {
        if level == Self.levels.count { return try unary() }
        var lhs = try binary(level + 1)
        while true {
            let op: String
            switch peek {
            case .op(let o) where Self.levels[level].contains(o): op = o
            case .ident("in") where level == 2: op = "in"
            default: return lhs
            }
            pos += 1
            let rhs = try binary(level + 1)
            lhs = .binary(op, lhs, rhs)
        }
    }

    private mutating func unary() throws(CELError) -> CELExpr {
        if accept("!") { return .unary("!", try unary()) }
        if accept("-") {
            switch peek {
            case .int(let i): pos += 1; return try postfix(.literal(.int(-i)))
            case .double(let d): pos += 1; return try postfix(.literal(.double(-d)))
            default: return .unary("-", try unary())
            }
        }
        return try postfix(try primary())
    }

    private mutating func postfix(_ base: CELExpr) throws(CELError) -> CELExpr {
        var e = base
        while true {
            if accept(".") || peek == .op(".?") {
                let optional = accept(".?")
                guard case .ident(let name) = advance() else { throw CELError("Syntax error: expected field name") }
                if !optional, accept("(") {
                    let args = try arguments(")")
                    e = try member(e, name, args)
                } else {
                    e = .select(e, name, optional: optional)
                }
            } else if accept("[") {
                let i = try expr()
                try expect("]")
                e = .index(e, i)
            } else {
                return e
            }
        }
    }

    private func member(_ target: CELExpr, _ name: String, _ args: [CELExpr]) throws(CELError) -> CELExpr {
        if Self.macros.contains(name) {
            guard args.count == 2 || (name == "map" && args.count == 3), case .ident(let v) = args[0] else {
                throw CELError("\(name)() requires a variable and an expression")
            }
            if args.count == 3 { return .comprehension(macro: name, target: target, variable: v, filter: args[1], body: args[2]) }
            return .comprehension(macro: name, target: target, variable: v, filter: nil, body: args[1])
        }
        guard Self.memberFunctions.contains(name) else {
            throw CELError("undeclared reference to '\(name)' (in container '')")
        }
        return .call(name, target: target, args: args)
    }

    private mutating func arguments(_ close: String) throws(CELError) -> [CELExpr] {
        var args: [CELExpr] = []
        if accept(close) { return args }
        repeat {
            if peek == .op(close) { break }
            args.append(try expr())
        } while accept(",")
        try expect(close)
        return args
    }

    private mutating func primary() throws(CELError) -> CELExpr {
        switch advance() {
        case .int(let i): return .literal(.int(i))
        case .uint(let u): return .literal(.uint(u))
        case .double(let d): return .literal(.double(d))
        case .string(let s): return .literal(.string(s))
        case .bytes(let b): return .literal(.bytes(b))
        case .op("("):
            let e = try expr()
            try expect(")")
            return e
        case .op("["): return .list(try arguments("]"))
        case .op("{"):
            var entries: [(CELExpr, CELExpr)] = []
            if !accept("}") {
                repeat {
                    if peek == .op("}") { break }
                    let k = try expr()
                    try expect(":")
                    entries.append((k, try expr()))
                } while accept(",")
                try expect("}")
            }
            return .map(entries)
        case .ident(let name):
            switch name {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "null": return .literal(.null)
            default: break
            }
            if accept("(") {
                let args = try arguments(")")
                if name == "has" {
                    guard args.count == 1, case .select(_, _, false) = args[0] else {
                        throw CELError("invalid argument to has() macro")
                    }
                    return .has(args[0])
                }
                guard Self.globalFunctions.contains(name) else {
                    throw CELError("undeclared reference to '\(name)' (in container '')")
                }
                return .call(name, target: nil, args: args)
            }
            if name == "optional", accept(".") {
                guard case .ident(let fn) = advance(), fn == "of" || fn == "none", accept("(") else {
                    throw CELError("undeclared reference to 'optional'")
                }
                return .call("optional.\(fn)", target: nil, args: try arguments(")"))
            }
            return .ident(name)
        case let t:
            throw CELError("Syntax error: unexpected \(describe(t))")
        }
    }

    private static func lex(_ s: [Unicode.Scalar]) throws(CELError) -> [Token] {
        var out: [Token] = []
        var i = 0
        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        func isIdent(_ c: Unicode.Scalar) -> Bool { c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || isDigit(c) }
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\n" || c == "\t" || c == "\r" { i += 1; continue }
            if isDigit(c) || (c == "." && i + 1 < s.count && isDigit(s[i + 1])) {
                var j = i
                var isDouble = false
                if c == "0", i + 1 < s.count, s[i + 1] == "x" || s[i + 1] == "X" {
                    j = i + 2
                    while j < s.count, s[j].properties.isASCIIHexDigit { j += 1 }
                    let text = String(String.UnicodeScalarView(s[(i + 2)..<j]))
                    guard let v = Int64(text, radix: 16) else { throw CELError("invalid hex literal") }
                    if j < s.count, s[j] == "u" || s[j] == "U" { out.append(.uint(UInt64(v))); j += 1 } else { out.append(.int(v)) }
                    i = j
                    continue
                }
                while j < s.count, isDigit(s[j]) || s[j] == "." || s[j] == "e" || s[j] == "E"
                    || ((s[j] == "-" || s[j] == "+") && (s[j - 1] == "e" || s[j - 1] == "E"))
                {
                    if s[j] == "." {
                        guard j + 1 < s.count, isDigit(s[j + 1]) else { break }
                        isDouble = true
                    }
                    if s[j] == "e" || s[j] == "E" { isDouble = true }
                    j += 1
                }
                let text = String(String.UnicodeScalarView(s[i..<j]))
                if isDouble {
                    guard let d = Double(text) else { throw CELError("invalid number \(text)") }
                    out.append(.double(d))
                } else if j < s.count, s[j] == "u" || s[j] == "U" {
                    guard let u = UInt64(text) else { throw CELError("invalid uint \(text)") }
                    out.append(.uint(u))
                    j += 1
                } else {
                    guard let v = Int64(text) else { throw CELError("invalid int \(text)") }
                    out.append(.int(v))
                }
                i = j
                continue
            }
            var raw = false, isBytes = false
            var q = i
            while q < s.count, q - i < 2, s[q] == "r" || s[q] == "R" || s[q] == "b" || s[q] == "B" {
                if s[q] == "r" || s[q] == "R" { raw = true } else { isBytes = true }
                q += 1
            }
            if q < s.count, s[q] == "\"" || s[q] == "'", q == i || !isIdent(s[q - 1]) || s[q - 1] == "r" || s[q - 1] == "b" || s[q - 1] == "R" || s[q - 1] == "B" {
                let quote = s[q]
                let triple = q + 2 < s.count && s[q + 1] == quote && s[q + 2] == quote
                var j = q + (triple ? 3 : 1)
                var text = String.UnicodeScalarView()
                while true {
                    guard j < s.count else { throw CELError("Syntax error: unterminated string") }
                    if triple, j + 2 < s.count, s[j] == quote, s[j + 1] == quote, s[j + 2] == quote { j += 3; break }
                    if !triple, s[j] == quote { j += 1; break }
                    if s[j] == "\\", !raw, j + 1 < s.count {
                        let e = s[j + 1]
                        switch e {
                        case "n": text.append("\n")
                        case "t": text.append("\t")
                        case "r": text.append("\r")
                        case "\\", "'", "\"", "`", "?": text.append(e)
                        default: text.append("\\"); text.append(e)
                        }
                        j += 2
                        continue
                    }
                    text.append(s[j])
                    j += 1
                }
                out.append(isBytes ? .bytes(Array(String(text).utf8)) : .string(String(text)))
                i = j
                continue
            }
            if isIdent(c) {
                var j = i
                while j < s.count, isIdent(s[j]) { j += 1 }
                out.append(.ident(String(String.UnicodeScalarView(s[i..<j]))))
                i = j
                continue
            }
            let two = i + 1 < s.count ? String(String.UnicodeScalarView([c, s[i + 1]])) : ""
            if ["==", "!=", "<=", ">=", "&&", "||", ".?"].contains(two) {
                out.append(.op(two))
                i += 2
                continue
            }
            if "+-*/%<>!?:.,()[]{}".unicodeScalars.contains(c) {
                out.append(.op(String(c)))
                i += 1
                continue
            }
            throw CELError("Syntax error: token recognition error at: '\(c)'")
        }
        out.append(.eof)
        return out
    }
}
