import Foundation

/// Counts the rows of a ClickHouse `FORMAT Native` stream fed in arbitrary chunks, checking
/// its structure on the way: every block must be complete, have the first block's columns,
/// and the stream must end exactly on a block boundary. This is what catches an error that
/// ClickHouse appends as text to a result it has already started to send with status 200.
///
/// Native over HTTP is: per block `VarUInt columns, VarUInt rows`, then per column its name,
/// its type (both length-prefixed strings) and the column data. Column data is skipped by
/// type; types whose layout is not known here (LowCardinality, AggregateFunction) end
/// counting with `unsupported` set, the bytes still pass through.
struct NativeBlockCounter: Sendable {
    struct Column: Sendable, Hashable {
        var name: String
        var type: String
    }

    private var buffer: [UInt8] = []
    private var start = 0
    /// Parse again only when this many unconsumed bytes are there (doubles on each miss, so a
    /// large block is re-parsed O(log n) times, not once per chunk).
    private var retryAt = 1
    private(set) var rows: Int64 = 0
    private(set) var blocks: Int64 = 0
    private(set) var columns: [Column]?
    /// The first type this counter cannot skip; counting stopped there.
    private(set) var unsupported: String?

    init() {}

    mutating func feed(_ chunk: [UInt8]) throws {
        guard unsupported == nil, !chunk.isEmpty else { return }
        buffer += chunk
        try drain()
    }

    private mutating func drain() throws {
        while buffer.count - start >= retryAt {
            var cursor = NativeCursor(bytes: buffer, position: start)
            do {
                let block = try cursor.block()
                if let columns, columns != block.columns, block.rows > 0 || !block.columns.isEmpty {
                    throw NativeFormatError("block \(blocks + 1) has columns \(Self.describe(block.columns)), the first had \(Self.describe(columns))")
                }
                if columns == nil { columns = block.columns }
                rows += Int64(block.rows)
                blocks += 1
                start = cursor.position
                retryAt = 1
            } catch let more as NativeNeedMore {
                retryAt = max(more.total - start, (buffer.count - start) * 2)
                break
            } catch let unknown as NativeUnsupportedType {
                unsupported = unknown.type
                buffer = []
                start = 0
                return
            }
        }
        if start > 1 << 20 || start == buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }

    /// The stream ended: anything left over is not a block.
    mutating func finish() throws {
        guard unsupported == nil else { return }
        retryAt = 1
        try drain()
        guard unsupported == nil else { return }
        let rest = buffer[start...]
        guard rest.isEmpty else {
            let text = String(decoding: rest.prefix(300).filter { $0 >= 32 && $0 < 127 }, as: UTF8.self)
            if let code = text.range(of: "Code: ") {
                throw NativeFormatError("the stream ends with a server error instead of data: \(text[code.lowerBound...].prefix(240))")
            }
            throw NativeFormatError("the stream ends with \(rest.count) bytes that are not a complete block")
        }
    }

    static func describe(_ columns: [Column]) -> String {
        "(" + columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ").prefix(200) + ")"
    }
}

struct NativeFormatError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

struct NativeNeedMore: Error {
    /// The absolute buffer length needed before parsing can progress.
    var total: Int
}

struct NativeUnsupportedType: Error {
    var type: String
}

struct NativeCursor {
    let bytes: [UInt8]
    var position: Int

    static let maxLength = 1 << 31

    mutating func need(_ count: Int) throws {
        guard count >= 0, count <= Self.maxLength else { throw NativeFormatError("implausible length \(count) at offset \(position)") }
        if bytes.count - position < count { throw NativeNeedMore(total: position + count) }
    }

    mutating func skip(_ count: Int) throws {
        try need(count)
        position += count
    }

