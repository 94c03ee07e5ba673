/// A small XML reader for S3 responses: elements, text, entities, CDATA; attributes, comments,
/// processing instructions and DOCTYPE are skipped. Namespace prefixes are dropped from names.
struct XMLNode: Sendable, Equatable {
    var name: String
    var text = ""
    var children: [XMLNode] = []

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// Text of the named child, or nil.
    subscript(_ name: String) -> String? { child(name)?.text }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ bytes: [UInt8]) throws(ParseError) -> XMLNode {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        func fail(_ what: String) -> ParseError { ParseError(description: "malformed XML at byte \(i): \(what)") }

        func starts(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= bytes.count && Array(bytes[i..<i + u.count]) == u
        }

        mutating func skip(past s: String) throws(ParseError) {
            let u = Array(s.utf8)
            while i + u.count <= bytes.count {
                if Array(bytes[i..<i + u.count]) == u { i += u.count; return }
                i += 1
            }
            throw fail("missing \(s)")
        }

        mutating func document() throws(ParseError) -> XMLNode {
            var stack: [XMLNode] = []
            while i < bytes.count {
                if bytes[i] != UInt8(ascii: "<") {
                    let start = i
                    while i < bytes.count && bytes[i] != UInt8(ascii: "<") { i += 1 }
                    if !stack.isEmpty { stack[stack.count - 1].text += Self.decodeEntities(bytes[start..<i]) }
                    continue
                }
                if starts("<?") { try skip(past: "?>"); continue }
                if starts("<!--") { try skip(past: "-->"); continue }
                if starts("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>")
                    if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: bytes[start..<i - 3], as: UTF8.self) }
                    continue
                }
                if starts("<!") { try skip(past: ">"); continue }
                if starts("</") {
                    i += 2
                    let name = readName()
                    try skip(past: ">")
                    guard let node = stack.popLast(), node.name == name else { throw fail("unexpected </\(name)>") }
                    if stack.isEmpty { return node.trimmed() }
                    stack[stack.count - 1].children.append(node.trimmed())
                    continue
                }
                i += 1
                let name = readName()
                guard !name.isEmpty else { throw fail("empty tag name") }
                // Skip attributes, honouring quotes.
                var quote: UInt8?
                while i < bytes.count {
                    let b = bytes[i]
                    if let q = quote { if b == q { quote = nil } } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") { quote = b } else if b == UInt8(ascii: ">") { break }
                    i += 1
                }
                guard i < bytes.count else { throw fail("unterminated <\(name)") }
                let selfClosing = bytes[i - 1] == UInt8(ascii: "/")
                i += 1
                let node = XMLNode(name: name)
                if selfClosing {
                    if stack.isEmpty { return node }
                    stack[stack.count - 1].children.append(node)
                } else {
                    stack.append(node)
                }
            }
            throw fail(stack.isEmpty ? "no root element" : "unclosed <\(stack.last!.name)>")
        }

        mutating func readName() -> String {
            let start = i
            while i < bytes.count, ![UInt8(ascii: " "), UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "\t"),
                                     UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[i]) { i += 1 }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            return full.split(separator: ":").last.map(String.init) ?? full
        }

        static func decodeEntities(_ raw: ArraySlice<UInt8>) -> String {
            let text = String(decoding: raw, as: UTF8.self)
            guard text.contains("&") else { return text }
            var out = ""
            var rest = Substring(text)
            while let amp = rest.firstIndex(of: "&") {
                out += rest[..<amp]
                guard let semi = rest[amp...].firstIndex(of: ";"), rest.distance(from: amp, to: semi) <= 10 else {
                    out += "&"
                    rest = rest[rest.index(after: amp)...]
                    continue
                }
                let entity = rest[rest.index(after: amp)..<semi]
                switch entity {
                case "amp": out += "&"
                case "lt": out += "<"
                case "gt": out += ">"
                case "quot": out += "\""
                case "apos": out += "'"
                default:
                    let scalar: UInt32? = entity.hasPrefix("#x") ? UInt32(entity.dropFirst(2), radix: 16)
                        : entity.hasPrefix("#") ? UInt32(entity.dropFirst(), radix: 10) : nil
                    if let scalar, let u = Unicode.Scalar(scalar) { out.unicodeScalars.append(u) } else { out += "&\(entity);" }
                }
                rest = rest[rest.index(after: semi)...]
            }
            return out + rest
        }
    }

    /// Elements with children keep no whitespace-only text.
    private func trimmed() -> XMLNode {
        var copy = self
        if !children.isEmpty && text.allSatisfy(\.isWhitespace) { copy.text = "" }
        return copy
    }
}

/// Escapes text for XML element content.
func xmlEscape(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(c)
        }
    }
    return out
}
