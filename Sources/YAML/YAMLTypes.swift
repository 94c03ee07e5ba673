import DynamicJSON

/// A place in the YAML text; both numbers start at 1 (column counts characters).
public struct YAMLPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }

    public static func < (a: YAMLPosition, b: YAMLPosition) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// One step of a path into a value: an object key or an array index. Literals work:
/// `["spec", "containers", 0, "image"]`.
public enum YAMLPathComponent: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral
{
    case key(String)
    case index(Int)

    public init(stringLiteral value: String) { self = .key(value) }
    public init(integerLiteral value: Int) { self = .index(value) }

    /// From a `CodingKey` of a `DecodingError` (array positions have an `intValue`).
    public init(_ codingKey: any CodingKey) {
        self = codingKey.intValue.map(YAMLPathComponent.index) ?? .key(codingKey.stringValue)
    }

    public var description: String {
        switch self {
        case .key(let k): return k
        case .index(let i): return "[\(i)]"
        }
    }

    /// `spec.containers[0].image`
    public static func render(_ path: [YAMLPathComponent]) -> String {
        var out = ""
        for c in path {
            switch c {
            case .key(let k): out += out.isEmpty ? k : "." + k
            case .index(let i): out += "[\(i)]"
            }
        }
        return out.isEmpty ? "<root>" : out
    }
}

/// Any failure of this module. `position` is set for everything that comes from the text.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Malformed YAML (libyaml's scanner or parser).
        case syntax
        /// Well-formed YAML that has no JSON meaning: a mapping as a key, an unknown alias,
        /// a duplicate key, a scalar that does not match its explicit tag.
        case unsupported
        /// Depth or alias-expansion limit reached (YAML bombs).
        case limit
        /// The value did not fit the requested `Decodable` type.
        case decoding
        /// The value could not be written as YAML.
        case emit
    }

    public var kind: Kind
    public var message: String
    public var position: YAMLPosition?
    /// 0-based index of the document in a multi-document stream.
    public var documentIndex: Int?
    /// Where in the value the problem is, for decoding errors (`spec.ports[0].port`).
    public var path: [YAMLPathComponent]?

    public init(kind: Kind, message: String, position: YAMLPosition? = nil, documentIndex: Int? = nil,
                path: [YAMLPathComponent]? = nil) {
        self.kind = kind
        self.message = message
        self.position = position
        self.documentIndex = documentIndex
        self.path = path
    }

    /// `line 3, column 5: did not find expected key` (plus the path for decoding errors).
    public var description: String {
        var text = ""
        if let position { text += "line \(position.line), column \(position.column): " }
        if let path { text += "\(YAMLPathComponent.render(path)): " }
        return text + message
    }
}

/// Bounds that make hostile input fail fast with `YAMLError.Kind.limit`.
public struct YAMLLimits: Sendable, Equatable {
    /// Deepest nesting of mappings and sequences.
    public var maxDepth: Int
    /// Nodes in one document counted with every alias expanded (defeats "billion laughs").
    public var maxNodes: Int

    public init(maxDepth: Int = 256, maxNodes: Int = 1_000_000) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }
}

/// One parsed document: its value and where each node came from.
public struct YAMLDocument: Sendable {
    public var value: JSONValue
    /// 0-based index in the stream.
    public var index: Int
    /// Where the document's content starts.
    public var start: YAMLPosition
    let tree: PositionTree

    init(value: JSONValue, index: Int, start: YAMLPosition, tree: PositionTree) {
        self.value = value
        self.index = index
        self.start = start
        self.tree = tree
    }

    /// Walks `path`; returns how many components matched, the node reached, and the position
    /// of the key that led to it (nil for the root and for array items).
    private func walk(_ path: [YAMLPathComponent]) -> (matched: Int, node: PositionTree, key: YAMLPosition?) {
        var node = tree, key: YAMLPosition? = nil, matched = 0
        for component in path {
            switch component {
            case .key(let k):
                guard let member = node.members[k] else { return (matched, node, key) }
                (node, key) = (member.value, member.key)
            case .index(let i):
                guard node.items.indices.contains(i) else { return (matched, node, key) }
                (node, key) = (node.items[i], nil)
            }
            matched += 1
        }
        return (matched, node, key)
    }

    /// Start of the node at `path`; nil when the text has no such node (nodes inside an alias
    /// expansion have no position of their own: use `nearestPosition`).
    public func position(of path: [YAMLPathComponent]) -> YAMLPosition? {
        let found = walk(path)
        return found.matched == path.count ? found.node.position : nil
    }

    /// Start of the key whose value is at `path` (the line of the field), else the node itself.
    public func keyPosition(of path: [YAMLPathComponent]) -> YAMLPosition? {
        let found = walk(path)
        return found.matched == path.count ? found.key ?? found.node.position : nil
    }

    /// The key position of `path`, or of its deepest ancestor that has one: always an answer,
    /// for reporting `file:line:col` even for a missing field.
    public func nearestPosition(of path: [YAMLPathComponent]) -> YAMLPosition {
        let found = walk(path)
        return found.key ?? found.node.position
    }

    /// Same as `nearestPosition(of:)` for the `codingPath` of a `DecodingError`.
    public func nearestPosition(of codingPath: [any CodingKey]) -> YAMLPosition {
        nearestPosition(of: codingPath.map(YAMLPathComponent.init))
    }

    /// Decodes the value; a mismatch becomes a `YAMLError` with the line of the offending field.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        do {
            return try value.decode(T.self)
        } catch let error as DecodingError {
            let (path, message) = Self.describe(error)
            throw YAMLError(kind: .decoding, message: message, position: nearestPosition(of: path),
                            documentIndex: index, path: path)
        }
    }

    static func describe(_ error: DecodingError) -> ([YAMLPathComponent], String) {
        switch error {
        case .typeMismatch(let type, let context):
            return (context.codingPath.map(YAMLPathComponent.init), "expected \(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            return (context.codingPath.map(YAMLPathComponent.init), "missing \(type) value: \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            return (context.codingPath.map(YAMLPathComponent.init), "missing required field \"\(key.stringValue)\"")
        case .dataCorrupted(let context):
            return (context.codingPath.map(YAMLPathComponent.init), context.debugDescription)
        @unknown default:
            return ([], "\(error)")
        }
    }
}

/// Source positions shaped like the value: one node per mapping, sequence or scalar.
struct PositionTree: Sendable {
    struct Member: Sendable {
        var key: YAMLPosition
        var value: PositionTree
    }

    var position: YAMLPosition
    var members: [String: Member] = [:]
    var items: [PositionTree] = []
}
