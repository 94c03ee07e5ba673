/// One step of a field path: an object key or an array index.
public enum FieldPathComponent: Sendable, Hashable {
    case key(String)
    case index(Int)
}

/// A field path as Kubernetes prints it: `spec.targets[1].sql.maxAge`.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var components: [FieldPathComponent]
    public init(_ components: [FieldPathComponent] = []) { self.components = components }
    /// Parses `spec.targets[1].sql` (and a leading dot, as CEL `fieldPath` has).
    public init(stringLiteral text: String) { self.init(parsing: text) }
    public init(parsing text: String) {
        var out: [FieldPathComponent] = []
        for part in text.split(separator: ".") {
            var name = Substring(part)
            var indices: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]"),
                  let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indices.insert(i, at: 0)
                name = name[..<open]
            }
            if !name.isEmpty { out.append(.key(String(name))) }
            out += indices.map { .index($0) }
        }
        components = out
    }
    public func appending(_ c: FieldPathComponent) -> FieldPath { FieldPath(components + [c]) }
    public func appending(_ key: String) -> FieldPath { appending(.key(key)) }
    public func appending(_ other: FieldPath) -> FieldPath { FieldPath(components + other.components) }
    public var description: String {
        var s = ""
        for c in components {
            switch c {
            case .key(let k): s += s.isEmpty ? k : "." + k
            case .index(let i): s += "[\(i)]"
            }
        }
        return s
    }
}

public enum IssueSeverity: String, Sendable, Hashable {
    case error, warning
}

/// A problem found in a manifest: where, what kind (the Kubernetes cause type), and a
/// message that says what to change.
public struct ValidationIssue: Sendable, Hashable, CustomStringConvertible {
    public var path: FieldPath
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTypeInvalid`,
    /// `FieldValueTooLong`, `FieldValueTooMany`, `FieldValueDuplicate`, `FieldValueForbidden`,
    /// `FieldValueUnknown` (a field the schema does not have).
    public var reason: String
    public var message: String
    public var severity: IssueSeverity

    public init(_ path: FieldPath, _ reason: String, _ message: String, severity: IssueSeverity = .error) {
        self.path = path
        self.reason = reason
        self.message = message
        self.severity = severity
    }

    public static func invalid(_ path: FieldPath, _ message: String) -> ValidationIssue {
        ValidationIssue(path, "FieldValueInvalid", message)
    }

    public static func warning(_ path: FieldPath, _ message: String) -> ValidationIssue {
        ValidationIssue(path, "FieldValueInvalid", message, severity: .warning)
    }

    public var description: String { "\(path): \(message)" }
}
