import Foundation

/// Which artifact a restore, drill or verify means (`RestoreRequest.spec.backup`):
/// `"latest"`, `"latest-verified"`, an artifact id, or `{"before": "<RFC 3339 time>"}`.
public enum ArtifactSelector: Sendable, Hashable, Codable, CustomStringConvertible {
    case latest
    case latestVerified
    case id(ArtifactID)
    /// The newest artifact created strictly before the time.
    case before(Date)

    public init(parsing text: String) throws {
        switch text {
        case "latest", "": self = .latest
        case "latest-verified": self = .latestVerified
        default: self = .id(try ArtifactID(parsing: text))
        }
    }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self = try ArtifactSelector(parsing: text)
            return
        }
        struct Before: Decodable { var before: String }
        let before = try decoder.singleValueContainer().decode(Before.self)
        guard let time = UTCTimestamp.parseRFC3339(before.before) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "before: not an RFC 3339 time"))
        }
        self = .before(time)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .before(let time): try container.encode(["before": UTCTimestamp.rfc3339(time)])
        default: try container.encode(description)
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case .latestVerified: "latest-verified"
        case .id(let id): id.description
        case .before(let time): "before \(UTCTimestamp.rfc3339(time))"
        }
    }

    /// The chosen manifest, or nil when none matches. Ties on time go to the larger id.
    public func select(from manifests: [ArtifactManifest]) -> ArtifactManifest? {
        func newest(_ candidates: some Sequence<ArtifactManifest>) -> ArtifactManifest? {
            candidates.max { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
        switch self {
        case .latest: return newest(manifests)
        case .latestVerified: return newest(manifests.lazy.filter(\.verified))
        case .id(let id): return manifests.first { $0.id == id }
        case .before(let time): return newest(manifests.lazy.filter { $0.createdAt < time })
        }
    }
}
