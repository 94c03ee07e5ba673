import CYAML
import DynamicJSON

/// How `YAML.emit` writes.
public struct YAMLEmitOptions: Sendable, Equatable {
    public enum KeyOrder: Sendable, Equatable {
        /// Alphabetical (byte order): stable, diff-friendly.
        case sorted
        /// `apiVersion`, `kind`, `metadata` first; `name`, `namespace` first inside objects;
        /// the rest alphabetical. Reads like a hand-written manifest.
        case kubernetes
    }

    public var keyOrder: KeyOrder
    /// Indentation of nested mappings (2…9).
    public var indent: Int

    public init(keyOrder: KeyOrder = .kubernetes, indent: Int = 2) {
        self.keyOrder = keyOrder
        self.indent = indent
    }
}

/// Owns a libyaml emitter (freed in deinit) writing into a byte buffer. Block style throughout;
/// a string is quoted exactly when a plain scalar would read back as something else (`"yes"`,
/// `"1.0"`, `"null"`, `"~"`) or libyaml cannot write it plain (`": "`, leading `-`…); strings
/// with line breaks use literal block style (`|`).
final class Emitter {
    private let emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
    private let output = OutputBuffer()
    private let options: YAMLEmitOptions

    final class OutputBuffer { var bytes: [UInt8] = [] }

    init(options: YAMLEmitOptions) {
        self.options = options
        yaml_emitter_initialize(emitter)
        yaml_emitter_set_output(emitter, { context, buffer, size in
            guard let context, let buffer else { return 0 }
            let out = Unmanaged<OutputBuffer>.fromOpaque(context).takeUnretainedValue()
            out.bytes.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
            return 1
        }, Unmanaged.passUnretained(output).toOpaque())
        yaml_emitter_set_unicode(emitter, 1)
        yaml_emitter_set_width(emitter, -1)  // never fold long lines
        yaml_emitter_set_indent(emitter, Int32(max(2, min(9, options.indent))))
    }

    deinit {
        yaml_emitter_delete(emitter)
        emitter.deallocate()
    }

    func emit(_ documents: [JSONValue]) throws -> String {
        var event = yaml_event_t()
        yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING)
        try send(&event)
        for (index, document) in documents.enumerated() {
            yaml_document_start_event_initialize(&event, nil, nil, nil, index == 0 ? 1 : 0)
            try send(&event)
            try emitNode(document, depth: 0)
            yaml_document_end_event_initialize(&event, 1)
            try send(&event)
        }
        yaml_stream_end_event_initialize(&event)
        try send(&event)
        return String(decoding: output.bytes, as: UTF8.self)
    }

    private func send(_ event: inout yaml_event_t) throws {
        guard yaml_emitter_emit(emitter, &event) == 1 else {
            let problem = emitter.pointee.problem.map { String(cString: $0) } ?? "libyaml emitter failed"
            throw YAMLError(kind: .emit, message: problem)
        }
    }

    private func emitNode(_ value: JSONValue, depth: Int) throws {
        guard depth < 10_000 else { throw YAMLError(kind: .emit, message: "value nested too deeply to emit") }
        var event = yaml_event_t()
        switch value {
        case .null: try scalar("null", plain: true)
        case .bool(let b): try scalar(b ? "true" : "false", plain: true)
        case .int(let i): try scalar(String(i), plain: true)
        case .double(let d): try scalar(Self.format(d), plain: true)
        case .string(let s):
            try scalar(s, plain: !ScalarResolver.needsQuoting(s), literal: s.contains("\n"))
        case .array(let items):
            yaml_sequence_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_SEQUENCE_STYLE)
            try send(&event)
            for item in items { try emitNode(item, depth: depth + 1) }
            yaml_sequence_end_event_initialize(&event)
            try send(&event)
        case .object(let members):
            yaml_mapping_start_event_initialize(&event, nil, nil, 1, YAML_BLOCK_MAPPING_STYLE)
            try send(&event)
            for name in order(Array(members.keys), topLevel: depth == 0) {
                try scalar(name, plain: !ScalarResolver.needsQuoting(name))
                try emitNode(members[name]!, depth: depth + 1)
            }
            yaml_mapping_end_event_initialize(&event)
            try send(&event)
        }
    }

    /// `plain: false` forces a quoted style so the text cannot be re-read as another type.
    private func scalar(_ text: String, plain: Bool, literal: Bool = false) throws {
        var event = yaml_event_t()
        let style = literal ? YAML_LITERAL_SCALAR_STYLE : plain ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE
        var bytes = Array(text.utf8) + [0]  // never empty, so the pointer is never nil; libyaml copies it
        bytes.withUnsafeMutableBufferPointer { p in
            _ = yaml_scalar_event_initialize(&event, nil, nil, p.baseAddress, Int32(p.count - 1), plain ? 1 : 0, 1, style)
        }
        try send(&event)
    }

    private func order(_ keys: [String], topLevel: Bool) -> [String] {
        let sorted = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard options.keyOrder == .kubernetes else { return sorted }
        let first = topLevel ? ["apiVersion", "kind", "metadata"] : ["name", "namespace"]
        return first.filter(keys.contains) + sorted.filter { !first.contains($0) }
    }

    /// Shortest text that reads back as the same double (and as a float, not an int).
    static func format(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
        let text = "\(d)"
        return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
    }
}
