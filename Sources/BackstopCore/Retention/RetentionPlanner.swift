import CivilCalendar
import Foundation

/// One artifact as retention sees it (from its manifest).
public struct RetentionItem: Sendable, Hashable {
    public var id: String
    public var createdAt: Date
    public var pinned: Bool

    public init(id: String, createdAt: Date, pinned: Bool = false) {
        self.id = id
        self.createdAt = createdAt
        self.pinned = pinned
    }
}

/// Why an artifact is kept; several can hold at once. Ranks are 1-based (0 = rule did not
/// select it), so a decision carries no heap allocation.
public struct KeepReasons: Sendable, Hashable {
    public var keepForever = false
    public var pinned = false
    public var lastRank: Int32 = 0
    public var dailyRank: Int32 = 0
    public var weeklyRank: Int32 = 0
    public var monthlyRank: Int32 = 0
    /// Only maxAge is configured and the artifact is younger.
    public var withinMaxAge = false
    /// No rule is configured at all: everything is kept.
    public var noRules = false

    var selectedByCountRule: Bool { lastRank > 0 || dailyRank > 0 || weeklyRank > 0 || monthlyRank > 0 }
    var protected: Bool { keepForever || pinned }
}

public struct RetentionDecision: Sendable, Hashable {
    /// Position in the planner's input.
    public var index: Int
    public var id: String
    public var createdAt: Date
    public var keep: Bool
    public var reasons: KeepReasons
    /// Older than maxAge. Deleted unless protected (pinned / keepForever).
    public var expired: Bool
    /// Days since 1970-01-01 in the plan's time zone (for bucket labels).
    public var localDay: Int32
}

/// The planner's answer: every artifact once, newest first, each with its reason.
public struct RetentionPlan: Sendable {
    public let decisions: [RetentionDecision]
    public let rules: RetentionRules
    public let now: Date
    public let timeZone: TimeZone

    public var keptCount: Int { decisions.reduce(0) { $0 + ($1.keep ? 1 : 0) } }
    public var deleteCount: Int { decisions.count - keptCount }
    public var toDelete: [RetentionDecision] { decisions.filter { !$0.keep } }

    /// A sentence an SRE can read: `keep: keepDaily 2026-01-27 (#2 of 7); keepWeekly 2026-W05 (#1 of 4)`.
    public func reason(for decision: RetentionDecision) -> String {
        let kept = keepReasons(decision)
        if decision.keep { return kept.joined(separator: "; ") }
        if decision.expired {
            let age = RetentionAge(seconds: Int64(now.timeIntervalSince(decision.createdAt)) / 86400 * 86400)
            let limit = rules.maxAge.map(\.description) ?? "?"
            let overridden = kept.isEmpty ? "" : " (overrides \(kept.joined(separator: ", ")))"
            return "maxAge: older than \(limit) (age \(age.seconds >= 86400 ? age.description : "<1d"))\(overridden)"
        }
        return "no rule keeps it (\(rules.summary))"
    }

    func keepReasons(_ d: RetentionDecision) -> [String] {
        var out: [String] = []
        let r = d.reasons
        if r.keepForever { out.append("keepForever") }
        if r.pinned { out.append("pinned") }
        if r.lastRank > 0 { out.append("keepLast #\(r.lastRank) of \(rules.last)") }
        let day = Int(d.localDay)
        if r.dailyRank > 0 { out.append("keepDaily \(CivilDate(dayNumber: day)) (#\(r.dailyRank) of \(rules.daily))") }
        if r.weeklyRank > 0 {
            let (year, week) = CivilDate.isoWeek(dayNumber: day)
            out.append("keepWeekly \(year)-W\(CivilDate.pad(week, 2)) (#\(r.weeklyRank) of \(rules.weekly))")
        }
        if r.monthlyRank > 0 {
            let civil = CivilDate(dayNumber: day)
            out.append("keepMonthly \(civil.year)-\(CivilDate.pad(civil.month, 2)) (#\(r.monthlyRank) of \(rules.monthly))")
        }
        if r.withinMaxAge { out.append("younger than maxAge \(rules.maxAge?.description ?? "")") }
        if r.noRules { out.append("no retention rules: everything is kept") }
        return out
    }
}

