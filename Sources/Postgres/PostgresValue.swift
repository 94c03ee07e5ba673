import CivilCalendar
import Foundation

/// A query parameter as sent on the wire: text (the server parses it for the inferred type) or
/// binary (used for bytea so arbitrary bytes pass unchanged).
public struct PostgresParameter: Sendable, Equatable {
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }
    public var format: Format
    public var bytes: [UInt8]

    public static func text(_ string: String) -> PostgresParameter { .init(format: .text, bytes: Array(string.utf8)) }
    public static func binary(_ bytes: [UInt8]) -> PostgresParameter { .init(format: .binary, bytes: bytes) }
}

/// Anything usable as `$n` in a query. Pass `nil` for SQL NULL: `[1, "x", nil]`.
public protocol PostgresValue {
    var postgresParameter: PostgresParameter { get }
}

extension String: PostgresValue { public var postgresParameter: PostgresParameter { .text(self) } }
extension Substring: PostgresValue { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int: PostgresValue { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int64: PostgresValue { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int32: PostgresValue { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Int16: PostgresValue { public var postgresParameter: PostgresParameter { .text(String(self)) } }
extension Bool: PostgresValue { public var postgresParameter: PostgresParameter { .text(self ? "true" : "false") } }
extension UUID: PostgresValue { public var postgresParameter: PostgresParameter { .text(uuidString) } }
extension Data: PostgresValue { public var postgresParameter: PostgresParameter { .binary(Array(self)) } }
extension Array: PostgresValue where Element == UInt8 {
    public var postgresParameter: PostgresParameter { .binary(self) }
}

extension Double: PostgresValue {
    public var postgresParameter: PostgresParameter {
        if isNaN { return .text("NaN") }
        if isInfinite { return .text(self < 0 ? "-Infinity" : "Infinity") }
        return .text("\(self)")  // shortest representation that round-trips
    }
}

extension Float: PostgresValue {
    public var postgresParameter: PostgresParameter { Double(self).postgresParameter }
}

extension Date: PostgresValue {
    /// ISO 8601 in UTC with microseconds, accepted for timestamptz, timestamp and date.
    public var postgresParameter: PostgresParameter { .text(PostgresTimestamp.format(self)) }
}

/// Conversions between `Date` and PostgreSQL's ISO text form, without `DateFormatter`
/// (locale-free and exact to the microsecond).
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        if date == .distantFuture { return "infinity" }
        if date == .distantPast { return "-infinity" }
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        var days = micros / 86_400_000_000
        var rest = micros % 86_400_000_000
        if rest < 0 { rest += 86_400_000_000; days -= 1 }
        let date = CivilDate(dayNumber: Int(days))
        let (y, m, d) = (Int64(date.year), Int64(date.month), Int64(date.day))
        let seconds = rest / 1_000_000, fraction = rest % 1_000_000
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 { text += "." + pad(fraction, 6) }
        return text + "+00"
    }

    /// Parses `YYYY-MM-DD[ HH:MM:SS[.ffffff]][±HH[:MM[:SS]]]` (DateStyle ISO); no offset means UTC.
    static func parse(_ text: String) -> Date? {
        switch text {
        case "infinity": return .distantFuture
        case "-infinity": return .distantPast
        default: break
        }
        let bytes = Array(text.utf8)
        var i = 0
        func number(_ maxDigits: Int) -> Int64? {
            var value: Int64 = 0, n = 0
            while i < bytes.count, n < maxDigits, bytes[i] >= 48, bytes[i] <= 57 {
                value = value * 10 + Int64(bytes[i] - 48); i += 1; n += 1
            }
            return n == 0 ? nil : value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < bytes.count, bytes[i] == c else { return false }
            i += 1; return true
        }
        guard let year = number(7), expect(UInt8(ascii: "-")), let month = number(2),
              expect(UInt8(ascii: "-")), let day = number(2) else { return nil }
        var micros = Int64(CivilDate(year: Int(year), month: Int(month), day: Int(day)).dayNumber) * 86_400_000_000
        if expect(UInt8(ascii: " ")) || expect(UInt8(ascii: "T")) {
            guard let h = number(2), expect(UInt8(ascii: ":")), let mi = number(2),
                  expect(UInt8(ascii: ":")), let s = number(2) else { return nil }
            micros += ((h * 60 + mi) * 60 + s) * 1_000_000
            if expect(UInt8(ascii: ".")) {
                let start = i
                guard var f = number(6) else { return nil }
                for _ in (i - start)..<6 { f *= 10 }
                micros += f
                while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }  // beyond µs
            }
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
                let sign: Int64 = bytes[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                var offset = oh * 3600
                if expect(UInt8(ascii: ":")) { guard let om = number(2) else { return nil }; offset += om * 60 }
                if expect(UInt8(ascii: ":")) { guard let os = number(2) else { return nil }; offset += os }
                micros -= sign * offset * 1_000_000
            }
        }
        guard i == bytes.count else { return nil }  // e.g. " BC": not representable here
        return Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
