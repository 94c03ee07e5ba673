import CivilCalendar
import Foundation
import Synchronization

/// A parsed schedule: 5-field cron or a macro read in an IANA time zone, or `@every <duration>`.
///
/// Daylight-saving rules (chosen so a daily backup never silently skips a day):
/// - a wall-clock time skipped by a spring-forward change fires at the end of the gap
///   (02:30 in a 02:00→03:00 gap fires at 03:00);
/// - a wall-clock time that occurs twice (fall back) fires once, at its first occurrence,
///   unless the hour field is `*`, in which case every real occurrence fires.
/// `@every` slots are multiples of the interval since `anchor` (default the Unix epoch), so they
/// are the same on every controller restart and independent of the time zone.
public struct Schedule: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case cron(CronExpression)
        case every(TimeSpan)
    }

    public let kind: Kind
    public let timeZone: TimeZone
    public let anchor: Date
    public let text: String
    private let isUTC: Bool

    static let macros = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                         "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]

    /// Parsed schedules by (text, zone, anchor): every reconcile of a policy parses its schedule
    /// again, and most policies share a few schedules. Bounded: cleared when full.
    private static let parsed = Mutex<[ParseKey: Schedule]>([:])
    private struct ParseKey: Hashable { var text: String; var zone: String?; var anchor: Date }

    public init(parsing text: String, timeZone: String? = nil, anchor: Date = Date(timeIntervalSince1970: 0))
        throws(ScheduleError) {
        let key = ParseKey(text: text, zone: timeZone, anchor: anchor)
        if let known = Self.parsed.withLock({ $0[key] }) {
            self = known
            return
        }
        try self.init(uncached: text, timeZone: timeZone, anchor: anchor)
        let parsed = self
        Self.parsed.withLock { cache in
            if cache.count >= 512 { cache.removeAll() }
            cache[key] = parsed
        }
    }

    private init(uncached text: String, timeZone: String?, anchor: Date) throws(ScheduleError) {
        self.text = text
        self.anchor = anchor
        self.timeZone = try Schedule.timeZone(timeZone ?? "UTC")
        isUTC = self.timeZone.identifier == "UTC"
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("TZ=") || trimmed.hasPrefix("CRON_TZ=") {
            throw ScheduleError("must not start with TZ= or CRON_TZ=; set the timeZone field instead", field: nil)
        }
        if trimmed.hasPrefix("@every") {
            let rest = trimmed.dropFirst("@every".count).trimmingCharacters(in: .whitespaces)
            guard !rest.isEmpty else { throw ScheduleError("@every needs a duration, e.g. \"@every 6h\"", field: nil) }
            let span: TimeSpan
            do { span = try TimeSpan(parsing: rest) } catch {
                throw ScheduleError("@every duration \"\(rest)\" \(error.message)", field: nil)
            }
            guard span.seconds >= 60 else {
                throw ScheduleError("@every interval must be at least 1m (got \(span))", field: nil)
            }
            kind = .every(span)
        } else if trimmed.hasPrefix("@") {
            guard let expanded = Schedule.macros[trimmed.lowercased()] else {
                throw ScheduleError("unknown macro \"\(trimmed)\"; use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>", field: nil)
            }
            kind = .cron(try CronExpression(parsing: expanded))
        } else {
            kind = .cron(try CronExpression(parsing: trimmed))
        }
    }

    /// An IANA zone Foundation knows. `Local`, offsets such as `GMT+1` and lowercase aliases
    /// are rejected: the schedule must mean the same on every node.
    public static func timeZone(_ id: String) throws(ScheduleError) -> TimeZone {
        let hint = "use an IANA zone name such as UTC, Europe/Berlin or America/New_York"
        if id == "UTC" || id == "Etc/UTC" { return TimeZone(identifier: "UTC")! }
        guard !id.isEmpty, id.lowercased() != "local", !id.hasPrefix("GMT+"), !id.hasPrefix("GMT-"),
              !id.hasPrefix("UTC+"), !id.hasPrefix("UTC-"),
              let tz = TimeZone(identifier: id), tz.identifier == id
        else { throw ScheduleError("unknown time zone \"\(id)\"; \(hint)", field: nil) }
        return tz
    }

    /// The first fire time strictly after `date`; nil when the schedule never fires again
    /// (within 9 years, enough for 29 February).
    public func nextFireTime(after date: Date) -> Date? {
        switch kind {
        case .every(let span):
            let interval = Double(span.seconds)
            let n = ((date.timeIntervalSince(anchor)) / interval).rounded(.down) + 1
            return anchor.addingTimeInterval(n * interval)
        case .cron(let cron):
            return nextCron(cron, after: date)
        }
    }

    /// Fire times in `(after, through]`, at most `limit`.
    public func fireTimes(after start: Date, through end: Date, limit: Int = 100) -> [Date] {
        var out: [Date] = []
        var t = start
        while out.count < limit, let next = nextFireTime(after: t), next <= end {
            out.append(next)
            t = next
        }
        return out
    }

    /// The latest fire time in `(after, atOrBefore]`: the slot a controller should run now.
    public func mostRecentFireTime(after start: Date, atOrBefore now: Date) -> Date? {
        var last: Date? = nil
        var t = start
        var guardCount = 0
        while let next = nextFireTime(after: t), next <= now, guardCount < 1_000_000 {
            last = next
            t = next
            guardCount += 1
        }
        return last
    }

    // MARK: cron evaluation in wall-clock minutes

    private func offset(_ unix: Int64) -> Int64 {
        // UTC (the default) has no transitions: no need to ask Foundation for each candidate.
        if isUTC { return 0 }
        return Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(unix))))
    }

    private func nextCron(_ cron: CronExpression, after date: Date) -> Date? {
        let t = date.timeIntervalSince1970
        let tSec = Int64(t.rounded(.down))
        var best: Int64? = nil
        // Start 3 h of wall time back: in a fall-back fold, an earlier wall time can be a later instant.
        var local = (tSec + offset(tSec)) / 60 * 60 - 3 * 3600
        while let w = CivilMinutes.nextMatch(cron, onOrAfter: local) {
            if let b = best, w > b + offset(b) + 3 * 3600 { break }
            let instants = self.instants(ofWallSeconds: w)
            let candidates = cron.everyHour ? instants : Array(instants.prefix(1))
            for c in candidates where Double(c) > t { best = min(best ?? c, c) }
            local = w + 60
        }
        return best.map { Date(timeIntervalSince1970: Double($0)) }
    }

    /// The instants a wall-clock time denotes: one, two (fold), or the end of the gap.
    func instants(ofWallSeconds wall: Int64) -> [Int64] {
        let a = offset(wall - 86_400)
        let b = offset(wall + 86_400)
        var valid: [Int64] = []
        for o in Set([a, b]) where offset(wall - o) == o { valid.append(wall - o) }
        if !valid.isEmpty { return valid.sorted() }
        // Gap: the transition lies between wall - max and wall - min; find its first second.
        var lo = wall - max(a, b)
        var hi = wall - min(a, b)
        let before = offset(lo)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if offset(mid) == before { lo = mid } else { hi = mid }
        }
        return [hi]
    }
}

