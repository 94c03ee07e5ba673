import CivilCalendar
import Foundation

/// Second-resolution UTC time stamps in the two spellings artifacts use:
/// compact `20260128T020000Z` (object names) and RFC 3339 `2026-01-28T02:00:00Z` (manifests).
public enum UTCTimestamp {
    /// `yyyymmddThhmmssZ` of `date`, truncated to the second.
    public static func compact(_ date: Date) -> String {
        let (civil, h, m, s) = split(date)
        return "\(CivilDate.pad(civil.year, 4))\(CivilDate.pad(civil.month, 2))\(CivilDate.pad(civil.day, 2))T"
            + "\(CivilDate.pad(h, 2))\(CivilDate.pad(m, 2))\(CivilDate.pad(s, 2))Z"
    }

    /// `yyyy-mm-ddThh:mm:ssZ` of `date`, truncated to the second.
    public static func rfc3339(_ date: Date) -> String {
        let (civil, h, m, s) = split(date)
        return "\(civil)T\(CivilDate.pad(h, 2)):\(CivilDate.pad(m, 2)):\(CivilDate.pad(s, 2))Z"
    }

    /// Parses the compact form; nil unless it is exactly `yyyymmddThhmmssZ` with valid fields.
    public static func parseCompact(_ text: some StringProtocol) -> Date? {
        let b = Array(text.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        guard let y = number(b[0..<4]), let mo = number(b[4..<6]), let d = number(b[6..<8]),
              let h = number(b[9..<11]), let mi = number(b[11..<13]), let s = number(b[13..<15]) else { return nil }
        return make(y, mo, d, h, mi, s)
    }

    /// Parses RFC 3339 with `Z` or a numeric offset and optional fractional seconds.
    public static func parseRFC3339(_ text: some StringProtocol) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = number(b[0..<4]), let mo = number(b[5..<7]), let d = number(b[8..<10]),
              let h = number(b[11..<13]), let mi = number(b[14..<16]), let s = number(b[17..<19]),
              let base = make(y, mo, d, h, mi, s) else { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 { fraction += Double(b[i] - 48) * scale; scale /= 10; i += 1 }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard b.count == i + 6, b[i + 3] == UInt8(ascii: ":"),
                  let oh = number(b[(i + 1)..<(i + 3)]), let om = number(b[(i + 4)..<(i + 6)]) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        return base.addingTimeInterval(fraction - Double(offset))
    }

    static func split(_ date: Date) -> (CivilDate, Int, Int, Int) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        return (CivilDate(dayNumber: days), rest / 3600, rest % 3600 / 60, rest % 60)
    }

    static func make(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ s: Int) -> Date? {
        guard (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h), (0...59).contains(mi),
              (0...60).contains(s) else { return nil }
        let civil = CivilDate(year: y, month: mo, day: d)
        // Reject 2026-02-30 and friends: the day number must map back to the same date.
        guard CivilDate(dayNumber: civil.dayNumber) == civil else { return nil }
        return Date(timeIntervalSince1970: Double(civil.dayNumber * 86400 + h * 3600 + mi * 60 + s))
    }

    static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard byte >= 48, byte <= 57 else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        return value
    }
}
