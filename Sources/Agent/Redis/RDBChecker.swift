import BackstopCore

/// CRC-64/Jones as Redis computes it for RDB files and DUMP payloads: reflected, polynomial
/// 0xad93d23594c935a9, initial value 0, no final xor (check value of "123456789" is
/// 0xe9c6d914c4b8d9ca).
public struct CRC64: Sendable {
    /// The polynomial bit-reversed, for the reflected (LSB-first) table.
    static let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    static let table: [UInt64] = (0..<256).map { index in
        var crc = UInt64(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
        return crc
    }

    public private(set) var value: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in updateBuffer(buffer) }
        if done == nil { Array(bytes).withUnsafeBufferPointer { updateBuffer($0) } }
    }

    private mutating func updateBuffer(_ buffer: UnsafeBufferPointer<UInt8>) {
        var crc = value
        Self.table.withUnsafeBufferPointer { table in
            for byte in buffer { crc = table[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8) }
        }
        value = crc
    }
}

/// Checks an RDB file as its bytes stream past, without holding it: the `REDIS` magic and
/// four-digit version, the EOF opcode (0xFF) before the trailer, and the trailing 8-byte
/// little-endian CRC-64 over everything before it (RDB version 5 and later).
public struct RDBChecker: Sendable {
    private var crc = CRC64()
    private var head: [UInt8] = []
    /// The last ≤ 8 bytes seen: not yet in the CRC, because they may be the trailer.
    private var holdback: [UInt8] = []
    /// The last byte fed to the CRC: the byte just before the trailer at the end.
    private var lastFed: UInt8?
    public private(set) var bytes: Int64 = 0

    public init() {}

    public mutating func update(_ chunk: [UInt8]) {
        guard !chunk.isEmpty else { return }
        bytes += Int64(chunk.count)
        if head.count < 9 { head += chunk.prefix(9 - head.count) }
        if chunk.count >= 8 {
            feed(holdback[...])
            feed(chunk[..<(chunk.count - 8)])
            holdback = Array(chunk.suffix(8))
        } else {
            var all = holdback + chunk
            if all.count > 8 {
                feed(all[..<(all.count - 8)])
                all.removeFirst(all.count - 8)
            }
            holdback = all
        }
    }

    private mutating func feed(_ slice: ArraySlice<UInt8>) {
        guard let last = slice.last else { return }
        crc.update(slice)
        lastFed = last
    }

    /// The RDB version from the header, when the header is well formed.
    public var version: Int? {
        guard head.count == 9, head.starts(with: Array("REDIS".utf8)),
              head[5...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(String(decoding: head[5...], as: UTF8.self))
    }

    /// `format` (magic + version), `rdbEnd` (EOF opcode) and `rdbChecksum` results.
    public func results() -> [CheckResult] {
        let shownHead = String(decoding: head.prefix(9).map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
        guard let version, version >= 1 else {
            return [CheckResult(name: "format", passed: false, expected: "REDIS + 4-digit version",
                                actual: bytes == 0 ? "empty" : "\"\(shownHead)\"", message: "not an RDB file")]
        }
        var results = [CheckResult(name: "format", passed: true, expected: "REDIS + 4-digit version", actual: shownHead)]
        guard version >= 5 else {
            // Before version 5 there is no checksum trailer; only the EOF opcode ends the file.
            let last = holdback.last ?? lastFed
            results.append(CheckResult(name: "rdbEnd", passed: last == 0xFF, expected: "EOF opcode 0xFF",
                                       actual: last.map { "0x" + String($0, radix: 16) } ?? "none"))
            return results
        }
        guard bytes >= 9 + 1 + 8 else {
            results.append(CheckResult(name: "rdbEnd", passed: false, expected: "EOF opcode and 8-byte checksum",
                                       actual: "\(bytes) bytes", message: "truncated"))
            return results
        }
        results.append(CheckResult(name: "rdbEnd", passed: lastFed == 0xFF, expected: "EOF opcode 0xFF before the checksum",
                                   actual: lastFed.map { "0x" + String($0, radix: 16) } ?? "none",
                                   message: lastFed == 0xFF ? nil : "truncated or corrupt"))
        let stored = holdback.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        let computed = crc.value
        if stored == 0 {
            results.append(CheckResult(name: "rdbChecksum", passed: true, expected: "CRC-64", actual: "0",
                                       message: "the server wrote no checksum (rdbchecksum no); structure checks only"))
        } else {
            results.append(CheckResult(name: "rdbChecksum", passed: stored == computed, expected: Self.hex(stored),
                                       actual: Self.hex(computed), message: stored == computed ? "CRC-64/Jones" : "CRC-64 mismatch"))
        }
        return results
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
