import Foundation

/// An artifact's identity: `<UTC yyyymmddThhmmssZ>-<short id>`, e.g. `20260128T020000Z-3f9a0c1e`.
/// Sorting ids as strings sorts them by creation time.
public struct ArtifactID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let time: Date
    public let shortID: String

    /// `shortID`: 4–32 characters of `[a-z0-9]`.
    public init(time: Date, shortID: String) throws {
        guard (4...32).contains(shortID.utf8.count),
              shortID.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) }) else {
            throw ArtifactNameError("short id \"\(shortID)\" must be 4–32 characters of [a-z0-9]")
        }
        self.time = Date(timeIntervalSince1970: time.timeIntervalSince1970.rounded(.down))
        self.shortID = shortID
    }

    /// A fresh id at `time` with 8 random hex digits.
    public static func generate(at time: Date, using generator: inout some RandomNumberGenerator) -> ArtifactID {
        let bits = UInt32.random(in: .min ... .max, using: &generator)
        let hex = String(bits, radix: 16)
        // Cannot throw: 8 lowercase hex digits always satisfy the rule.
        return try! ArtifactID(time: time, shortID: String(repeating: "0", count: 8 - hex.count) + hex)
    }

    public static func generate(at time: Date) -> ArtifactID {
        var rng = SystemRandomNumberGenerator()
        return generate(at: time, using: &rng)
    }

    public init(parsing text: some StringProtocol) throws {
        let string = String(text)
        guard string.utf8.count > 17, let dash = string.firstIndex(of: "-"),
              let time = UTCTimestamp.parseCompact(string[..<dash]) else {
            throw ArtifactNameError("\"\(string.prefix(80))\" is not an artifact id (want yyyymmddThhmmssZ-<id>)")
        }
        try self.init(time: time, shortID: String(string[string.index(after: dash)...]))
    }

    public var description: String { "\(UTCTimestamp.compact(time))-\(shortID)" }

    public static func < (a: ArtifactID, b: ArtifactID) -> Bool { a.description < b.description }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public struct ArtifactNameError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where a policy's artifacts live inside a store: `<prefix>/<policy>/<id>.<ext>` plus
/// `<id>.<ext>.manifest.json` beside each. Keys never start with `/` and never contain `..`.
public struct ArtifactLayout: Sendable, Hashable {
    public static let manifestSuffix = ".manifest.json"

    public let prefix: String
    public let policy: String

    public init(prefix: String, policy: String) throws {
        let trimmed = prefix.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        for part in trimmed.split(separator: "/") where part == "." || part == ".." {
            throw ArtifactNameError("prefix \"\(prefix)\" must not contain . or .. segments")
        }
        guard Self.isValidPolicy(policy) else {
            throw ArtifactNameError("policy name \"\(policy)\" must be a DNS-1123 label-like name ([a-z0-9.-], at most 253)")
        }
        self.prefix = trimmed
        self.policy = policy
    }

    /// Lowercase alphanumerics, `-` and `.`, starting and ending alphanumeric (Kubernetes object names).
    public static func isValidPolicy(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }
        guard alnum(bytes.first!), alnum(bytes.last!), name != "." else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// The folder holding this policy's artifacts, with a trailing `/`.
    public var directory: String { prefix.isEmpty ? "\(policy)/" : "\(prefix)/\(policy)/" }

    public func artifactKey(_ id: ArtifactID, fileExtension: String) -> String {
        "\(directory)\(id).\(fileExtension)"
    }

    public func manifestKey(_ id: ArtifactID, fileExtension: String) -> String {
        artifactKey(id, fileExtension: fileExtension) + Self.manifestSuffix
    }

    /// The manifest key for an artifact key.
    public static func manifestKey(forArtifactKey key: String) -> String { key + manifestSuffix }

    /// For a key under `directory`: the artifact id and extension, and whether it is a manifest.
    /// Nil for anything else (temporary files, foreign objects, nested folders).
    public func parse(key: String) -> (id: ArtifactID, fileExtension: String, isManifest: Bool)? {
        guard key.hasPrefix(directory) else { return nil }
        var name = String(key.dropFirst(directory.count))
        guard !name.contains("/") else { return nil }
        let isManifest = name.hasSuffix(Self.manifestSuffix)
        if isManifest { name.removeLast(Self.manifestSuffix.count) }
        guard let dot = name.firstIndex(of: "."), let id = try? ArtifactID(parsing: name[..<dot]) else { return nil }
        let ext = String(name[name.index(after: dot)...])
        guard !ext.isEmpty else { return nil }
        return (id, ext, isManifest)
    }
}
