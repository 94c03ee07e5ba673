import DynamicJSON

/// A parsed label selector (`app=x,tier in (a,b),!legacy`), as `labels.Parse` accepts it.
struct LabelSelector: Sendable, Equatable {
    enum Op: Sendable, Equatable { case equals, notEquals, `in`, notIn, exists, doesNotExist, gt, lt }
    struct Requirement: Sendable, Equatable {
        var key: String
        var op: Op
        var values: [String]
    }
    var requirements: [Requirement] = []
    var isEmpty: Bool { requirements.isEmpty }

    /// Parses the string form; throws a 400-worthy message.
    init(parsing text: String) throws(KubeAPIError) {
        var lexer = SelectorLexer(Array(text.utf8))
        while true {
            if lexer.peek() == .end { break }
            requirements.append(try Self.requirement(&lexer))
            switch lexer.next() {
            case .end: return
            case .comma: continue
            case let t: throw KubeAPIError.badRequest("unable to parse requirement: found '\(t.text)', expected: ',' or 'end of string'")
            }
        }
    }

    init(requirements: [Requirement]) { self.requirements = requirements }

    /// A `metav1.LabelSelector` object (`matchLabels` + `matchExpressions`).
    init(object: JSONValue) throws(KubeAPIError) {
        for (k, v) in (object["matchLabels"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            requirements.append(Requirement(key: k, op: .equals, values: [v.stringValue ?? ""]))
        }
        for expr in object["matchExpressions"]?.arrayValue ?? [] {
            let key = expr["key"]?.stringValue ?? ""
            let values = (expr["values"]?.arrayValue ?? []).compactMap(\.stringValue)
            let op: Op
            switch expr["operator"]?.stringValue ?? "" {
            case "In": op = .in
            case "NotIn": op = .notIn
            case "Exists": op = .exists
            case "DoesNotExist": op = .doesNotExist
            case let other: throw KubeAPIError.badRequest("\(goQuote(other)) is not a valid label selector operator")
            }
            requirements.append(Requirement(key: key, op: op, values: values))
        }
    }

    func matches(_ labels: [String: JSONValue]?) -> Bool {
        let labels = labels ?? [:]
        for r in requirements {
            let value = labels[r.key]?.stringValue
            switch r.op {
            case .equals, .in: guard let value, r.values.contains(value) else { return false }
            case .notEquals, .notIn: if let value, r.values.contains(value) { return false }
            case .exists: if value == nil { return false }
            case .doesNotExist: if value != nil { return false }
            case .gt, .lt:
                guard let value, let have = Int64(value), let want = r.values.first.flatMap({ Int64($0) }) else { return false }
                if r.op == .gt ? !(have > want) : !(have < want) { return false }
            }
        }
        return true
    }

    /// The canonical string form (as `Scale.status.selector` carries it).
    var string: String {
        requirements.map { r in
            switch r.op {
            case .equals: "\(r.key)=\(r.values.first ?? "")"
            case .notEquals: "\(r.key)!=\(r.values.first ?? "")"
            case .in: "\(r.key) in (\(r.values.sorted().joined(separator: ",")))"
            case .notIn: "\(r.key) notin (\(r.values.sorted().joined(separator: ",")))"
            case .exists: r.key
            case .doesNotExist: "!\(r.key)"
            case .gt: "\(r.key)>\(r.values.first ?? "")"
            case .lt: "\(r.key)<\(r.values.first ?? "")"
            }
        }.joined(separator: ",")
    }

    private static func requirement(_ lx: inout SelectorLexer) throws(KubeAPIError) -> Requirement {
        var negated = false
        if lx.peek() == .bang {
            _ = lx.next()
            negated = true
        }
        guard case .identifier(let key) = lx.next() else {
            throw KubeAPIError.badRequest("unable to parse requirement: found '\(lx.lastText)', expected: identifier")
        }
        try checkKey(key)
        if negated { return Requirement(key: key, op: .doesNotExist, values: []) }
        let op: Op
        switch lx.peek() {
        case .end, .comma: return Requirement(key: key, op: .exists, values: [])
        case .equals, .doubleEquals: op = .equals
        case .notEquals: op = .notEquals
        case .inKeyword: op = .in
        case .notInKeyword: op = .notIn
        case .gt: op = .gt
        case .lt: op = .lt
        case let t:
            throw KubeAPIError.badRequest("unable to parse requirement: found '\(t.text)', expected: in, notin, =, ==, !=, gt, lt")
        }
        _ = lx.next()
        var values: [String] = []
        if op == .in || op == .notIn {
            guard lx.next() == .open else {
                throw KubeAPIError.badRequest("unable to parse requirement: found '\(lx.lastText)', expected: '('")
            }
            loop: while true {
                switch lx.next() {
                case .identifier(let v):
                    values.append(v)
                    switch lx.next() {
                    case .comma: continue
                    case .close: break loop
                    default: throw KubeAPIError.badRequest("unable to parse requirement: found '\(lx.lastText)', expected: ',', ')'")
                    }
                case .close where values.isEmpty: break loop
                case .comma: values.append("")
                default: throw KubeAPIError.badRequest("unable to parse requirement: found '\(lx.lastText)', expected: ',', ')' or identifier")
                }
            }
        } else {
            switch lx.peek() {
            case .identifier(let v):
                _ = lx.next()
                values = [v]
            case .end, .comma: values = [""]
            default: throw KubeAPIError.badRequest("unable to parse requirement: found '\(lx.peek().text)', expected: identifier")
            }
            if op == .gt || op == .lt, Int64(values[0]) == nil {
                throw KubeAPIError.badRequest("unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer")
            }
        }
        for v in values {
            let errors = MetaValidation.labelValueErrors(v)
            if !errors.isEmpty {
                throw KubeAPIError.badRequest("unable to parse requirement: values[0][\(key)]: Invalid value: \(goQuote(v)): \(errors.joined(separator: "; "))")
            }
        }
        return Requirement(key: key, op: op, values: values)
    }

    private static func checkKey(_ key: String) throws(KubeAPIError) {
        let errors = MetaValidation.qualifiedNameErrors(key)
        if !errors.isEmpty {
            throw KubeAPIError.badRequest("unable to parse requirement: key: Invalid value: \(goQuote(key)): \(errors.joined(separator: "; "))")
        }
    }
}

/// Tokens of the label-selector grammar.
private enum SelectorToken: Equatable {
    case identifier(String), comma, bang, equals, doubleEquals, notEquals, open, close, gt, lt, inKeyword, notInKeyword, end
    var text: String {
        switch self {
        case .identifier(let s): s
        case .comma: ","
        case .bang: "!"
        case .equals: "="
        case .doubleEquals: "=="
        case .notEquals: "!="
        case .open: "("
        case .close: ")"
        case .gt: ">"
        case .lt: "<"
        case .inKeyword: "in"
        case .notInKeyword: "notin"
        case .end: "end of string"
        }
    }
}

private struct SelectorLexer {
    let bytes: [UInt8]
    var pos = 0
    var peeked: SelectorToken?
    var lastText = ""
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func peek() -> SelectorToken {
        if let p = peeked { return p }
        let t = scan()
        peeked = t
        return t
    }

