import CYAML
import DynamicJSON

/// Owns a libyaml parser (freed in deinit) and turns its event stream into documents.
/// Building from events, not libyaml's document API, lets aliases be counted instead of copied
/// and nesting be bounded before anything large is allocated.
final class EventParser {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    private let input: [UInt8]
    private let limits: YAMLLimits

    init(_ input: [UInt8], limits: YAMLLimits) {
        self.input = input
        self.limits = limits
        yaml_parser_initialize(parser)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
    }

    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        var tree: PositionTree
        var array: [JSONValue] = []
        var object: [String: JSONValue] = [:]
        var pendingKey: String?
        var pendingKeyAt = YAMLPosition(line: 0, column: 0)
        var pendingKeyIsMerge = false
        var merges: [(JSONValue, YAMLPosition)] = []
        var size = 1
    }

    private struct Anchor { var value: JSONValue; var size: Int }

    func parse() throws -> [YAMLDocument] {
        try input.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
            return try run()
        }
    }

    private func run() throws -> [YAMLDocument] {
        var documents: [YAMLDocument] = []
        var stack: [Frame] = []
        var anchors: [String: Anchor] = [:]
        var root: (JSONValue, PositionTree)?
        var nodes = 0
        var documentStart = YAMLPosition(line: 1, column: 1)
        var event = yaml_event_t()

        func fail(_ kind: YAMLError.Kind, _ message: String, _ at: YAMLPosition) -> YAMLError {
            YAMLError(kind: kind, message: message, position: at, documentIndex: documents.count)
        }

        func count(_ size: Int, _ at: YAMLPosition) throws {
            nodes += size
            if nodes > limits.maxNodes {
                throw fail(.limit, "document expands to more than \(limits.maxNodes) nodes (alias bomb?)", at)
            }
        }

        /// Hands a finished node to its parent (or makes it the document root).
        func attach(_ value: JSONValue, tree: PositionTree, size: Int, anchor: String?, raw: String?) throws {
            if let anchor { anchors[anchor] = Anchor(value: value, size: size) }
            guard var top = stack.popLast() else { root = (value, tree); return }
            defer { stack.append(top) }
            top.size += size
            if !top.isMapping {
                top.array.append(value)
                top.tree.items.append(tree)
                return
            }
            guard let key = top.pendingKey else {
                guard let text = ScalarResolver.keyText(value, raw: raw ?? value.jsonString) else {
                    throw fail(.unsupported, "a \(value.typeName) cannot be a mapping key (JSON keys are strings)", tree.position)
                }
                if let first = top.tree.members[text] {
                    throw fail(.unsupported, "duplicate key \"\(text)\" (first defined at line \(first.key.line))", tree.position)
                }
                top.pendingKey = text
                top.pendingKeyAt = tree.position
                top.pendingKeyIsMerge = raw == "<<"  // only an untagged plain << merges
                return
            }
            top.pendingKey = nil
            if top.pendingKeyIsMerge {
                top.merges.append((value, tree.position))  // merge key: applied when the mapping ends
            } else {
                top.object[key] = value
                top.tree.members[key] = PositionTree.Member(key: top.pendingKeyAt, value: tree)
            }
        }

        while true {
            guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError() }
            defer { yaml_event_delete(&event) }
            let at = YAMLPosition(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return documents
            case YAML_DOCUMENT_START_EVENT:
                (root, nodes, anchors) = (nil, 0, [:])
                documentStart = at
            case YAML_DOCUMENT_END_EVENT:
                documents.append(YAMLDocument(value: root?.0 ?? .null, index: documents.count, start: documentStart,
                                              tree: root?.1 ?? PositionTree(position: documentStart)))
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                let tag = scalar.tag.map { String(cString: $0) }
                let value: JSONValue
                switch tag {
                case nil: value = scalar.style == YAML_PLAIN_SCALAR_STYLE ? ScalarResolver.resolvePlain(text) : .string(text)
                case "!": value = .string(text)
                case let tag?:
                    guard let resolved = ScalarResolver.resolveTagged(text, tag: tag) else {
                        throw fail(.unsupported, "\"\(text)\" is not a valid \(tag)", at)
                    }
                    value = resolved
                }
                try count(1, at)
                let plain = tag == nil && scalar.style == YAML_PLAIN_SCALAR_STYLE
                try attach(value, tree: PositionTree(position: at), size: 1, anchor: Self.string(scalar.anchor),
                           raw: plain ? text : nil)
            case YAML_ALIAS_EVENT:
                let name = Self.string(event.data.alias.anchor) ?? ""
                guard let anchor = anchors[name] else {
                    throw fail(.unsupported, "alias *\(name) refers to no complete anchor before it", at)
                }
                try count(anchor.size, at)
                // The expansion's inner nodes have no text of their own: lookups stop at the alias.
                try attach(anchor.value, tree: PositionTree(position: at), size: anchor.size, anchor: nil, raw: nil)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if let top = stack.last, top.isMapping, top.pendingKey == nil {
                    throw fail(.unsupported, "a mapping or sequence cannot be a mapping key (JSON keys are strings)", at)
                }
                guard stack.count < limits.maxDepth else {
                    throw fail(.limit, "nesting deeper than \(limits.maxDepth) levels", at)
                }
                try count(1, at)
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                stack.append(Frame(isMapping: isMapping, anchor: Self.string(anchor), tree: PositionTree(position: at)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                var value: JSONValue
                if frame.isMapping {
                    var object = frame.object
                    for (merge, mergeAt) in frame.merges {
                        let sources = merge.arrayValue ?? [merge]
                        for source in sources {
                            guard let members = source.objectValue else {
                                throw fail(.unsupported, "a merge key (<<) needs a mapping or a list of mappings", mergeAt)
                            }
                            for (k, v) in members where object[k] == nil { object[k] = v }  // explicit and earlier keys win
                        }
                    }
                    value = .object(object)
                } else {
                    value = .array(frame.array)
                }
                try attach(value, tree: frame.tree, size: frame.size, anchor: frame.anchor, raw: nil)
            default:
                break  // stream start, no-op
            }
        }
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func syntaxError() -> YAMLError {
        let p = parser.pointee
        let problem = p.problem.map { String(cString: $0) } ?? "invalid YAML"
        var message = problem
        if let context = p.context.map({ String(cString: $0) }) {
            message += " (\(context) started at line \(p.context_mark.line + 1), column \(p.context_mark.column + 1))"
        }
        var position = YAMLPosition(line: Int(p.problem_mark.line) + 1, column: Int(p.problem_mark.column) + 1)
        if p.error == YAML_READER_ERROR {
            // Encoding errors carry a byte offset instead of a mark.
            message = "\(problem) at byte \(p.problem_offset)"
            position = Self.position(ofByte: Int(p.problem_offset), in: input)
        }
        return YAMLError(kind: .syntax, message: message, position: position)
    }

    static func position(ofByte offset: Int, in bytes: [UInt8]) -> YAMLPosition {
        var line = 1, column = 1
        for byte in bytes.prefix(offset) {
            if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return YAMLPosition(line: line, column: column)
    }
}
