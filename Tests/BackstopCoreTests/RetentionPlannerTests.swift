import BackstopCore
import Foundation
import Testing

@Suite("Retention planner")
struct RetentionPlannerTests {
    static let utc = TimeZone(identifier: "UTC")!

    static func date(_ text: String) -> Date { UTCTimestamp.parseRFC3339(text)! }

    /// One artifact per day at `hour`:00 UTC from `from` through `through` (inclusive).
    static func daily(from: String, through: String, hour: Int = 2) -> [RetentionItem] {
        var items: [RetentionItem] = []
        var day = date("\(from)T00:00:00Z").addingTimeInterval(Double(hour * 3600))
        let end = date("\(through)T23:59:59Z")
        while day <= end {
            items.append(RetentionItem(id: UTCTimestamp.compact(day), createdAt: day))
            day.addTimeInterval(86400)
        }
        return items
    }

    static func kept(_ plan: RetentionPlan) -> [String] {
        plan.decisions.filter(\.keep).map { String($0.id.prefix(8)) }
    }

    @Test("GFS over three years of dailies: keepDaily 7, keepWeekly 4, keepMonthly 3")
    func gfsBoundaries() {
        let items = Self.daily(from: "2023-01-01", through: "2026-03-15")
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepDaily: 7, keepWeekly: 4, keepMonthly: 3),
                                         now: Self.date("2026-03-15T03:00:00Z"))
        // 2026-03-15 is a Sunday: ISO weeks end on Sundays, months on their last day.
        #expect(Self.kept(plan) == ["20260315", "20260314", "20260313", "20260312", "20260311", "20260310", "20260309",
                                    "20260308", "20260301", "20260228", "20260222", "20260131"])
        #expect(plan.deleteCount == items.count - 12)
        let feb22 = plan.decisions.first { $0.id.hasPrefix("20260222") }!
        #expect(plan.reason(for: feb22) == "keepWeekly 2026-W08 (#4 of 4)")
        let mar15 = plan.decisions.first!
        #expect(plan.reason(for: mar15).contains("keepDaily 2026-03-15 (#1 of 7)"))
        #expect(plan.reason(for: mar15).contains("keepMonthly 2026-03 (#1 of 3)"))
        let old = plan.decisions.last!
        #expect(!old.keep && plan.reason(for: old).hasPrefix("no rule keeps it"))
    }

    @Test("keepLast keeps the N newest whatever the input order")
    func keepLastShuffled() {
        var items = Self.daily(from: "2026-01-01", through: "2026-01-20")
        var rng = SplitMix(seed: 7)
        items.shuffle(using: &rng)
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepLast: 3), now: Self.date("2026-02-01T00:00:00Z"))
        #expect(Self.kept(plan) == ["20260120", "20260119", "20260118"])
        #expect(plan.decisions.map(\.index).sorted() == Array(0..<items.count))
    }

    @Test("missed days do not shorten keepDaily: the 7 newest days that have a backup")
    func gapsInDailies() {
        let items = Self.daily(from: "2026-01-01", through: "2026-01-31").enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepDaily: 7), now: Self.date("2026-02-01T00:00:00Z"))
        #expect(Self.kept(plan) == ["20260131", "20260128", "20260125", "20260122", "20260119", "20260116", "20260113"])
    }

    @Test("daily buckets follow the policy's time zone, not UTC", arguments: [
        ("UTC", 1), ("America/New_York", 2), ("Asia/Tokyo", 2),
    ])
    func timeZoneBuckets(zone: String, localDays: Int) {
        // Both on UTC day 2026-01-10. New York: Jan 9 20:00 and Jan 10 15:00.
        // Tokyo: Jan 10 10:00 and Jan 11 05:00.
        let items = [RetentionItem(id: "a-0100", createdAt: Self.date("2026-01-10T01:00:00Z")),
                     RetentionItem(id: "b-2000", createdAt: Self.date("2026-01-10T20:00:00Z"))]
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepDaily: 2), now: Self.date("2026-01-12T00:00:00Z"),
                                         timeZone: TimeZone(identifier: zone)!)
        // One local day means one bucket: only its newest artifact is kept, even with keepDaily 2.
        #expect(plan.keptCount == localDays)
        #expect(plan.decisions[0].keep && plan.decisions[0].id == "b-2000")
    }

    @Test("DST: local midnight moves by an hour after the spring-forward transition")
    func daylightSaving() {
        // New York switched to EDT (UTC-4) on 2026-03-08. 03:30Z on Mar 9 is 23:30 EDT Mar 8,
        // 04:30Z is 00:30 EDT Mar 9: two days. With a stale EST offset both would be Mar 8.
        let items = [RetentionItem(id: "x", createdAt: Self.date("2026-03-09T03:30:00Z")),
                     RetentionItem(id: "y", createdAt: Self.date("2026-03-09T04:30:00Z")),
                     RetentionItem(id: "w", createdAt: Self.date("2026-01-05T12:00:00Z"))]
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepDaily: 3), now: Self.date("2026-03-10T00:00:00Z"),
                                         timeZone: TimeZone(identifier: "America/New_York")!)
        #expect(plan.keptCount == 3)
        #expect(plan.reason(for: plan.decisions[0]) == "keepDaily 2026-03-09 (#1 of 3)")
        #expect(plan.reason(for: plan.decisions[1]) == "keepDaily 2026-03-08 (#2 of 3)")
    }

    @Test("maxAge overrides count rules; pinned and keepForever override maxAge")
    func maxAgeOverrides() {
        var items = Self.daily(from: "2025-01-01", through: "2026-03-15")
        items[10].pinned = true  // 2025-01-11
        let now = Self.date("2026-03-15T03:00:00Z")
        let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepMonthly: 24, maxAge: try! RetentionAge(parsing: "90d")), now: now)
        let kept = Self.kept(plan)
        #expect(kept == ["20260315", "20260228", "20260131", "20251231", "20250111"])
        let expiredMonthly = plan.decisions.first { $0.id.hasPrefix("20251130") }!
        #expect(!expiredMonthly.keep && expiredMonthly.expired)
        #expect(plan.reason(for: expiredMonthly).contains("overrides keepMonthly 2025-11"))
        #expect(plan.reason(for: plan.decisions.first { $0.id.hasPrefix("20250111") }!).contains("pinned"))

        let forever = RetentionPlanner.plan(items, rules: RetentionRules(keepLast: 1, maxAge: RetentionAge(seconds: 86400), keepForever: true), now: now)
        #expect(forever.deleteCount == 0)
    }

    @Test("maxAge alone keeps what is younger; no rules keeps everything")
    func maxAgeAloneAndNoRules() {
        let items = Self.daily(from: "2026-01-01", through: "2026-01-31")
        let now = Self.date("2026-01-31T12:00:00Z")
        let young = RetentionPlanner.plan(items, rules: RetentionRules(maxAge: try! RetentionAge(parsing: "7d")), now: now)
        #expect(young.keptCount == 7)  // Jan 25 02:00 … Jan 31 02:00; Jan 24 02:00 is 7d10h old
        #expect(young.reason(for: young.decisions[0]) == "younger than maxAge 7d")
        let none = RetentionPlanner.plan(items, rules: RetentionRules(), now: now)
        #expect(none.deleteCount == 0)
        #expect(none.reason(for: none.decisions[0]).contains("no retention rules"))
    }

    @Test("agrees with a Calendar-based reference over random artifacts and zones",
          arguments: ["UTC", "Europe/Berlin", "America/Los_Angeles", "Australia/Sydney", "Asia/Kolkata"])
    func matchesReference(zone: String) {
        let tz = TimeZone(identifier: zone)!
        var rng = SplitMix(seed: UInt64(zone.utf8.count * 7919))
        let start = Self.date("2024-01-01T00:00:00Z").timeIntervalSince1970
        let items = (0..<1500).map { i in
            RetentionItem(id: "i\(i)", createdAt: Date(timeIntervalSince1970: start + Double.random(in: 0..<(800 * 86400), using: &rng).rounded()))
        }
        let rules = RetentionRules(keepLast: 2, keepDaily: 10, keepWeekly: 8, keepMonthly: 6)
        let plan = RetentionPlanner.plan(items, rules: rules, now: Date(timeIntervalSince1970: start + 801 * 86400), timeZone: tz)
        #expect(Set(plan.decisions.filter(\.keep).map(\.id)) == Self.reference(items, rules: rules, tz: tz))
    }

    /// Straightforward reimplementation with Foundation's Calendar.
    static func reference(_ items: [RetentionItem], rules: RetentionRules, tz: TimeZone) -> Set<String> {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = tz
        let sorted = items.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        var keep = Set(sorted.prefix(rules.keepLast ?? 0).map(\.id))
        func bucketed(_ count: Int, _ key: (Date) -> [Int]) {
            var seen: [[Int]] = []
            for item in sorted {
                let k = key(item.createdAt)
                if seen.last != k {
                    seen.append(k)
                    if seen.count <= count { keep.insert(item.id) }
                }
            }
        }
        bucketed(rules.keepDaily ?? 0) { let c = calendar.dateComponents([.year, .month, .day], from: $0); return [c.year!, c.month!, c.day!] }
        bucketed(rules.keepWeekly ?? 0) { let c = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: $0); return [c.yearForWeekOfYear!, c.weekOfYear!] }
        bucketed(rules.keepMonthly ?? 0) { let c = calendar.dateComponents([.year, .month], from: $0); return [c.year!, c.month!] }
        return keep
    }

    @Test("100k artifacts are planned quickly (release goal 50 ms; generous bound in debug)")
    func scale() {
        let start = Self.date("2016-01-01T00:00:00Z").timeIntervalSince1970
        let items = (0..<100_000).map { RetentionItem(id: "a\($0)", createdAt: Date(timeIntervalSince1970: start + Double($0) * 3600)) }
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            let plan = RetentionPlanner.plan(items, rules: RetentionRules(keepLast: 5, keepDaily: 7, keepWeekly: 4, keepMonthly: 12),
                                             now: Date(timeIntervalSince1970: start + 100_001 * 3600), timeZone: TimeZone(identifier: "Europe/Berlin")!)
            #expect(plan.keptCount <= 28 && plan.keptCount >= 12)
        }
        #expect(elapsed < .seconds(3))
    }

    @Test("durations parse and print", arguments: [("90d", Int64(7_776_000), "90d"), ("26h", 93_600, "26h"), ("2w", 1_209_600, "14d"),
                                                   ("1d12h", 129_600, "36h"), ("45s", 45, "45s")])
    func durations(text: String, seconds: Int64, printed: String) throws {
        let age = try RetentionAge(parsing: text)
        #expect(age.seconds == seconds)
        #expect(age.description == printed)
    }

    @Test("bad durations are refused", arguments: ["", "90", "d", "9x", "99999999999999999999d"])
    func badDurations(text: String) {
        #expect(throws: (any Error).self) { try RetentionAge(parsing: text) }
    }
}

/// Deterministic RNG for reproducible tables.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
