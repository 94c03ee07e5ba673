/// A duration as users write it: `90d`, `26h`, `30m`, `1h30m`, `2w` (units w, d, h, m, s, each at
/// most once, largest first). Days are 24 hours and weeks 7 days: no calendar arithmetic.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.seconds < b.seconds }

    public init(parsing text: String) throws(TimeSpanError) {
        let units: [(Character, Int64)] = [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        guard !text.isEmpty else { throw TimeSpanError("is empty; write a number and a unit, e.g. 90d, 26h or 30m") }
        var total: Int64 = 0
        var number: Int64? = nil
        var nextUnit = 0
        for ch in text {
            if let digit = ch.wholeNumberValue, ch.isASCII {
                let (m, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(digit))
                guard !o1, !o2, a <= 1_000_000_000_000 else { throw TimeSpanError("is too large") }
                number = a
                continue
            }
            guard let index = units.firstIndex(where: { $0.0 == ch }) else {
                if ch == " " { throw TimeSpanError("must not contain spaces (e.g. 1h30m)") }
                throw TimeSpanError("has unknown unit \"\(ch)\"; use w, d, h, m or s (e.g. 90d, 26h, 30m)")
            }
            guard let n = number else { throw TimeSpanError("needs a number before \"\(ch)\" (e.g. 30\(ch))") }
            guard index >= nextUnit else {
                throw TimeSpanError("lists units out of order or twice; write the largest unit first, each once (e.g. 1d12h)")
            }
            let (p, o) = n.multipliedReportingOverflow(by: units[index].1)
            guard !o else { throw TimeSpanError("is too large") }
            total += p
            guard total <= 100 * 365 * 86_400 else { throw TimeSpanError("is too large (at most 100 years)") }
            nextUnit = index + 1
            number = nil
        }
        if number != nil { throw TimeSpanError("ends in a number without a unit; add one of w, d, h, m, s (e.g. \(text)m)") }
        seconds = total
    }

    /// The shortest canonical text, e.g. `1d2h`; `0s` for zero.
    public var description: String {
        guard seconds > 0 else { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }
}

public struct TimeSpanError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
