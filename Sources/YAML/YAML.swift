/// YAML: the only importer of libyaml.
///
/// - `YAML.parseDocuments(_:limits:)` reads a multi-document stream into `[YAMLDocument]`
///   (value + source positions: `position(of:)`, `keyPosition(of:)`, `nearestPosition(of:)`);
///   `YAML.parse(_:)` returns just the `[JSONValue]`s. Empty documents are `.null`.
/// - Scalars resolve like Kubernetes (go-yaml v2, YAML 1.1): `yes/no/on/off/y/n` are booleans,
///   `0644` is octal; see `ScalarResolver`. Anchors, aliases and `<<` merge keys are supported;
///   alias expansion and depth are bounded (`YAMLLimits`) so bombs fail fast.
/// - `YAML.emit` writes block-style YAML, quoting strings that would otherwise change type.
/// - `YAMLDecoder` / `YAMLEncoder` bridge `Codable` through `JSONValue`.
/// - Every error is a `YAMLError` with a 1-based line and column when it comes from the text.
import DynamicJSON

public enum YAML {
    /// All documents of a stream, with positions.
    public static func parseDocuments(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> [YAMLDocument] {
        try EventParser(Array(text.utf8), limits: limits).parse()
    }

    public static func parseDocuments(_ bytes: some Collection<UInt8>, limits: YAMLLimits = YAMLLimits()) throws -> [YAMLDocument] {
        try EventParser(Array(bytes), limits: limits).parse()
    }

    /// All document values of a stream (an empty `---` section is `.null`; no text, no documents).
    public static func parse(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> [JSONValue] {
        try parseDocuments(text, limits: limits).map(\.value)
    }

    /// Exactly one document: `.null` for empty input, an error when there are several.
    public static func parseSingle(_ text: String, limits: YAMLLimits = YAMLLimits()) throws -> JSONValue {
        let documents = try parseDocuments(text, limits: limits)
        guard documents.count <= 1 else {
            throw YAMLError(kind: .unsupported, message: "expected one YAML document, found \(documents.count)",
                            position: documents[1].start, documentIndex: 1)
        }
        return documents.first?.value ?? .null
    }

    /// One document as YAML text (no leading `---`), ending in a newline.
    public static func emit(_ value: JSONValue, options: YAMLEmitOptions = YAMLEmitOptions()) throws -> String {
        try Emitter(options: options).emit([value])
    }

    /// Several documents separated by `---`.
    public static func emit(documents: [JSONValue], options: YAMLEmitOptions = YAMLEmitOptions()) throws -> String {
        try Emitter(options: options).emit(documents)
    }
}

/// `Decodable` from YAML text. Type mismatches become `YAMLError` (kind `.decoding`) with the
/// line and column of the offending field and its path.
public struct YAMLDecoder: Sendable {
    public var limits: YAMLLimits

    public init(limits: YAMLLimits = YAMLLimits()) { self.limits = limits }

    /// The single document of `text` (empty text decodes from `null`).
    public func decode<T: Decodable>(_ type: T.Type = T.self, from text: String) throws -> T {
        let documents = try YAML.parseDocuments(text, limits: limits)
        guard documents.count <= 1 else {
            throw YAMLError(kind: .decoding, message: "expected one YAML document, found \(documents.count)",
                            position: documents[1].start, documentIndex: 1)
        }
        let origin = YAMLPosition(line: 1, column: 1)
        let document = documents.first ?? YAMLDocument(value: .null, index: 0, start: origin, tree: PositionTree(position: origin))
        return try document.decode(T.self)
    }

    /// Every non-empty document of a multi-document stream, in order.
    public func decodeAll<T: Decodable>(_ type: T.Type = T.self, from text: String) throws -> [T] {
        try YAML.parseDocuments(text, limits: limits).filter { !$0.value.isNull }.map { try $0.decode(T.self) }
    }
}

/// `Encodable` to YAML text (through `JSONValue`, so `CodingKeys` and custom encoders apply).
public struct YAMLEncoder: Sendable {
    public var options: YAMLEmitOptions

    public init(options: YAMLEmitOptions = YAMLEmitOptions()) { self.options = options }

    public func encode<T: Encodable>(_ value: T) throws -> String {
        try YAML.emit(try JSONValue.encode(value), options: options)
    }

    public func encode<T: Encodable>(documents: [T]) throws -> String {
        try YAML.emit(documents: try documents.map { try JSONValue.encode($0) }, options: options)
    }
}