/// Proleptic Gregorian arithmetic on wall-clock seconds (local time read as if it were UTC).
enum CivilMinutes {
    /// The first wall-clock minute at or after `start` (seconds, a multiple of 60) that matches.
    static func nextMatch(_ cron: CronExpression, onOrAfter start: Int64) -> Int64? {
        let dayNumber = Int((start - ((start % 86_400) + 86_400) % 86_400) / 86_400)
        let first = CivilDate(dayNumber: dayNumber)
        var (y, mo, d) = (first.year, first.month, first.day)
        let secondOfDay = Int(((start % 86_400) + 86_400) % 86_400)
        var h = secondOfDay / 3600
        var mi = secondOfDay / 60 % 60
        let lastYear = y + 9
        while y <= lastYear {
            if !cron.months.contains(mo) || d > CivilDate.daysIn(year: y, month: mo) {
                // Straight to the next allowed month (next year's first when none is left).
                if let month = cron.months.next(atOrAfter: mo + 1), month <= 12 { mo = month } else { mo = cron.months.min() ?? 1; y += 1 }
                d = 1; h = 0; mi = 0
                continue
            }
            let dn = CivilDate(year: y, month: mo, day: d).dayNumber
            let weekday = ((dn + 4) % 7 + 7) % 7
            if !cron.matchesDay(day: d, weekday: weekday) {
                d += 1; h = 0; mi = 0
                continue
            }
            guard let hour = cron.hours.next(atOrAfter: h) else {
                d += 1; h = 0; mi = 0
                continue
            }
            if hour != h { h = hour; mi = 0 }
            guard let minute = cron.minutes.next(atOrAfter: mi) else {
                h += 1; mi = 0
                if h > 23 { d += 1; h = 0 }
                continue
            }
            mi = minute
            return Int64(dn) * 86_400 + Int64(h * 3600 + mi * 60)
        }
        return nil
    }
}
