import Foundation

/// One tar entry as the agent writes and reads it (POSIX ustar with pax extended headers for
/// long names, long link targets and sizes ≥ 8 GiB).
public struct TarEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file, directory, symlink
        /// Anything else found in an archive (hard link, device, FIFO, …): refused on restore.
        case other(UInt8)
    }

    /// Relative, slash-separated, without a leading `./` or trailing `/`.
    public var path: String
    public var kind: Kind
    public var mode: UInt32
    public var uid: Int
    public var gid: Int
    public var size: Int64
    public var mtime: Int64
    public var linkTarget: String

    public init(path: String, kind: Kind, mode: UInt32, uid: Int = 0, gid: Int = 0, size: Int64 = 0, mtime: Int64 = 0,
                linkTarget: String = "") {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime = mtime
        self.linkTarget = linkTarget
    }

    var typeFlag: UInt8 {
        switch kind {
        case .file: UInt8(ascii: "0")
        case .directory: UInt8(ascii: "5")
        case .symlink: UInt8(ascii: "2")
        case .other(let flag): flag
        }
    }
}

enum TarHeader {
    static let block = 512
    static let maxOctalSize: Int64 = 0o77777777777

    /// The header block(s) for `entry`: a pax `x` header first when a field does not fit ustar.
    static func encode(_ entry: TarEntry) -> [UInt8] {
        let name = entry.kind == .directory ? entry.path + "/" : entry.path
        var pax: [(String, String)] = []
        if name.utf8.count > 100 { pax.append(("path", name)) }
        if entry.linkTarget.utf8.count > 100 { pax.append(("linkpath", entry.linkTarget)) }
        if entry.size > maxOctalSize { pax.append(("size", String(entry.size))) }
        if entry.uid > 0o7777777 { pax.append(("uid", String(entry.uid))) }
        if entry.gid > 0o7777777 { pax.append(("gid", String(entry.gid))) }
        var out: [UInt8] = []
        if !pax.isEmpty {
            var records: [UInt8] = []
            for (key, value) in pax { records += paxRecord(key, value) }
            let paxEntry = TarEntry(path: "PaxHeaders", kind: .other(UInt8(ascii: "x")),
                                    mode: 0o644, size: Int64(records.count), mtime: entry.mtime)
            out += ustar(paxEntry, name: "PaxHeaders/" + String(decoding: name.utf8.suffix(80), as: UTF8.self))
            out += records
            out += [UInt8](repeating: 0, count: padding(Int64(records.count)))
        }
        out += ustar(entry, name: name)
        return out
    }

    /// `"<len> key=value\n"` where len counts the whole record including its own digits.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n".utf8.count
        var length = body + String(body).count
        if String(length).count != String(body).count { length = body + String(length).count }
        return Array("\(length) \(key)=\(value)\n".utf8)
    }

    static func padding(_ size: Int64) -> Int { Int((512 - size % 512) % 512) }

    private static func ustar(_ entry: TarEntry, name: String) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: block)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int, width: Int) {
            for (i, byte) in bytes.prefix(width).enumerated() { header[offset + i] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let clamped = value < 0 ? 0 : min(value, Int64(pow(8.0, Double(width - 1))) - 1)
            let digits = String(clamped, radix: 8)
            put(Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8), at: offset, width: width - 1)
        }
        put(name.utf8, at: 0, width: 100)
        octal(Int64(entry.mode & 0o7777), at: 100, width: 8)
        octal(Int64(entry.uid), at: 108, width: 8)
        octal(Int64(entry.gid), at: 116, width: 8)
        octal(entry.kind == .file || entry.kind == .other(UInt8(ascii: "x")) ? entry.size : 0, at: 124, width: 12)
        octal(entry.mtime, at: 136, width: 12)
        header[156] = entry.typeFlag
        put(entry.linkTarget.utf8, at: 157, width: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148, width: 8)
        let sum = header.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        put(Array((String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8) + [0, UInt8(ascii: " ")], at: 148, width: 8)
        return header
    }

    /// Parses one 512-byte ustar (or GNU) header; nil for an all-zero block (end of archive).
    static func decode(_ block: ArraySlice<UInt8>) throws -> (entry: TarEntry, rawName: String)? {
        let base = block.startIndex
        if block.allSatisfy({ $0 == 0 }) { return nil }
        func field(_ offset: Int, _ width: Int) -> ArraySlice<UInt8> { block[(base + offset)..<(base + offset + width)] }
        func string(_ offset: Int, _ width: Int) -> String {
            let bytes = field(offset, width)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        func number(_ offset: Int, _ width: Int) throws -> Int64 {
            let bytes = field(offset, width)
            if let first = bytes.first, first & 0x80 != 0 {
                // GNU base-256 for large values.
                return bytes.dropFirst().reduce(Int64(first & 0x7f)) { ($0 << 8) | Int64($1) }
            }
            let text = String(decoding: bytes.drop { $0 == UInt8(ascii: " ") }.prefix { $0 != 0 && $0 != UInt8(ascii: " ") }, as: UTF8.self)
            if text.isEmpty { return 0 }
            guard let value = Int64(text, radix: 8) else { throw AgentError(.formatInvalid, "tar header: bad numeric field \"\(text)\"") }
            return value
        }
        let stored = try number(148, 8)
        var sum = 0
        for (i, byte) in block.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
        guard stored == sum else { throw AgentError(.formatInvalid, "tar header checksum mismatch (not a tar archive, or corrupt)") }
        guard string(257, 6).hasPrefix("ustar") else { throw AgentError(.formatInvalid, "tar header without ustar magic") }
        var name = string(0, 100)
        let prefix = string(345, 155)
        if !prefix.isEmpty { name = prefix + "/" + name }
        let flag = block[base + 156]
        let kind: TarEntry.Kind = switch flag {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): .file
        case UInt8(ascii: "5"): .directory
        case UInt8(ascii: "2"): .symlink
        default: .other(flag)
        }
        let entry = TarEntry(path: name, kind: kind, mode: UInt32(truncatingIfNeeded: try number(100, 8)),
                             uid: Int(try number(108, 8)), gid: Int(try number(116, 8)), size: try number(124, 12),
                             mtime: try number(136, 12), linkTarget: string(157, 100))
        return (entry, name)
    }

    /// `path=…`, `linkpath=…`, `size=…` records of a pax header.
    static func parsePax(_ bytes: [UInt8]) throws -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            guard let space = bytes[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: bytes[index..<space], as: UTF8.self)), length > 0,
                  index + length <= bytes.count else {
                throw AgentError(.formatInvalid, "malformed pax extended header")
            }
            let record = bytes[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return records
    }
}
