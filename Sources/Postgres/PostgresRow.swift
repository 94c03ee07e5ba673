import Foundation

/// Column metadata shared by every row of one result.
public struct PostgresColumn: Sendable, Equatable {
    public var name: String
    /// The column's type OID (e.g. 20 int8, 25 text, 1184 timestamptz, 17 bytea).
    public var typeOID: UInt32
}

/// One field: the server's text representation, or nil for SQL NULL.
public struct PostgresCell: Sendable, Equatable {
    public var column: PostgresColumn
    public var text: String?
    public var isNull: Bool { text == nil }
}

/// One result row with typed access: `try row["id", as: Int64.self]`,
/// `try row["note", as: String?.self]` (nil for NULL), `try row[0, as: Date.self]`.
public struct PostgresRow: Sendable {
    final class Columns: Sendable {
        let columns: [PostgresColumn]
        let index: [String: Int]
        init(_ columns: [PostgresColumn]) {
            self.columns = columns
            var index: [String: Int] = [:]
            for (i, c) in columns.enumerated() where index[c.name] == nil { index[c.name] = i }
            self.index = index
        }
    }

    let shared: Columns
    /// Text values in column order; nil is SQL NULL.
    public let values: [String?]

    public var columns: [PostgresColumn] { shared.columns }
    public var count: Int { values.count }

    public func cell(_ index: Int) -> PostgresCell? {
        guard values.indices.contains(index) else { return nil }
        return PostgresCell(column: shared.columns[index], text: values[index])
    }

    /// The first column with that name (as `psql` would show it).
    public func cell(_ name: String) -> PostgresCell? {
        shared.index[name].flatMap(cell)
    }

    public subscript<T: PostgresDecodable>(_ name: String, as type: T.Type) -> T {
        get throws {
            guard let cell = cell(name) else {
                throw PostgresError(kind: .decoding, message: "no column named \"\(name)\"")
            }
            return try T.decode(cell)
        }
    }

    public subscript<T: PostgresDecodable>(_ index: Int, as type: T.Type) -> T {
        get throws {
            guard let cell = cell(index) else {
                throw PostgresError(kind: .decoding, message: "no column at index \(index) (row has \(count))")
            }
            return try T.decode(cell)
        }
    }
}

/// A Swift type that can be read from a text-format result field.
public protocol PostgresDecodable {
    /// Called for NULL too (`cell.text == nil`); non-optional types throw then.
    static func decode(_ cell: PostgresCell) throws -> Self
}

extension PostgresDecodable {
    static func nonNull(_ cell: PostgresCell) throws -> String {
        guard let text = cell.text else {
            throw PostgresError(kind: .decoding, message: "column \"\(cell.column.name)\" is NULL; read it as \(Self.self)?")
        }
        return text
    }

    static func mismatch(_ cell: PostgresCell) -> PostgresError {
        PostgresError(kind: .decoding,
                      message: "column \"\(cell.column.name)\" (type oid \(cell.column.typeOID)) cannot be read as \(Self.self)")
    }

    static func parsed(_ cell: PostgresCell, _ parse: (String) -> Self?) throws -> Self {
        guard let value = parse(try nonNull(cell)) else { throw mismatch(cell) }
        return value
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Wrapped? {
        cell.isNull ? nil : try Wrapped.decode(cell)
    }
}

extension String: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> String { try nonNull(cell) }
}
extension Int: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int { try parsed(cell) { Int($0) } }
}
extension Int64: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int64 { try parsed(cell) { Int64($0) } }
}
extension Int32: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int32 { try parsed(cell) { Int32($0) } }
}
extension Int16: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Int16 { try parsed(cell) { Int16($0) } }
}
extension UInt32: PostgresDecodable {  // oid, xid
    public static func decode(_ cell: PostgresCell) throws -> UInt32 { try parsed(cell) { UInt32($0) } }
}
extension UUID: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> UUID { try parsed(cell) { UUID(uuidString: $0) } }
}

extension Double: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Double {
        try parsed(cell) { text in
            switch text {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: return Double(text)  // also numeric columns, with rounding
            }
        }
    }
}

extension Bool: PostgresDecodable {
    public static func decode(_ cell: PostgresCell) throws -> Bool {
        try parsed(cell) { text in
            switch text {
            case "t", "true": return true
            case "f", "false": return false
            default: return nil
            }
        }
    }
}

extension Date: PostgresDecodable {
    /// timestamptz, timestamp (taken as UTC) and date; ±infinity map to distantFuture/Past.
    public static func decode(_ cell: PostgresCell) throws -> Date { try parsed(cell, PostgresTimestamp.parse) }
}

extension Data: PostgresDecodable {
    /// bytea in hex output format (`\x…`), which the connection selects at startup.
    public static func decode(_ cell: PostgresCell) throws -> Data {
        try parsed(cell) { text in Bytea.decodeHex(text).map { Data($0) } }
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public static func decode(_ cell: PostgresCell) throws -> [UInt8] { try parsed(cell, Bytea.decodeHex) }
}

enum Bytea {
    static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"),
              utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}
