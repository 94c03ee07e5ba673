import Crypto
import Foundation

/// The single path every artifact byte takes on its way to a store: counted, hashed
/// (SHA-256) and forwarded to the upload. Keeps the first bytes for format checks.
public actor ArtifactOutput {
    public static let headLength = 64

    private let upload: any ArtifactUpload
    private var hasher = SHA256()
    private let progress: ProgressLog
    private let label: String
    private var nextReport: Int64
    private let reportEvery: Int64
    public private(set) var bytesWritten: Int64 = 0
    /// The first `headLength` bytes (magic numbers live there).
    public private(set) var head: [UInt8] = []

    public init(upload: any ArtifactUpload, progress: ProgressLog = .silent, label: String = "backup",
                reportEvery: Int64 = 256 << 20) {
        self.upload = upload
        self.progress = progress
        self.label = label
        self.reportEvery = reportEvery
        nextReport = reportEvery
    }

    public func write(_ chunk: ByteChunk) async throws {
        guard !chunk.isEmpty else { return }
        if Task.isCancelled { throw AgentError(.terminated, "stopped after \(bytesWritten) bytes") }
        if head.count < Self.headLength { head += chunk.prefix(Self.headLength - head.count) }
        hasher.update(data: chunk)
        bytesWritten += Int64(chunk.count)
        try await upload.write(chunk)
        if bytesWritten >= nextReport {
            progress("\(label): \(formatBytes(bytesWritten)) written")
            nextReport += reportEvery
        }
    }

    /// Drains `stream` into the upload. On failure the stream is cancelled (its producer
    /// stopped) before the error propagates.
    public func copy(from stream: any ByteStream) async throws {
        do {
            while let chunk = try await stream.next() { try await write(chunk) }
        } catch {
            await stream.cancel()
            throw error
        }
    }

    /// Lowercase hex SHA-256 of everything written so far (the hasher is not consumed).
    public func sha256Hex() -> String { Self.hex(hasher.finalize()) }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// SHA-256 and size of a stream or file that is only read (verify, restore download).
public struct StreamDigest: Sendable {
    private var hasher = SHA256()
    public private(set) var bytes: Int64 = 0

    public init() {}

    public mutating func update(_ chunk: ByteChunk) {
        hasher.update(data: chunk)
        bytes += Int64(chunk.count)
    }

    public func hex() -> String { ArtifactOutput.hex(hasher.finalize()) }
}
