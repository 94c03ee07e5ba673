import CivilCalendar
import Foundation

/// A Kubernetes timestamp (`metav1.Time`): RFC 3339 in UTC with whole seconds on the wire
/// (`2026-02-08T12:00:00Z`). Decoding accepts fractional seconds and numeric offsets, which
/// some clients send; the value is kept to the nanosecond but encoded like the API server does.
public struct Time: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Seconds since the Unix epoch.
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public init(_ date: Date) {
        let t = date.timeIntervalSince1970
        let s = t.rounded(.down)
        seconds = Int64(s)
        nanoseconds = Int32(min(999_999_999, max(0, ((t - s) * 1e9).rounded())))
    }

    public static func now() -> Time { Time(Date()) }

    public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9) }

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
    public init?(rfc3339 text: String) {
        guard let parsed = RFC3339.parse(text) else { return nil }
        self = parsed
    }

    /// Whole seconds, UTC, `Z` suffix.
    public var rfc3339: String { RFC3339.format(self, fractionDigits: 0) }
    /// Microseconds, as `metav1.MicroTime` encodes.
    public var rfc3339Micro: String { RFC3339.format(self, fractionDigits: 6) }
    public var description: String { rfc3339 }

    public static func < (a: Time, b: Time) -> Bool { (a.seconds, a.nanoseconds) < (b.seconds, b.nanoseconds) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = RFC3339.parse(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(text)\" is not an RFC 3339 time")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rfc3339)
    }
}

/// `metav1.MicroTime` (Lease renewTime, events.k8s.io eventTime): six fraction digits on the wire.
public struct MicroTime: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var time: Time
    public init(_ time: Time) { self.time = time }
    public init(_ date: Date) { time = Time(date) }
    public static func now() -> MicroTime { MicroTime(Date()) }
    public var date: Date { time.date }
    public var description: String { time.rfc3339Micro }
    public static func < (a: MicroTime, b: MicroTime) -> Bool { a.time < b.time }
    public init(from decoder: any Decoder) throws { time = try Time(from: decoder) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(time.rfc3339Micro)
    }
}

enum RFC3339 {
    static func parse(_ text: String) -> Time? {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= b.count else { return nil }
            var v = 0
            for k in i..<(i + n) {
                guard b[k] >= 48 && b[k] <= 57 else { return nil }
                v = v * 10 + Int(b[k] - 48)
            }
            i += n
            return v
        }
        func expect(_ chars: String) -> Bool {
            guard i < b.count, chars.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect("-"), let mo = digits(2), expect("-"), let d = digits(2),
              expect("Tt "), let h = digits(2), expect(":"), let mi = digits(2), expect(":"), let s = digits(2),
              (1...12).contains(mo), d >= 1, d <= CivilDate.daysIn(year: y, month: mo), h < 24, mi < 60, s < 61
        else { return nil }
        var nanos = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            var count = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if count < 9 { nanos = nanos * 10 + Int(b[i] - 48) }
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
            for _ in min(count, 9)..<9 { nanos *= 10 }
        }
        var offset = 0
        if expect("Zz") {
        } else if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(":"), let om = digits(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let secs = Int64(CivilDate(year: y, month: mo, day: d).dayNumber) * 86400 + Int64(h * 3600 + mi * 60 + min(s, 59)) - Int64(offset)
        return Time(seconds: secs, nanoseconds: Int32(nanos))
    }

    static func format(_ t: Time, fractionDigits: Int) -> String {
        let days = Int(floorDiv(t.seconds, 86400))
        let rem = Int(t.seconds - Int64(days) * 86400)
        var out = CivilDate(dayNumber: days).description + "T"
        out += CivilDate.pad(rem / 3600, 2) + ":" + CivilDate.pad(rem / 60 % 60, 2) + ":" + CivilDate.pad(rem % 60, 2)
        if fractionDigits > 0 {
            var frac = Int(t.nanoseconds)
            for _ in fractionDigits..<9 { frac /= 10 }
            out += "." + CivilDate.pad(frac, fractionDigits)
        }
        return out + "Z"
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
