import CivilCalendar
import Foundation
import Synchronization

/// The simulator's clock: creation and deletion timestamps, Table ages, watch and controller
/// timers that the tests want to control. Starts as the wall clock; tests may freeze or move it.
public final class SimClock: Sendable {
    private struct State {
        var frozen: Date?
        var offset: TimeInterval = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// The current simulated time.
    public var now: Date {
        state.withLock { s in s.frozen ?? Date().addingTimeInterval(s.offset) }
    }

    /// Moves time forward (or backward with a negative value), frozen or not.
    public func advance(by seconds: TimeInterval) {
        state.withLock { s in
            if let f = s.frozen { s.frozen = f.addingTimeInterval(seconds) } else { s.offset += seconds }
        }
    }

    /// Stops time at `date` (the current time when nil) until `resume()`.
    public func freeze(at date: Date? = nil) {
        state.withLock { s in s.frozen = date ?? s.frozen ?? Date().addingTimeInterval(s.offset) }
    }

    /// Lets frozen time run again from where it stood.
    public func resume() {
        state.withLock { s in
            if let f = s.frozen { s.offset = f.timeIntervalSinceNow; s.frozen = nil }
        }
    }
}

/// RFC 3339 timestamps in the canonical Kubernetes forms, without `DateFormatter` (not thread-safe,
/// slow) and with offsets and fractions accepted on input.
enum Timestamp {
    /// `Time`: `2026-01-02T03:04:05Z`.
    static func format(_ date: Date) -> String { render(date, micro: false) }

    /// `MicroTime`: `2026-01-02T03:04:05.123456Z`.
    static func formatMicro(_ date: Date) -> String { render(date, micro: true) }

    private static func render(_ date: Date, micro: Bool) -> String {
        let t = date.timeIntervalSince1970
        let seconds = Int64(t.rounded(.down))
        let date = CivilDate(dayNumber: Int(floorDiv(seconds, 86400)))
        let (y, mo, d) = (date.year, date.month, date.day)
        let rem = seconds - floorDiv(seconds, 86400) * 86400
        var s = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", y, mo, d, rem / 3600, (rem % 3600) / 60, rem % 60)
        if micro {
            let us = min(999_999, Int64(((t - Double(seconds)) * 1_000_000).rounded()))
            s += String(format: ".%06lld", us)
        }
        return s + "Z"
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm`, optional fraction). Nil when malformed.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard b.count >= 20, let y = num(0, 4), b[4] == 45, let mo = num(5, 2), b[7] == 45, let d = num(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32, let h = num(11, 2), b[13] == 58, let mi = num(14, 2),
              b[16] == 58, let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            if i == start { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58, let om = num(i + 4, 2) {
            offset = (oh * 3600 + om * 60) * (b[i] == 45 ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = Int64(CivilDate(year: y, month: mo, day: d).dayNumber)
        let total = days * 86400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
        return Date(timeIntervalSince1970: Double(total) + fraction)
    }

    /// Rewrites a timestamp string to its canonical form; nil when it does not parse.
    static func normalize(_ text: String, micro: Bool) -> String? {
        parse(text).map { micro ? formatMicro($0) : format($0) }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// kubectl's `duration.HumanDuration`, used for Table ages.
    static func human(_ interval: TimeInterval) -> String {
        let seconds = Int(interval)
        if seconds < -1 { return "<invalid>" }
        if seconds < 0 { return "0s" }
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 {
            let s = seconds % 60
            return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
        }
        if minutes < 180 { return "\(minutes)m" }
        let hours = seconds / 3600
        if hours < 8 {
            let m = minutes % 60
            return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
        }
        if hours < 48 { return "\(hours)h" }
        if hours < 24 * 8 {
            let h = hours % 24
            return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
        }
        if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
        if hours < 24 * 365 * 8 {
            let dy = (hours / 24) % 365
            return dy == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(dy)d"
        }
        return "\(hours / 24 / 365)y"
    }
}
