import Foundation

/// The ClickHouse artifact: one stream of frames, so tables of unknown size follow each other
/// without buffering (a tar entry needs its size up front).
///
///     magic "BSCH\0\u{1}\r\n"
///     frame = type (1 byte) · length (UInt32 big-endian) · payload
///       'T' table header   JSON `ClickHouseArchive.Table`
///       'D' data           raw `FORMAT Native` bytes of the table (any number of frames)
///       'E' table end      JSON `ClickHouseArchive.TableEnd` (rows, bytes, sha256 of its D payloads)
///       'X' archive end    JSON `ClickHouseArchive.End`; nothing may follow it
///
/// Data tables come first, schema-only objects (views) last, so restoring in file order
/// creates what a view selects from before the view.
enum ClickHouseArchive {
    static let magic: [UInt8] = Array("BSCH".utf8) + [0, 1, 13, 10]
    static let maxFrame = 64 << 20

    struct Table: Codable, Sendable, Hashable {
        var database: String
        var name: String
        var engine: String
        /// `SHOW CREATE TABLE` as the server printed it.
        var create: String
        /// False for views and engines without own data (Distributed, Merge…).
        var hasData: Bool
        /// The partitions exported when `partitionMaxAge` selected some (nil: all rows).
        var partitions: [String]?
        var filter: String?
    }

    struct TableEnd: Codable, Sendable, Hashable {
        var rows: Int64?
        var bytes: Int64
        var sha256: String
        /// A column type whose layout the agent does not decode; rows were not counted.
        var uncountedType: String?
    }

    struct End: Codable, Sendable, Hashable {
        var tables: Int
    }

    static func frame(_ type: Character, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [type.asciiValue!, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }

    static func frame<T: Encodable>(_ type: Character, json value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return frame(type, Array(try encoder.encode(value)))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ payload: [UInt8], what: String) throws -> T {
        do { return try JSONDecoder().decode(type, from: Data(payload)) } catch {
            throw AgentError(.formatInvalid, "clickhouse artifact: unreadable \(what) record")
        }
    }
}

/// Reads frames from a byte stream, holding at most one frame plus one chunk.
final class ClickHouseFrameReader: @unchecked Sendable {
    // Used by one task at a time (the restore loop, or the insert body it is awaiting).
    private let stream: any ByteStream
    private var buffer: [UInt8] = []
    private var start = 0
    private var sawMagic = false
    private var ended = false
    /// A frame read ahead by `DataFrames` (the 'E' that ends a table's data).
    var pending: (type: Character, payload: [UInt8])?

    init(stream: any ByteStream) { self.stream = stream }

    private func fill(_ count: Int) async throws -> Bool {
        while buffer.count - start < count {
            guard let chunk = try await stream.next() else { return false }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            buffer += chunk
        }
        return true
    }

    /// The next frame, or nil at the end of the stream (which must come right after 'X').
    func next() async throws -> (type: Character, payload: [UInt8])? {
        if let pending {
            self.pending = nil
            return pending
        }
        if !sawMagic {
            guard try await fill(ClickHouseArchive.magic.count),
                  Array(buffer[start..<start + ClickHouseArchive.magic.count]) == ClickHouseArchive.magic else {
                throw AgentError(.formatInvalid, "clickhouse artifact: bad magic (not a backstop ClickHouse archive)")
            }
            start += ClickHouseArchive.magic.count
            sawMagic = true
        }
        guard try await fill(5) else {
            if buffer.count - start > 0 { throw AgentError(.formatInvalid, "clickhouse artifact: truncated frame header") }
            return nil
        }
        if ended { throw AgentError(.formatInvalid, "clickhouse artifact: data after the end record") }
        let type = Character(UnicodeScalar(buffer[start]))
        let length = Int(buffer[start + 1]) << 24 | Int(buffer[start + 2]) << 16 | Int(buffer[start + 3]) << 8 | Int(buffer[start + 4])
        guard "TDEX".contains(type), length <= ClickHouseArchive.maxFrame else {
            throw AgentError(.formatInvalid, "clickhouse artifact: bad frame header at a frame of type \(buffer[start])")
        }
        guard try await fill(5 + length) else { throw AgentError(.formatInvalid, "clickhouse artifact: truncated (a frame is cut off)") }
        let payload = Array(buffer[start + 5..<start + 5 + length])
        start += 5 + length
        if type == "X" { ended = true }
        return (type, payload)
    }

    func cancel() async { await stream.cancel() }
}

/// The 'D' payloads of one table as an async sequence (an INSERT request body); stops at the
/// table's 'E' frame, which it leaves in `reader.pending`.
struct ClickHouseDataFrames: AsyncSequence, @unchecked Sendable {
    typealias Element = [UInt8]
    let reader: ClickHouseFrameReader

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ClickHouseFrameReader
        var done = false

        mutating func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            guard let frame = try await reader.next() else {
                throw AgentError(.formatInvalid, "clickhouse artifact: truncated inside table data")
            }
            if frame.type == "D" { return frame.payload }
            reader.pending = frame
            done = true
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
}
