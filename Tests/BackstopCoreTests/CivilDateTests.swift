import CivilCalendar
import Testing

/// The one copy of the calendar arithmetic that KubeModel, BackstopCore and Postgres share:
/// day numbers both ways (checked against Python's `datetime`), month lengths, and that every
/// day of a span round-trips.
@Suite struct CivilDateTests {
    @Test(arguments: [(0, "1970-01-01"), (-1, "1969-12-31"), (11016, "2000-02-29"), (-25508, "1900-03-01"),
                      (20601, "2026-05-28"), (-719162, "0001-01-01"), (2932896, "9999-12-31")])
    func dayNumbers(_ day: Int, _ text: String) {
        let date = CivilDate(dayNumber: day)
        #expect(date.description == text)
        #expect(date.dayNumber == day)
    }

    @Test(arguments: [(2024, 2, 29), (2023, 2, 28), (1900, 2, 28), (2000, 2, 29), (2026, 4, 30), (2026, 12, 31)])
    func monthLengths(_ year: Int, _ month: Int, _ days: Int) {
        #expect(CivilDate.daysIn(year: year, month: month) == days)
    }

    @Test func everyDayOfFourCenturiesRoundTrips() {
        var previous = CivilDate(dayNumber: -146_098)
        for day in -146_097...146_097 {
            let date = CivilDate(dayNumber: day)
            guard date > previous, date.day <= CivilDate.daysIn(year: date.year, month: date.month), date.dayNumber == day else {
                Issue.record("day \(day): \(date) after \(previous), back as \(date.dayNumber)")
                return
            }
            previous = date
        }
    }
}
