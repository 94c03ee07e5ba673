import BackstopCore
import Controllers
import Foundation
import Testing

/// The schedule / run-now / suspend / startingDeadline decision shared by the scheduled kinds,
/// as a table: input → (due slot, skipped, missed, run-now, next).
@Suite struct SlotPlannerTests {
    /// `hh:mm[:ss]` on 2026-05-28, UTC.
    static func at(_ text: String) -> Date {
        let parts = text.split(separator: ":").map { Double($0)! }
        return Date(timeIntervalSince1970: 1_779_926_400 + parts[0] * 3600 + parts[1] * 60 + (parts.count > 2 ? parts[2] : 0))
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var schedule = "0 * * * *"
        var suspended = false
        var lastSlot: String?
        var created: String? = "09:20"
        var runNow: String?
        var answered: String?
        var deadline: Int64?
        var now: String
        // Expected:
        var start: String?
        var missed: String?
        var skipped = 0
        var wantsRunNow: String?
        var next: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "new object between slots: nothing due", now: "09:30", next: "10:00"),
        Case(name: "new object at its first slot", now: "10:00:30", start: "10:00", next: "11:00"),
        Case(name: "a slot exactly now is due", lastSlot: "10:00", now: "11:00", start: "11:00", next: "12:00"),
        Case(name: "between slots after a run", lastSlot: "11:00", now: "11:30", next: "12:00"),
        Case(name: "after downtime only the latest slot runs", lastSlot: "10:00", now: "13:00:10", start: "13:00",
             skipped: 2, next: "14:00"),
        Case(name: "without a recorded slot, earlier slots since creation are not skipped ones", created: "07:20",
             now: "10:30", start: "10:00", next: "11:00"),
        Case(name: "within the starting deadline", lastSlot: "10:00", deadline: 300, now: "11:04:59", start: "11:00", next: "12:00"),
        Case(name: "past the starting deadline: missed, not run", lastSlot: "10:00", deadline: 300, now: "11:05:01",
             missed: "11:00", next: "12:00"),
        Case(name: "missed after downtime counts the skipped slots", lastSlot: "08:00", deadline: 60, now: "10:30",
             missed: "10:00", skipped: 1, next: "11:00"),
        Case(name: "suspended: no slot and no next", suspended: true, lastSlot: "10:00", now: "12:30"),
        Case(name: "suspended does not stop run-now", suspended: true, lastSlot: "10:00", runNow: "a", now: "12:30",
             wantsRunNow: "a"),
        Case(name: "an answered run-now value does not run again", lastSlot: "12:00", runNow: "a", answered: "a", now: "12:30",
             next: "13:00"),
        Case(name: "a new run-now value runs", lastSlot: "12:00", runNow: "b", answered: "a", now: "12:30", wantsRunNow: "b",
             next: "13:00"),
        Case(name: "an empty run-now value is no request", lastSlot: "12:00", runNow: "", now: "12:30", next: "13:00"),
        Case(name: "run-now and a due slot together", lastSlot: "11:00", runNow: "x", now: "12:00:01", start: "12:00",
             wantsRunNow: "x", next: "13:00"),
        Case(name: "@every schedules count from the anchor", schedule: "@every 30m", lastSlot: "10:00", now: "10:45",
             start: "10:30", next: "11:00"),
    ]

    @Test(arguments: cases)
    func decide(_ c: Case) throws {
        let schedule = try Schedule(parsing: c.schedule, timeZone: "UTC")
        let d = SlotPlanner.decide(SlotPlanner.Input(
            schedule: schedule, suspended: c.suspended, lastSlot: c.lastSlot.map(Self.at), created: c.created.map(Self.at),
            runNow: c.runNow, answeredRunNow: c.answered, startingDeadlineSeconds: c.deadline, now: Self.at(c.now)))
        switch d.due {
        case .start(let slot, let skipped)?:
            #expect(c.start.map(Self.at) == slot)
            #expect(c.missed == nil)
            #expect(skipped == c.skipped)
        case .missed(let slot, let skipped, let deadline)?:
            #expect(c.missed.map(Self.at) == slot)
            #expect(c.start == nil)
            #expect(skipped == c.skipped)
            #expect(deadline == c.deadline)
        case nil:
            #expect(c.start == nil && c.missed == nil)
        }
        #expect(d.runNow == c.wantsRunNow)
        #expect(d.next == c.next.map(Self.at))
        #expect(d.wantsRun == (c.start != nil || c.missed != nil || c.wantsRunNow != nil))
    }
}
