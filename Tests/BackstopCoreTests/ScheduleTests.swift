import BackstopCore
import Foundation
import KubeModel
import Testing

private func t(_ s: String) -> Date { Time(rfc3339: s)!.date }
private func iso(_ d: Date?) -> String { d.map { Time($0).rfc3339 } ?? "nil" }

@Suite("Schedule")
struct ScheduleTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var schedule: String
        var zone: String
        var after: String
        var expected: String
        var testDescription: String { "\(schedule) [\(zone)] after \(after)" }
    }

    static let cases: [Case] = [
        Case(schedule: "0 2 * * *", zone: "UTC", after: "2026-02-08T03:00:00Z", expected: "2026-02-09T02:00:00Z"),
        Case(schedule: "0 2 * * *", zone: "UTC", after: "2026-02-08T01:59:59Z", expected: "2026-02-08T02:00:00Z"),
        Case(schedule: "0 2 * * *", zone: "UTC", after: "2026-02-08T02:00:00Z", expected: "2026-02-09T02:00:00Z"),
        Case(schedule: "@daily", zone: "UTC", after: "2026-12-31T23:59:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(schedule: "@weekly", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-02-15T00:00:00Z"),
        Case(schedule: "@hourly", zone: "UTC", after: "2026-02-08T10:00:00Z", expected: "2026-02-08T11:00:00Z"),
        Case(schedule: "@monthly", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-03-01T00:00:00Z"),
        Case(schedule: "@yearly", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2027-01-01T00:00:00Z"),
        Case(schedule: "30 3 * * *", zone: "UTC", after: "2026-02-08T03:30:00Z", expected: "2026-02-09T03:30:00Z"),
        // Month ends and 29 February.
        Case(schedule: "0 0 31 * *", zone: "UTC", after: "2026-04-01T00:00:00Z", expected: "2026-05-31T00:00:00Z"),
        Case(schedule: "0 0 29 2 *", zone: "UTC", after: "2026-01-01T00:00:00Z", expected: "2028-02-29T00:00:00Z"),
        Case(schedule: "0 0 29 2 *", zone: "UTC", after: "2028-02-29T00:00:00Z", expected: "2032-02-29T00:00:00Z"),
        Case(schedule: "0 12 30 * *", zone: "UTC", after: "2026-02-01T00:00:00Z", expected: "2026-03-30T12:00:00Z"),
        // Steps, ranges, names, day-of-month OR day-of-week.
        Case(schedule: "0 4 1 */3 *", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-04-01T04:00:00Z"),
        Case(schedule: "*/15 9-17 * * MON-FRI", zone: "UTC", after: "2026-02-06T17:45:00Z", expected: "2026-02-09T09:00:00Z"),
        Case(schedule: "0 0 13 * 5", zone: "UTC", after: "2026-02-01T00:00:00Z", expected: "2026-02-06T00:00:00Z"),
        Case(schedule: "0 0 * * 7", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-02-15T00:00:00Z"),
        Case(schedule: "0 9 * jan,jul sun", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-07-05T09:00:00Z"),
        Case(schedule: "5/20 * * * *", zone: "UTC", after: "2026-02-08T10:45:00Z", expected: "2026-02-08T11:05:00Z"),
        Case(schedule: "0 */6 * * *", zone: "UTC", after: "2026-02-08T07:00:00Z", expected: "2026-02-08T12:00:00Z"),
        // Europe/Berlin: spring forward 2026-03-29 01:00Z (02:00 CET → 03:00 CEST).
        Case(schedule: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z", expected: "2026-03-29T01:00:00Z"),
        Case(schedule: "30 2 * * *", zone: "Europe/Berlin", after: "2026-03-29T01:00:00Z", expected: "2026-03-30T00:30:00Z"),
        Case(schedule: "0 2 * * *", zone: "Europe/Berlin", after: "2026-02-08T00:00:00Z", expected: "2026-02-08T01:00:00Z"),
        Case(schedule: "0 3 * * *", zone: "Europe/Berlin", after: "2026-03-28T12:00:00Z", expected: "2026-03-29T01:00:00Z"),
        // Europe/Berlin: fall back 2026-10-25 01:00Z (03:00 CEST → 02:00 CET): fixed hour fires once.
        Case(schedule: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-24T12:00:00Z", expected: "2026-10-25T00:30:00Z"),
        Case(schedule: "30 2 * * *", zone: "Europe/Berlin", after: "2026-10-25T00:30:00Z", expected: "2026-10-26T01:30:00Z"),
        // Hour `*`: every real occurrence in the repeated hour.
        Case(schedule: "*/30 * * * *", zone: "Europe/Berlin", after: "2026-10-25T00:30:00Z", expected: "2026-10-25T01:00:00Z"),
        Case(schedule: "*/30 * * * *", zone: "Europe/Berlin", after: "2026-10-25T01:00:00Z", expected: "2026-10-25T01:30:00Z"),
        Case(schedule: "*/30 * * * *", zone: "Europe/Berlin", after: "2026-10-25T00:00:00Z", expected: "2026-10-25T00:30:00Z"),
        // America/New_York: spring forward 2026-03-08 07:00Z, fall back 2026-11-01 06:00Z.
        Case(schedule: "0 2 * * *", zone: "America/New_York", after: "2026-03-07T12:00:00Z", expected: "2026-03-08T07:00:00Z"),
        Case(schedule: "0 2 * * *", zone: "America/New_York", after: "2026-03-08T07:00:00Z", expected: "2026-03-09T06:00:00Z"),
        Case(schedule: "30 1 * * *", zone: "America/New_York", after: "2026-10-31T12:00:00Z", expected: "2026-11-01T05:30:00Z"),
        Case(schedule: "30 1 * * *", zone: "America/New_York", after: "2026-11-01T05:30:00Z", expected: "2026-11-02T06:30:00Z"),
        Case(schedule: "0 * * * *", zone: "America/New_York", after: "2026-11-01T05:00:00Z", expected: "2026-11-01T06:00:00Z"),
        // @every: multiples of the interval since the epoch, whatever the zone.
        Case(schedule: "@every 6h", zone: "UTC", after: "2026-02-08T07:00:00Z", expected: "2026-02-08T12:00:00Z"),
        Case(schedule: "@every 6h", zone: "Europe/Berlin", after: "2026-02-08T12:00:00Z", expected: "2026-02-08T18:00:00Z"),
        Case(schedule: "@every 90m", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-02-08T01:30:00Z"),
        Case(schedule: "@every 720h", zone: "UTC", after: "2026-02-08T00:00:00Z", expected: "2026-03-08T00:00:00Z"),
    ]

    @Test(arguments: cases)
    func nextFire(_ c: Case) throws {
        let s = try Schedule(parsing: c.schedule, timeZone: c.zone)
        #expect(iso(s.nextFireTime(after: t(c.after))) == c.expected)
    }

    @Test func fireTimesWalkMonthEnds() throws {
        let s = try Schedule(parsing: "0 0 31 * *")
        let times = s.fireTimes(after: t("2026-01-01T00:00:00Z"), through: t("2026-12-31T23:59:59Z")).map(iso)
        #expect(times == ["2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
                          "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z"])
    }

    @Test func mostRecentSlot() throws {
        let s = try Schedule(parsing: "0 */6 * * *")
        #expect(iso(s.mostRecentFireTime(after: t("2026-02-08T00:00:00Z"), atOrBefore: t("2026-02-08T13:10:00Z")))
                == "2026-02-08T12:00:00Z")
        #expect(s.mostRecentFireTime(after: t("2026-02-08T12:00:00Z"), atOrBefore: t("2026-02-08T13:10:00Z")) == nil)
    }

    @Test func anchoredEvery() throws {
        let s = try Schedule(parsing: "@every 1h", anchor: t("2026-02-08T00:20:00Z"))
        #expect(iso(s.nextFireTime(after: t("2026-02-08T05:00:00Z"))) == "2026-02-08T05:20:00Z")
    }

    @Test(arguments: [
        ("60 * * * *", "minute value 60 is out of range 0-59"),
        ("* * *", "needs 5 fields"),
        ("* * * * * *", "needs 5 fields"),
        ("@reboot", "unknown macro"),
        ("TZ=UTC 0 2 * * *", "set the timeZone field"),
        ("CRON_TZ=Europe/Berlin 0 2 * * *", "set the timeZone field"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6 *", "never fires"),
        ("@every 30s", "at least 1m"),
        ("@every", "needs a duration"),
        ("@every 6x", "unknown unit"),
        ("*/0 * * * *", "positive number"),
        ("5-1 * * * *", "goes backwards"),
        ("0 24 * * *", "hour value 24"),
        ("0 0 0 * *", "day-of-month value 0"),
        ("0 0 * 13 *", "month value 13"),
        ("0 0 * * 8", "day-of-week value 8"),
        ("0 0 * FOO *", "not a number"),
        ("0,,5 * * * *", "empty list item"),
    ])
    func invalidSchedules(_ text: String, _ fragment: String) {
        do {
            _ = try Schedule(parsing: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }

    @Test(arguments: ["UTC", "Etc/UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
    func knownZones(_ zone: String) throws { _ = try Schedule.timeZone(zone) }

    @Test(arguments: ["Local", "local", "GMT+1", "UTC+2", "Mars/Base", "europe/berlin", ""])
    func unknownZones(_ zone: String) {
        #expect(throws: ScheduleError.self) { try Schedule.timeZone(zone) }
    }
}

@Suite("TimeSpan")
struct TimeSpanTests {
    @Test(arguments: [("90d", Int64(7_776_000)), ("26h", 93_600), ("30m", 1_800), ("1h30m", 5_400), ("2w", 1_209_600),
                      ("45s", 45), ("1d12h", 129_600), ("0s", 0), ("365d", 31_536_000)])
    func parses(_ text: String, _ seconds: Int64) throws {
        let span = try TimeSpan(parsing: text)
        #expect(span.seconds == seconds)
        #expect(try TimeSpan(parsing: span.description).seconds == seconds)
    }

    @Test(arguments: [("", "empty"), ("30", "without a unit"), ("h", "needs a number"), ("1.5h", "unknown unit"),
                      ("1m1h", "largest unit first"), ("1h1h", "largest unit first"), ("10x", "unknown unit"),
                      ("1 h", "spaces"), ("99999999999999d", "too large")])
    func rejects(_ text: String, _ fragment: String) {
        do {
            _ = try TimeSpan(parsing: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.message.contains(fragment), "\(error.message)")
        }
    }
}
