/// Five cron fields (minute hour day-of-month month day-of-week), Vixie-cron semantics:
/// `*`, `?` (day fields), `a-b`, `*/n`, `a-b/n`, `a/n`, lists, month and weekday names, 7 = Sunday.
/// When both day fields are restricted a day matches either (OR), as in cron and CronJob.
public struct CronExpression: Sendable, Hashable {
    public let minutes: CronField
    public let hours: CronField
    public let daysOfMonth: CronField
    public let months: CronField
    /// 0 = Sunday … 6 = Saturday.
    public let daysOfWeek: CronField
    public let dayOfMonthRestricted: Bool
    public let dayOfWeekRestricted: Bool
    /// The hour field is `*`: every real occurrence of a repeated (fall-back) hour fires.
    public let everyHour: Bool

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    public init(parsing text: String) throws(ScheduleError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ScheduleError("needs 5 fields (minute hour day-of-month month day-of-week), found \(fields.count); e.g. \"0 2 * * *\" for 02:00 daily", field: nil)
        }
        minutes = try Self.field(fields[0], name: "minute", 0...59, names: [], offset: 0)
        hours = try Self.field(fields[1], name: "hour", 0...23, names: [], offset: 0)
        daysOfMonth = try Self.field(fields[2], name: "day-of-month", 1...31, names: [], offset: 0, allowQuestion: true)
        months = try Self.field(fields[3], name: "month", 1...12, names: Self.monthNames, offset: 1)
        var dow = try Self.field(fields[4], name: "day-of-week", 0...7, names: Self.dayNames, offset: 0, allowQuestion: true)
        if dow.remove(7) != nil { dow.insert(0) }
        daysOfWeek = dow
        dayOfMonthRestricted = !(fields[2].hasPrefix("*") || fields[2].hasPrefix("?"))
        dayOfWeekRestricted = !(fields[4].hasPrefix("*") || fields[4].hasPrefix("?"))
        everyHour = fields[1] == "*"
        // A day-of-month that no allowed month has (e.g. 31 in February only) never fires.
        if dayOfMonthRestricted && !dayOfWeekRestricted {
            let longest = months.values.map { [1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31][$0]! }.max() ?? 31
            if (daysOfMonth.min() ?? 1) > longest {
                throw ScheduleError("never fires: day-of-month \(daysOfMonth.min()!) does not occur in the selected months", field: "day-of-month")
            }
        }
    }

    static func field(_ text: String, name: String, _ range: ClosedRange<Int>, names: [String], offset: Int,
                      allowQuestion: Bool = false) throws(ScheduleError) -> CronField {
        var result = CronField()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw ScheduleError("\(name) field \"\(text)\" has an empty list item", field: name) }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ScheduleError("\(name) field \"\(part)\" has more than one /", field: name) }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s > 0 else {
                    throw ScheduleError("\(name) step \"\(pieces[1])\" must be a positive number, e.g. */15", field: name)
                }
                guard s <= range.upperBound - range.lowerBound + 1 else {
                    throw ScheduleError("\(name) step \(s) is larger than the field's range \(range.lowerBound)-\(range.upperBound)", field: name)
                }
                step = s
            }
            let base = pieces[0]
            var lo: Int
            var hi: Int
            if base == "*" || (allowQuestion && base == "?") {
                lo = range.lowerBound
                hi = name == "day-of-week" ? 6 : range.upperBound
            } else if let dash = base.firstIndex(of: "-") {
                lo = try value(base[..<dash], name: name, range, names: names, offset: offset)
                hi = try value(base[base.index(after: dash)...], name: name, range, names: names, offset: offset)
                guard lo <= hi else {
                    throw ScheduleError("\(name) range \"\(base)\" goes backwards; write the smaller value first", field: name)
                }
            } else {
                lo = try value(base, name: name, range, names: names, offset: offset)
                hi = pieces.count == 2 ? (name == "day-of-week" ? 6 : range.upperBound) : lo
            }
            for v in stride(from: lo, through: hi, by: step) { result.insert(v) }
        }
        return result
    }

    static func value(_ text: Substring, name: String, _ range: ClosedRange<Int>, names: [String],
                      offset: Int) throws(ScheduleError) -> Int {
        if let i = names.firstIndex(of: text.lowercased()) { return i + offset }
        guard let v = Int(text), text.allSatisfy(\.isASCII) else {
            let hint = names.isEmpty ? "" : " or a name (\(names.prefix(3).joined(separator: ", "))…)"
            throw ScheduleError("\(name) value \"\(text)\" is not a number\(hint)", field: name)
        }
        guard range.contains(v) else {
            throw ScheduleError("\(name) value \(v) is out of range \(range.lowerBound)-\(range.upperBound)", field: name)
        }
        return v
    }

    /// True when the day fields allow this day of the month and weekday (0 = Sunday).
    public func matchesDay(day: Int, weekday: Int) -> Bool {
        let dom = daysOfMonth.contains(day)
        let dow = daysOfWeek.contains(weekday)
        if dayOfMonthRestricted && dayOfWeekRestricted { return dom || dow }
        return dom && dow
    }
}

/// The values one cron field allows (0…63), as bits: the schedule arithmetic asks "is it
/// allowed" and "the next allowed value" for every candidate minute, so no hashing.
public struct CronField: Sendable, Hashable {
    public private(set) var bits: UInt64 = 0

    public init() {}

    public init(_ values: some Sequence<Int>) { for v in values { insert(v) } }

    public func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0 }

    public mutating func insert(_ value: Int) {
        precondition(value >= 0 && value < 64, "a cron field value is 0…63")
        bits |= 1 << UInt64(value)
    }

    @discardableResult
    public mutating func remove(_ value: Int) -> Int? {
        guard contains(value) else { return nil }
        bits &= ~(1 << UInt64(value))
        return value
    }

    /// The smallest allowed value ≥ `value`, if any.
    public func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits >> UInt64(max(0, value))
        return rest == 0 ? nil : max(0, value) + rest.trailingZeroBitCount
    }

    public func min() -> Int? { bits == 0 ? nil : bits.trailingZeroBitCount }

    public var values: [Int] { (0..<64).filter(contains) }
}

public struct ScheduleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// The cron field at fault, when one is.
    public var field: String?
    public init(_ message: String, field: String?) {
        self.message = message
        self.field = field
    }
    public var description: String { message }
}
