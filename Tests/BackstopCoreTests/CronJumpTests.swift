import BackstopCore
import Foundation
import Testing

/// The cron search jumps straight to the next allowed month, hour and minute (bit masks); these
/// tests hold it to a minute-by-minute walk of the same fields, which cannot skip anything.
@Suite struct CronJumpTests {
    /// The first UTC minute after `date` that every field allows: each day checked, and every
    /// minute of an allowed day (a day the day fields refuse has no allowed minute).
    static func walk(_ cron: CronExpression, after date: Date, years: Int = 9) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let firstDay = (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
        for dayIndex in 0..<(years * 366) {
            let dayStart = firstDay + Double(dayIndex) * 86_400
            let c = calendar.dateComponents([.month, .day, .weekday], from: Date(timeIntervalSince1970: dayStart))
            guard cron.months.contains(c.month!), cron.matchesDay(day: c.day!, weekday: c.weekday! - 1) else { continue }
            for minute in 0..<1440 where cron.hours.contains(minute / 60) && cron.minutes.contains(minute % 60) {
                let t = dayStart + Double(minute * 60)
                if t > date.timeIntervalSince1970 { return Date(timeIntervalSince1970: t) }
            }
        }
        return nil
    }

    static let expressions = ["0 3 1 1 *", "*/7 */5 * * *", "15,45 2-4 * 2,6,11 *", "0 0 29 2 *", "30 23 31 * *",
                              "5 4 * * 0", "0 12 13 * 5", "59 23 * 12 *", "0 */6 1-7 * 1", "* * * * *", "0 0 1 */3 *"]

    @Test(arguments: expressions)
    func theJumpsFindTheSameMinuteAsAWalk(_ text: String) throws {
        let schedule = try Schedule(parsing: text)
        guard case .cron(let cron) = schedule.kind else { Issue.record("not a cron schedule"); return }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<40 {
            // Any second from 2026 to the end of 2028.
            let after = Date(timeIntervalSince1970: Double.random(in: 1_767_225_600...1_861_920_000, using: &generator))
            #expect(schedule.nextFireTime(after: after) == Self.walk(cron, after: after), "\(text) after \(after)")
        }
    }

    @Test func fieldBitsAnswerMembershipAndTheNextValue() {
        let field = CronField([0, 5, 59])
        #expect(field.contains(5) && !field.contains(6) && !field.contains(64) && !field.contains(-1))
        #expect(field.next(atOrAfter: 1) == 5)
        #expect(field.next(atOrAfter: 5) == 5)
        #expect(field.next(atOrAfter: 6) == 59)
        #expect(field.next(atOrAfter: 60) == nil)
        #expect(field.min() == 0)
        #expect(CronField().min() == nil && CronField().next(atOrAfter: 0) == nil)
        var copy = field
        #expect(copy.remove(5) == 5 && copy.remove(5) == nil && copy.values == [0, 59])
    }

    @Test func aParsedScheduleIsTheSameWhenParsedAgain() throws {
        let a = try Schedule(parsing: "0 3 1 1 *", timeZone: "Europe/Berlin")
        let b = try Schedule(parsing: "0 3 1 1 *", timeZone: "Europe/Berlin")
        #expect(a == b)
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "0 3 1 1", timeZone: "Europe/Berlin") }
        // An invalid zone is not cached as valid.
        #expect(throws: ScheduleError.self) { try Schedule(parsing: "0 3 1 1 *", timeZone: "Mars/Olympus") }
    }
}
