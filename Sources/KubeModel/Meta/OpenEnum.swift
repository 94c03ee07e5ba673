/// A string enumeration that stays open: values a newer server sends still decode (and
/// round-trip), while `knownValues` lists what this version understands (and what the CRD
/// schema's `enum` allows). Switch on `rawValue` or compare with the static constants.
public protocol OpenEnum: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible where RawValue == String {
    init(rawValue: String)
    static var knownValues: [Self] { get }
}

extension OpenEnum {
    public init(stringLiteral value: String) { self.init(rawValue: value) }
    public var description: String { rawValue }
    public var isKnown: Bool { Self.knownValues.contains(self) }
    public static var knownRawValues: [String] { knownValues.map(\.rawValue) }
}