    mutating func varUInt() throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            try need(1)
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw NativeFormatError("VarUInt too long at offset \(position)") }
            value |= UInt64(byte & 0x7F) << UInt64(shift)
            if byte & 0x80 == 0 { return value }
        }
        throw NativeFormatError("VarUInt too long at offset \(position)")
    }

    mutating func length() throws -> Int {
        let value = try varUInt()
        guard value <= UInt64(Self.maxLength) else { throw NativeFormatError("implausible length \(value) at offset \(position)") }
        return Int(value)
    }

    mutating func string() throws -> String {
        let count = try length()
        try need(count)
        defer { position += count }
        return String(decoding: bytes[position..<position + count], as: UTF8.self)
    }

    mutating func block() throws -> (columns: [NativeBlockCounter.Column], rows: Int) {
        let columnCount = try length()
        let rows = try length()
        guard columnCount <= 100_000 else { throw NativeFormatError("implausible column count \(columnCount)") }
        var columns: [NativeBlockCounter.Column] = []
        for _ in 0..<columnCount {
            let name = try string()
            let type = try string()
            try skipColumn(try NativeType.parse(type), rows: rows)
            columns.append(.init(name: name, type: type))
        }
        return (columns, rows)
    }

    mutating func skipColumn(_ type: NativeType, rows: Int) throws {
        switch type {
        case .fixed(let width):
            let (total, overflow) = rows.multipliedReportingOverflow(by: width)
            guard !overflow else { throw NativeFormatError("column too large") }
            try skip(total)
        case .string:
            for _ in 0..<rows { try skip(try length()) }
        case .nullable(let inner):
            try skip(rows)
            try skipColumn(inner, rows: rows)
        case .array(let inner):
            try need(rows * 8)
            var total: UInt64 = 0
            if rows > 0 {
                let last = position + (rows - 1) * 8
                for i in 0..<8 { total |= UInt64(bytes[last + i]) << UInt64(8 * i) }
            }
            position += rows * 8
            guard total <= UInt64(Self.maxLength) else { throw NativeFormatError("implausible array size \(total)") }
            try skipColumn(inner, rows: Int(total))
        case .tuple(let elements):
            for element in elements { try skipColumn(element, rows: rows) }
        }
    }
}

/// The serialized layout of a ClickHouse type, as far as skipping it needs.
indirect enum NativeType: Sendable, Equatable {
    case fixed(Int)
    case string
    case nullable(NativeType)
    case array(NativeType)
    case tuple([NativeType])

    static func parse(_ text: String) throws -> NativeType {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let name: Substring
        var arguments: [String] = []
        if let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") {
            name = trimmed[..<open]
            arguments = splitArguments(String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]))
        } else {
            name = trimmed[...]
        }
        switch name {
        case "UInt8", "Int8", "Enum8", "Nothing": return .fixed(1)
        case "UInt16", "Int16", "Date", "Enum16": return .fixed(2)
        case "UInt32", "Int32", "Float32", "DateTime", "Decimal32": return .fixed(4)
        case "UInt64", "Int64", "Float64", "Decimal64": return .fixed(8)
        case "UUID", "Decimal128": return .fixed(16)
        case "Decimal":
            let precision = arguments.first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 38
            return .fixed(precision <= 9 ? 4 : precision <= 18 ? 8 : 16)
        case "String": return .string
        case "FixedString":
            guard let n = arguments.first.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }), n > 0 else {
                throw NativeFormatError("bad type \(text)")
            }
            return .fixed(n)
        case "Nullable":
            guard arguments.count == 1 else { throw NativeFormatError("bad type \(text)") }
            return .nullable(try parse(arguments[0]))
        case "Array":
            guard arguments.count == 1 else { throw NativeFormatError("bad type \(text)") }
            return .array(try parse(arguments[0]))
        case "Tuple":
            return .tuple(try arguments.map { argument in
                // Named tuple elements (`Tuple(a UInt8)`) are not in 18.x; take the last word's type anyway.
                try parse(argument)
            })
        default:
            throw NativeUnsupportedType(type: text)
        }
    }

    /// Splits `a, b(c, d), 'x,y'` at top-level commas.
    static func splitArguments(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for ch in text {
            if quoted {
                current.append(ch)
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "'" { quoted = false }
                continue
            }
            switch ch {
            case "'": quoted = true; current.append(ch)
            case "(": depth += 1; current.append(ch)
            case ")": depth -= 1; current.append(ch)
            case "," where depth == 0: parts.append(current.trimmingCharacters(in: .whitespaces)); current = ""
            default: current.append(ch)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(current.trimmingCharacters(in: .whitespaces)) }
        return parts
    }
}