    mutating func next() -> SelectorToken {
        let t = peek()
        peeked = nil
        lastText = t.text
        return t
    }

    private mutating func scan() -> SelectorToken {
        while pos < bytes.count, bytes[pos] == 32 || bytes[pos] == 9 { pos += 1 }
        guard pos < bytes.count else { return .end }
        let c = bytes[pos]
        switch c {
        case 44: pos += 1; return .comma
        case 40: pos += 1; return .open
        case 41: pos += 1; return .close
        case 62: pos += 1; return .gt
        case 60: pos += 1; return .lt
        case 33:
            pos += 1
            if pos < bytes.count, bytes[pos] == 61 { pos += 1; return .notEquals }
            return .bang
        case 61:
            pos += 1
            if pos < bytes.count, bytes[pos] == 61 { pos += 1; return .doubleEquals }
            return .equals
        default:
            let start = pos
            while pos < bytes.count, ![32, 9, 44, 40, 41, 33, 61, 62, 60].contains(bytes[pos]) { pos += 1 }
            let word = String(decoding: bytes[start..<pos], as: UTF8.self)
            if word == "in" { return .inKeyword }
            if word == "notin" { return .notInKeyword }
            return .identifier(word)
        }
    }
}

/// A parsed field selector: `metadata.name=x,status.phase!=Active`.
struct FieldSelector: Sendable, Equatable {
    struct Requirement: Sendable, Equatable {
        var field: String
        var value: String
        var negated: Bool
    }
    var requirements: [Requirement] = []
    var isEmpty: Bool { requirements.isEmpty }

    init(requirements: [Requirement]) { self.requirements = requirements }

    init(parsing text: String) throws(KubeAPIError) {
        for term in Self.splitUnescaped(text, ",") where !term.isEmpty {
            let r: Requirement
            if let range = term.range(of: "!=") {
                r = Requirement(field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), negated: true)
            } else if let range = term.range(of: "==") {
                r = Requirement(field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), negated: false)
            } else if let range = term.range(of: "=") {
                r = Requirement(field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), negated: false)
            } else {
                throw KubeAPIError.badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            requirements.append(Requirement(field: r.field.trimmingSpaces, value: Self.unescape(r.value), negated: r.negated))
        }
    }

    /// Evaluates with `lookup` giving the string value of a supported field (nil = unsupported).
    func matches(_ lookup: (String) -> String?) -> Bool {
        requirements.allSatisfy { r in
            let have = lookup(r.field) ?? ""
            return r.negated ? have != r.value : have == r.value
        }
    }

    /// The value of `metadata.name` when the selector pins it (single-object watches).
    var pinnedName: String? {
        requirements.first { $0.field == "metadata.name" && !$0.negated }?.value
    }

    private static func splitUnescaped(_ s: String, _ sep: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for ch in s {
            if escaped {
                current.append("\\")
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == sep {
                parts.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        parts.append(current)
        return parts
    }

    private static func unescape(_ s: String) -> String {
        var out = ""
        var escaped = false
        for ch in s {
            if escaped { out.append(ch); escaped = false } else if ch == "\\" { escaped = true } else { out.append(ch) }
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
