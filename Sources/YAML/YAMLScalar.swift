import DynamicJSON

/// Resolution of untagged plain scalars, matching what Kubernetes does with manifests
/// (sigs.k8s.io/yaml → go-yaml v2, a YAML 1.1 resolver):
/// - null: empty, `~`, `null`, `Null`, `NULL`
/// - bool: `true/True/TRUE`, `false/False/FALSE` and the YAML 1.1 words `yes/no`, `on/off`,
///   `y/n` (each in lower, Capitalised and UPPER case). So `enabled: yes` is a boolean here,
///   as it is for `kubectl apply`; the emitter quotes such strings so they stay strings.
/// - int: decimal, `0x…`, `0o…`, `0b…`, and a leading `0` as octal (1.1: `mode: 0644` is 420,
///   which is how Kubernetes reads `defaultMode`); out-of-range integers become floats.
/// - float: `1.5`, `-2e3`, `.5`, `.inf/.Inf/.INF` (±), `.nan/.NaN/.NAN`.
/// Everything else, and every quoted or block scalar, is a string.
enum ScalarResolver {
    static func resolvePlain(_ text: String) -> JSONValue {
        // Fast path: only these first characters can start a non-string plain scalar.
        if let first = text.utf8.first, !Self.mayStartNonString[Int(first)] { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": return .bool(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
                || first == UInt8(ascii: ".") || (first >= 48 && first <= 57) else { return .string(text) }
        if let int = integer(text) { return int }
        if isFloat(text), let value = Double(text) { return .double(value) }
        return .string(text)
    }

    private static let mayStartNonString: [Bool] = (0..<256).map { byte in
        "~nNtTfFyYoO.+-0123456789".utf8.contains(UInt8(byte))
    }

    /// Whether a plain scalar with this text would read back as something other than this string.
    static func needsQuoting(_ text: String) -> Bool {
        if case .string = resolvePlain(text) { return text == "<<" } else { return true }
    }

    private static func integer(_ text: String) -> JSONValue? {
        var body = Substring(text)
        var negative = false
        if body.first == "-" || body.first == "+" { negative = body.first == "-"; body = body.dropFirst() }
        guard !body.isEmpty else { return nil }
        var radix = 10
        if body.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) }
        else if body.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
        else if body.hasPrefix("0b") { radix = 2; body = body.dropFirst(2) }
        else if body.count > 1, body.first == "0", body.allSatisfy({ $0 >= "0" && $0 <= "7" }) { radix = 8; body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy({ $0.isHexDigit }) else { return nil }
        guard let magnitude = UInt64(body, radix: radix) else {
            // Too large for 64 bits: decimal digits still read as a (rounded) number.
            if radix == 10, body.allSatisfy(\.isASCIIDigit), let d = Double(text) { return .double(d) }
            return nil
        }
        if negative {
            if magnitude <= UInt64(Int64.max) { return .int(-Int64(magnitude)) }
            if magnitude == UInt64(Int64.max) + 1 { return .int(.min) }
            return .double(-Double(magnitude))
        }
        return magnitude <= UInt64(Int64.max) ? .int(Int64(magnitude)) : .double(Double(magnitude))
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    private static func isFloat(_ text: String) -> Bool {
        let b = Array(text.utf8)
        var i = 0
        func digits() -> Int {
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1 }
            return i - start
        }
        if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { return false }
        } else {
            guard digits() > 0 else { return false }
            if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; _ = digits() }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == b.count
    }

    /// A scalar with an explicit standard tag (`!!str`, `!!int`…); nil for an unusable value.
    static func resolveTagged(_ text: String, tag: String) -> JSONValue? {
        switch tag {
        case "tag:yaml.org,2002:str", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:timestamp": return .string(text)
        case "tag:yaml.org,2002:null": return .null
        case "tag:yaml.org,2002:bool":
            if case .bool(let b) = resolvePlain(text) { return .bool(b) }
            return nil
        case "tag:yaml.org,2002:int":
            return integer(text)
        case "tag:yaml.org,2002:float":
            switch resolvePlain(text) {
            case .int(let i): return .double(Double(i))
            case .double(let d): return .double(d)
            default: return nil
            }
        default: return resolvePlain(text)  // local tags (`!foo`) carry no schema meaning here
        }
    }

    /// Canonical text of a scalar used as a mapping key (JSON keys are strings).
    static func keyText(_ value: JSONValue, raw: String) -> String? {
        switch value {
        case .string(let s): return s
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double: return raw
        default: return nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { self >= "0" && self <= "9" }
}
