import Foundation

/// `BackupPolicy.spec.retention`: an artifact is kept when ANY rule keeps it; `maxAge` then
/// deletes everything older, except pinned artifacts and under `keepForever`.
/// Zero or absent counts disable a rule. With no count rule at all, `maxAge` alone keeps
/// everything younger than it, and with no rule at all everything is kept.
public struct RetentionRules: Sendable, Hashable, Codable {
    public var keepLast: Int?
    public var keepDaily: Int?
    public var keepWeekly: Int?
    public var keepMonthly: Int?
    public var maxAge: RetentionAge?
    public var keepForever: Bool?

    public init(keepLast: Int? = nil, keepDaily: Int? = nil, keepWeekly: Int? = nil, keepMonthly: Int? = nil,
                maxAge: RetentionAge? = nil, keepForever: Bool? = nil) {
        self.keepLast = keepLast
        self.keepDaily = keepDaily
        self.keepWeekly = keepWeekly
        self.keepMonthly = keepMonthly
        self.maxAge = maxAge
        self.keepForever = keepForever
    }

    var last: Int { max(0, keepLast ?? 0) }
    var daily: Int { max(0, keepDaily ?? 0) }
    var weekly: Int { max(0, keepWeekly ?? 0) }
    var monthly: Int { max(0, keepMonthly ?? 0) }
    var forever: Bool { keepForever ?? false }
    var hasCountRules: Bool { last + daily + weekly + monthly > 0 }

    /// Problems a user must fix (negative counts); empty when valid.
    public func validate() -> [String] {
        var problems: [String] = []
        for (name, value) in [("keepLast", keepLast), ("keepDaily", keepDaily), ("keepWeekly", keepWeekly), ("keepMonthly", keepMonthly)] {
            if let value, value < 0 { problems.append("\(name) must not be negative (got \(value))") }
        }
        if let maxAge, maxAge.seconds <= 0 { problems.append("maxAge must be positive") }
        return problems
    }

    /// `keepLast 3, keepDaily 7, maxAge 90d` — the enabled rules.
    public var summary: String {
        var parts: [String] = []
        if forever { parts.append("keepForever") }
        if last > 0 { parts.append("keepLast \(last)") }
        if daily > 0 { parts.append("keepDaily \(daily)") }
        if weekly > 0 { parts.append("keepWeekly \(weekly)") }
        if monthly > 0 { parts.append("keepMonthly \(monthly)") }
        if let maxAge { parts.append("maxAge \(maxAge)") }
        return parts.isEmpty ? "no rules" : parts.joined(separator: ", ")
    }
}

/// An age such as `90d`, `26h`, `2w`, `1d12h`, `45m`, `30s` (units s, m, h, d, w; a day is
/// 24 h here because ages are measured in elapsed time), or a JSON number of seconds.
public struct RetentionAge: Sendable, Hashable, Codable, CustomStringConvertible {
    public var seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    public init(parsing text: String) throws {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw ArtifactNameError("empty duration") }
        var total: Int64 = 0
        var number: Int64? = nil
        for byte in bytes {
            if byte >= 48, byte <= 57 {
                let (times10, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int64(byte - 48))
                guard !o1, !o2 else { throw ArtifactNameError("duration \"\(text.prefix(40))\" is too large") }
                number = sum
                continue
            }
            let unit: Int64
            switch byte {
            case UInt8(ascii: "s"): unit = 1
            case UInt8(ascii: "m"): unit = 60
            case UInt8(ascii: "h"): unit = 3600
            case UInt8(ascii: "d"): unit = 86400
            case UInt8(ascii: "w"): unit = 7 * 86400
            default: throw ArtifactNameError("duration \"\(text.prefix(40))\": unknown unit (use s, m, h, d or w, e.g. 90d)")
            }
            guard let value = number else { throw ArtifactNameError("duration \"\(text.prefix(40))\": a unit without a number") }
            let (product, o1) = value.multipliedReportingOverflow(by: unit)
            let (sum, o2) = total.addingReportingOverflow(product)
            guard !o1, !o2 else { throw ArtifactNameError("duration \"\(text.prefix(40))\" is too large") }
            total = sum
            number = nil
        }
        guard number == nil else { throw ArtifactNameError("duration \"\(text.prefix(40))\" needs a unit (e.g. 90d, 26h)") }
        seconds = total
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int64.self) {
            self.init(seconds: seconds)
        } else {
            try self.init(parsing: try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The largest whole unit that divides it: `90d`, `26h`, `90s` (weeks print as days).
    public var description: String {
        for (unit, suffix) in [(Int64(86400), "d"), (3600, "h"), (60, "m")] where seconds != 0 && seconds % unit == 0 {
            return "\(seconds / unit)\(suffix)"
        }
        return "\(seconds)s"
    }
}
