import Foundation

/// Operators and standard functions of the CEL subset.
enum CELFunctions {
    static func binary(_ op: String, _ a: CELValue, _ b: CELValue) throws(CELError) -> CELValue {
        switch op {
        case "==": return .bool(equal(a, b))
        case "!=": return .bool(!equal(a, b))
        case "<", "<=", ">", ">=":
            let c = try compare(a, b)
            switch op {
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case "in":
            switch b {
            case .list(let l): return .bool(l.contains { equal($0, a) })
            case .map(let m):
                guard case .string(let k) = a else { return .bool(false) }
                return .bool(m[k] != nil)
            default: throw CELError("no such overload: \(a.typeName) in \(b.typeName)")
            }
        default: return try arithmetic(op, a, b)
        }
    }

    private static func arithmetic(_ op: String, _ a: CELValue, _ b: CELValue) throws(CELError) -> CELValue {
        switch (a, b) {
        case (.int(let x), .int(let y)):
            switch op {
            case "+": let (r, o) = x.addingReportingOverflow(y); if o { throw CELError("integer overflow") }; return .int(r)
            case "-": let (r, o) = x.subtractingReportingOverflow(y); if o { throw CELError("integer overflow") }; return .int(r)
            case "*": let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw CELError("integer overflow") }; return .int(r)
            case "/": if y == 0 { throw CELError("division by zero") }; return .int(x / y)
            case "%": if y == 0 { throw CELError("modulus by zero") }; return .int(x % y)
            default: break
            }
        case (.uint(let x), .uint(let y)):
            switch op {
            case "+": return .uint(x &+ y)
            case "-": if y > x { throw CELError("unsigned integer overflow") }; return .uint(x - y)
            case "*": return .uint(x &* y)
            case "/": if y == 0 { throw CELError("division by zero") }; return .uint(x / y)
            case "%": if y == 0 { throw CELError("modulus by zero") }; return .uint(x % y)
            default: break
            }
        case (.double(let x), .double(let y)):
            switch op {
            case "+": return .double(x + y)
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": return .double(x / y)
            default: break
            }
        case (.string(let x), .string(let y)) where op == "+": return .string(x + y)
        case (.bytes(let x), .bytes(let y)) where op == "+": return .bytes(x + y)
        case (.list(let x), .list(let y)) where op == "+": return .list(x + y)
        case (.duration(let x), .duration(let y)) where op == "+" || op == "-": return .duration(op == "+" ? x + y : x - y)
        case (.timestamp(let x), .duration(let y)) where op == "+" || op == "-": return .timestamp(op == "+" ? x + y : x - y)
        case (.timestamp(let x), .timestamp(let y)) where op == "-": return .duration(x - y)
        default: break
        }
        throw CELError("no such overload: \(a.typeName) \(op) \(b.typeName)")
    }

    static func equal(_ a: CELValue, _ b: CELValue) -> Bool {
        if let x = numeric(a), let y = numeric(b) { return x == y }
        switch (a, b) {
        case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.map(let x), .map(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { equal(v, $0) } ?? false }
        default: return a == b
        }
    }

    private static func numeric(_ v: CELValue) -> Double? {
        switch v {
        case .int(let i): Double(i)
        case .uint(let u): Double(u)
        case .double(let d): d
        default: nil
        }
    }