/// Grandfather-father-son retention as a pure function. Buckets (day, ISO week starting
/// Monday, month) are taken in `timeZone`, so "daily" means the user's days, not UTC's.
/// In each bucket the newest artifact represents it; the N newest buckets that contain an
/// artifact are kept (restic's semantics: a missed day does not shorten the history).
public enum RetentionPlanner {
    public static func plan(_ items: [RetentionItem], rules: RetentionRules, now: Date,
                            timeZone: TimeZone = TimeZone(identifier: "UTC")!) -> RetentionPlan {
        let order = newestFirst(items)
        let days = localDays(items, order: order, timeZone: timeZone)
        let nowSeconds = now.timeIntervalSince1970
        let maxAge = rules.maxAge.map { Double($0.seconds) }

        var decisions: [RetentionDecision] = []
        decisions.reserveCapacity(items.count)
        var daily: Int32 = 0, weekly: Int32 = 0, monthly: Int32 = 0
        var lastDay = Int.min, lastWeek = Int.min, lastMonth = Int.min
        for (position, index) in order.enumerated() {
            let item = items[index]
            let day = days[position]
            var reasons = KeepReasons()
            reasons.keepForever = rules.forever
            reasons.pinned = item.pinned
            if position < rules.last { reasons.lastRank = Int32(position + 1) }
            if day != lastDay {
                lastDay = day
                if daily < rules.daily { daily += 1; reasons.dailyRank = daily }
            }
            let week = CivilDate.isoWeekStart(dayNumber: day)
            if week != lastWeek {
                lastWeek = week
                if weekly < rules.weekly { weekly += 1; reasons.weeklyRank = weekly }
            }
            let civil = CivilDate(dayNumber: day)
            let month = civil.year * 12 + civil.month
            if month != lastMonth {
                lastMonth = month
                if monthly < rules.monthly { monthly += 1; reasons.monthlyRank = monthly }
            }
            let expired = maxAge.map { nowSeconds - item.createdAt.timeIntervalSince1970 > $0 } ?? false
            if !rules.hasCountRules && !expired {
                if maxAge != nil { reasons.withinMaxAge = true } else { reasons.noRules = true }
            }
            let keep = reasons.protected || (!expired && (reasons.selectedByCountRule || reasons.withinMaxAge || reasons.noRules))
            decisions.append(RetentionDecision(index: index, id: item.id, createdAt: item.createdAt, keep: keep,
                                               reasons: reasons, expired: expired, localDay: Int32(clamping: day)))
        }
        return RetentionPlan(decisions: decisions, rules: rules, now: now, timeZone: timeZone)
    }

    /// Indices newest first (ties: larger id first). Listings usually arrive sorted by name,
    /// i.e. oldest first, so check before paying for a sort.
    static func newestFirst(_ items: [RetentionItem]) -> [Int] {
        func newer(_ a: Int, _ b: Int) -> Bool {
            let ta = items[a].createdAt, tb = items[b].createdAt
            return ta != tb ? ta > tb : items[a].id > items[b].id
        }
        let n = items.count
        if n < 2 { return Array(0..<n) }
        if (1..<n).allSatisfy({ newer($0 - 1, $0) }) { return Array(0..<n) }
        if (1..<n).allSatisfy({ newer($0, $0 - 1) }) { return Array((0..<n).reversed()) }
        return (0..<n).sorted(by: newer)
    }

    /// Local day numbers in `order`. Walks oldest to newest so one UTC offset is reused until
    /// the zone's next transition: a few `TimeZone` calls per year of artifacts, not one per item.
    static func localDays(_ items: [RetentionItem], order: [Int], timeZone: TimeZone) -> [Int] {
        var days = [Int](repeating: 0, count: order.count)
        var offset = 0
        var validFrom = Double.infinity, validUntil = -Double.infinity
        for position in order.indices.reversed() {
            let date = items[order[position]].createdAt
            let t = date.timeIntervalSince1970
            if !(t >= validFrom && t < validUntil) {
                offset = timeZone.secondsFromGMT(for: date)
                validFrom = t
                validUntil = timeZone.nextDaylightSavingTimeTransition(after: date)?.timeIntervalSince1970 ?? .infinity
            }
            let local = (t + Double(offset)).rounded(.down)
            days[position] = Int((local / 86400).rounded(.down))
        }
        return days
    }
}
