/// Kubernetes `resource.Quantity` canonical form ("1024Mi" → "1Gi", "1000m" → "1", "2000" → "2k").
/// Values that overflow 64 bits or need sub-nano precision are left as sent.
enum Quantity {
    private static let decimalSuffixes: [String: Int] = ["n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]
    private static let binarySuffixes: [String: Int] = ["Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6]

    enum Format { case binarySI, decimalSI, decimalExponent }

    struct Parsed {
        var mantissa: Int64
        var exp10: Int
        var pow1024: Int
        var format: Format
    }

    static func parse(_ s: String) -> Parsed? {
        var chars = Substring(s)
        var negative = false
        if chars.first == "+" || chars.first == "-" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        let number = chars.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else { return nil }
        let suffix = String(chars.dropFirst(number.count))
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        let digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
        let fractionDigits = parts.count > 1 ? parts[1].count : 0
        guard digits.count <= 18, var mantissa = Int64(digits.isEmpty ? "0" : digits) else { return nil }
        if negative { mantissa = -mantissa }
        if let p = binarySuffixes[suffix] { return Parsed(mantissa: mantissa, exp10: -fractionDigits, pow1024: p, format: .binarySI) }
        if let e = decimalSuffixes[suffix] { return Parsed(mantissa: mantissa, exp10: e - fractionDigits, pow1024: 0, format: .decimalSI) }
        if let first = suffix.first, first == "e" || first == "E", let e = Int(suffix.dropFirst()) {
            return Parsed(mantissa: mantissa, exp10: e - fractionDigits, pow1024: 0, format: .decimalExponent)
        }
        return nil
    }

    static func isValid(_ s: String) -> Bool { parse(s) != nil }

    static func canonical(_ s: String) -> String {
        guard var q = parse(s) else { return s }
        if q.mantissa == 0 { return "0" }
        if q.format == .binarySI {
            // Fold the binary multiplier in; fall back to decimal for fractions and small values.
            var v = q.mantissa
            for _ in 0..<q.pow1024 {
                let (r, o) = v.multipliedReportingOverflow(by: 1024)
                if o { return s }
                v = r
            }
            var e = q.exp10
            while e < 0, v % 10 == 0 { v /= 10; e += 1 }
            if e == 0, abs(v) >= 1024 {
                var k = 0
                while k < 6, v % 1024 == 0 { v /= 1024; k += 1 }
                let suffix = binarySuffixes.first { $0.value == k }?.key ?? ""
                return "\(v)\(suffix)"
            }
            q = Parsed(mantissa: v, exp10: e, pow1024: 0, format: .decimalSI)
            while e > 0 {
                let (r, o) = q.mantissa.multipliedReportingOverflow(by: 10)
                if o { return s }
                q.mantissa = r
                e -= 1
                q.exp10 = e
            }
        }
        var n = q.mantissa, e = q.exp10
        while n % 10 == 0 { n /= 10; e += 1 }
        var exp3 = e >= 0 ? (e / 3) * 3 : -(((-e) + 2) / 3) * 3
        if exp3 < -9 { return s }
        if exp3 > 18 { exp3 = 18 }
        for _ in 0..<(e - exp3) {
            let (r, o) = n.multipliedReportingOverflow(by: 10)
            if o { return s }
            n = r
        }
        if q.format == .decimalExponent { return exp3 == 0 ? "\(n)" : "\(n)e\(exp3)" }
        return "\(n)\(decimalSuffixes.first { $0.value == exp3 }!.key)"
    }
}
