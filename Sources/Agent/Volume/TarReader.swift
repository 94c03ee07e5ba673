import Foundation

/// Reads a tar stream entry by entry from a `ByteStream` (the output of `gzip -dc`), applying
/// pax (`x`, `g`) and GNU long-name (`L`, `K`) headers. Memory stays at a chunk or two.
/// Used from one task only.
final class TarReader {
    private let stream: any ByteStream
    private var buffer: [UInt8] = []
    private var offset = 0
    /// Data bytes of the current entry not yet consumed, then its padding.
    private var remaining: Int64 = 0
    private var pad = 0
    private(set) var entries = 0

    init(stream: any ByteStream) { self.stream = stream }

    private var available: Int { buffer.count - offset }

    /// Makes at least `count` bytes available; false at end of stream.
    private func fill(_ count: Int) async throws -> Bool {
        while available < count {
            guard let chunk = try await stream.next() else { return false }
            if offset > 0 {
                buffer.removeFirst(offset)
                offset = 0
            }
            buffer += chunk
        }
        return true
    }

    private func take(_ count: Int) async throws -> ArraySlice<UInt8> {
        guard try await fill(count) else { throw AgentError(.formatInvalid, "tar archive is truncated") }
        defer { offset += count }
        return buffer[offset..<(offset + count)]
    }

    /// The next entry (its data is then read with `readData`), or nil at the end marker.
    func next() async throws -> TarEntry? {
        // Whatever the caller left of the previous entry.
        try await discardData()
        var pax: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while true {
            guard try await fill(TarHeader.block) else {
                throw AgentError(.formatInvalid, "tar archive ends without its end-of-archive blocks (truncated)")
            }
            let block = try await take(TarHeader.block)
            guard let decoded = try TarHeader.decode(block) else { return nil }
            var entry = decoded.entry
            switch entry.kind {
            case .other(UInt8(ascii: "x")), .other(UInt8(ascii: "g")), .other(UInt8(ascii: "L")), .other(UInt8(ascii: "K")):
                guard entry.size <= 1 << 20 else { throw AgentError(.formatInvalid, "oversized tar extended header") }
                let body = Array(try await take(Int(entry.size)))
                _ = try await take(TarHeader.padding(entry.size))
                switch entry.kind {
                case .other(UInt8(ascii: "x")): pax.merge(try TarHeader.parsePax(body)) { _, new in new }
                case .other(UInt8(ascii: "L")): longName = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                case .other(UInt8(ascii: "K")): longLink = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                default: break  // global headers carry nothing we use
                }
                continue
            default:
                break
            }
            if let path = pax["path"] ?? longName { entry.path = path }
            if let link = pax["linkpath"] ?? longLink { entry.linkTarget = link }
            if let size = pax["size"].flatMap({ Int64($0) }) { entry.size = size }
            if let uid = pax["uid"].flatMap({ Int($0) }) { entry.uid = uid }
            if let gid = pax["gid"].flatMap({ Int($0) }) { entry.gid = gid }
            if entry.kind == .directory || entry.kind == .symlink { entry.size = 0 }
            guard entry.size >= 0 else { throw AgentError(.formatInvalid, "tar entry with a negative size") }
            entry.path = Self.normalize(entry.path)
            remaining = entry.size
            pad = TarHeader.padding(entry.size)
            entries += 1
            return entry
        }
    }

    /// The next piece of the current entry's data; nil when it is consumed.
    func readData() async throws -> ArraySlice<UInt8>? {
        guard remaining > 0 else {
            if pad > 0 {
                _ = try await take(pad)
                pad = 0
            }
            return nil
        }
        if available == 0 { guard try await fill(1) else { throw AgentError(.formatInvalid, "tar archive is truncated") } }
        let count = Int(min(Int64(available), remaining, 1 << 20))
        remaining -= Int64(count)
        return try await take(count)
    }

    private func discardData() async throws {
        while try await readData() != nil {}
    }

    /// `./a/b/` → `a/b`; the root itself becomes "". Unsafe forms are kept for the validator.
    static func normalize(_ path: String) -> String {
        var p = Substring(path)
        while p.hasPrefix("./") { p = p.dropFirst(2) }
        while p.hasSuffix("/") && p.count > 1 { p = p.dropLast() }
        return p == "." ? "" : String(p)
    }
}