    static func compare(_ a: CELValue, _ b: CELValue) throws(CELError) -> Int {
        if let x = numeric(a), let y = numeric(b) { return x < y ? -1 : (x > y ? 1 : 0) }
        switch (a, b) {
        case (.string(let x), .string(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (x ? 1 : -1)
        case (.duration(let x), .duration(let y)), (.timestamp(let x), .timestamp(let y)): return x < y ? -1 : (x > y ? 1 : 0)
        case (.bytes(let x), .bytes(let y)): return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
        default: throw CELError("no such overload: \(a.typeName) < \(b.typeName)")
        }
    }

    static func size(_ v: CELValue) throws(CELError) -> CELValue {
        switch v {
        case .string(let s): return .int(Int64(s.unicodeScalars.count))
        case .bytes(let b): return .int(Int64(b.count))
        case .list(let l): return .int(Int64(l.count))
        case .map(let m): return .int(Int64(m.count))
        default: throw CELError("no such overload: size(\(v.typeName))")
        }
    }

    static func call(_ name: String, target: CELValue?, args: [CELValue]) throws(CELError) -> CELValue {
        if let target { return try method(name, target, args) }
        func one() throws(CELError) -> CELValue {
            guard args.count == 1 else { throw CELError("\(name)() takes one argument") }
            return args[0]
        }
        switch name {
        case "size": return try size(one())
        case "dyn": return try one()
        case "type": return .type(try one().typeName)
        case "int":
            switch try one() {
            case .int(let i): return .int(i)
            case .uint(let u): guard u <= UInt64(Int64.max) else { throw CELError("int range error") }; return .int(Int64(u))
            case .double(let d): guard d.isFinite, abs(d) < 9.2e18 else { throw CELError("int range error") }; return .int(Int64(d))
            case .string(let s): guard let i = Int64(s) else { throw CELError("cannot convert \(goQuote(s)) to int") }; return .int(i)
            case .timestamp(let t): return .int(Int64(t))
            case let v: throw CELError("no such overload: int(\(v.typeName))")
            }
        case "uint":
            switch try one() {
            case .uint(let u): return .uint(u)
            case .int(let i): guard i >= 0 else { throw CELError("uint range error") }; return .uint(UInt64(i))
            case .double(let d): guard d >= 0, d < 1.8e19 else { throw CELError("uint range error") }; return .uint(UInt64(d))
            case .string(let s): guard let u = UInt64(s) else { throw CELError("cannot convert to uint") }; return .uint(u)
            case let v: throw CELError("no such overload: uint(\(v.typeName))")
            }
        case "double":
            switch try one() {
            case .double(let d): return .double(d)
            case .int(let i): return .double(Double(i))
            case .uint(let u): return .double(Double(u))
            case .string(let s): guard let d = Double(s) else { throw CELError("cannot convert to double") }; return .double(d)
            case let v: throw CELError("no such overload: double(\(v.typeName))")
            }
        case "string":
            let v = try one()
            if case .type = v { throw CELError("no such overload: string(type)") }
            return .string(v.display)
        case "bool":
            switch try one() {
            case .bool(let b): return .bool(b)
            case .string(let s) where ["true", "false"].contains(s.lowercased()): return .bool(s.lowercased() == "true")
            case let v: throw CELError("no such overload: bool(\(v.typeName))")
            }
        case "bytes":
            guard case .string(let s) = try one() else { throw CELError("no such overload: bytes") }
            return .bytes(Array(s.utf8))
        case "duration":
            guard case .string(let s) = try one(), let d = parseDuration(s) else { throw CELError("invalid duration") }
            return .duration(d)
        case "timestamp":
            guard case .string(let s) = try one(), let t = Timestamp.parse(s) else { throw CELError("invalid timestamp") }
            return .timestamp(t.timeIntervalSince1970)
        case "matches":
            guard args.count == 2 else { throw CELError("matches() takes two arguments") }
            return try method("matches", args[0], [args[1]])
        case "optional.of": return .optional(try one())
        case "optional.none": return .optional(nil)
        default: throw CELError("undeclared reference to '\(name)'")
        }
    }

    private static func method(_ name: String, _ t: CELValue, _ args: [CELValue]) throws(CELError) -> CELValue {
        func str(_ i: Int) throws(CELError) -> String {
            guard i < args.count, case .string(let s) = args[i] else { throw CELError("no such overload: \(name)") }
            return s
        }
        func int(_ i: Int) throws(CELError) -> Int {
            guard i < args.count, case .int(let n) = args[i] else { throw CELError("no such overload: \(name)") }
            return Int(n)
        }
        switch (name, t) {
        case ("size", _): return try size(t)
        case ("startsWith", .string(let s)): return .bool(s.hasPrefix(try str(0)))
        case ("endsWith", .string(let s)): return .bool(s.hasSuffix(try str(0)))
        case ("contains", .string(let s)): return .bool(s.contains(try str(0)))
        case ("matches", .string(let s)):
            let pattern = try str(0)
            guard RegexCache.compile(pattern) != nil else { throw CELError("invalid regular expression: \(pattern)") }
            return .bool(RegexCache.matches(pattern, s))
        case ("lowerAscii", .string(let s)): return .string(s.lowercased())
        case ("upperAscii", .string(let s)): return .string(s.uppercased())
        case ("trim", .string(let s)): return .string(s.trimmingCharacters(in: .whitespacesAndNewlines))
        case ("split", .string(let s)):
            return .list(s.components(separatedBy: try str(0)).map { .string($0) })
        case ("replace", .string(let s)): return .string(s.replacingOccurrences(of: try str(0), with: try str(1)))
        case ("indexOf", .string(let s)):
            guard let r = s.range(of: try str(0)) else { return .int(-1) }
            return .int(Int64(s.unicodeScalars.distance(from: s.startIndex, to: r.lowerBound)))
        case ("lastIndexOf", .string(let s)):
            guard let r = s.range(of: try str(0), options: .backwards) else { return .int(-1) }
            return .int(Int64(s.unicodeScalars.distance(from: s.startIndex, to: r.lowerBound)))
        case ("charAt", .string(let s)):
            let scalars = Array(s.unicodeScalars), i = try int(0)
            guard i >= 0, i <= scalars.count else { throw CELError("index out of range: \(i)") }
            return .string(i == scalars.count ? "" : String(scalars[i]))
        case ("substring", .string(let s)):
            let scalars = Array(s.unicodeScalars)
            let from = try int(0), to = args.count > 1 ? try int(1) : scalars.count
            guard from >= 0, to <= scalars.count, from <= to else { throw CELError("index out of range") }
            return .string(String(String.UnicodeScalarView(scalars[from..<to])))
        case ("join", .list(let l)):
            let sep = args.isEmpty ? "" : try str(0)
            return .string(l.map(\.display).joined(separator: sep))
        case ("isSorted", .list(let l)):
            for i in l.indices.dropFirst() where try compare(l[i - 1], l[i]) > 0 { return .bool(false) }
            return .bool(true)
        case ("sum", .list(let l)):
            var acc: CELValue = .int(0)
            for x in l { acc = try binary("+", acc, x) }
            return acc
        case ("min", .list(let l)), ("max", .list(let l)):
            guard var best = l.first else { throw CELError("\(name) called on empty list") }
            for x in l.dropFirst() where try compare(x, best) * (name == "min" ? -1 : 1) > 0 { best = x }
            return best
        case ("orValue", .optional(let o)): return o ?? (args.first ?? .null)
        case ("hasValue", .optional(let o)): return .bool(o != nil)
        case ("value", .optional(let o)):
            guard let o else { throw CELError("optional.none() dereference") }
            return o
        case ("getSeconds", .duration(let d)): return .int(Int64(d))
        case ("getMinutes", .duration(let d)): return .int(Int64(d / 60))
        case ("getHours", .duration(let d)): return .int(Int64(d / 3600))
        default: throw CELError("no such overload: \(t.typeName).\(name)")
        }
    }

    /// Go-style durations ("1h30m", "90s", "1.5h").
    static func parseDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(s)
        var negative = false
        if rest.first == "-" { negative = true; rest = rest.dropFirst() }
        if rest == "0" { return 0 }
        var total = 0.0
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard let n = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            total += n * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return negative ? -total : total
    }
}
