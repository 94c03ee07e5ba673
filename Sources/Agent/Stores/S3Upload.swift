import Foundation
import HTTP

/// A streamed multipart upload. Bytes fill an in-memory part; a full part is sent while the
/// next one fills (at most two parts in memory). The part size grows with the stream so the
/// 10,000-part limit always suffices: 8 MiB for parts 1–1000, then doubling every 1000 parts
/// (8 MiB × 1000 × (2¹⁰ − 1) ≈ 8 TB > S3's 5 TiB object limit). Up to ≈ 23 GiB (parts of at
/// most 16 MiB) memory stays under ~40 MiB; larger streams hold proportionally larger parts.
/// Nothing is visible until `complete`; any failure aborts the upload (retried, because the
/// server that failed the part may be briefly unreachable).
actor S3Upload: ArtifactUpload {
    static let basePartSize = 8 << 20

    static func partSize(forPart number: Int) -> Int {
        basePartSize << min(10, (number - 1) / 1000)
    }

    private let client: S3Client
    private let bucket: String
    private let key: String
    private let uploadID: String
    private var buffer: [UInt8] = []
    private var nextPart = 1
    private var completed: [S3CompletedPart] = []
    private var inFlight: Task<S3CompletedPart, any Error>?
    private var ended = false

    init(client: S3Client, bucket: String, key: String, uploadID: String) {
        self.client = client
        self.bucket = bucket
        self.key = key
        self.uploadID = uploadID
        buffer.reserveCapacity(Self.basePartSize)
    }

    func write(_ chunk: ByteChunk) async throws {
        guard !ended else { throw AgentError(.internal, "write after the upload ended") }
        var rest = chunk[...]
        while !rest.isEmpty {
            let room = Self.partSize(forPart: nextPart) - buffer.count
            buffer += rest.prefix(room)
            rest = rest.dropFirst(room)
            if buffer.count == Self.partSize(forPart: nextPart) { try await sendBuffer() }
        }
    }

    /// Waits for the previous part, then starts sending the buffered one.
    private func sendBuffer() async throws {
        try await collectInFlight()
        let body = buffer
        buffer = []
        buffer.reserveCapacity(Self.partSize(forPart: nextPart + 1))
        let number = nextPart
        nextPart += 1
        let (client, bucket, key, uploadID) = (self.client, self.bucket, self.key, self.uploadID)
        inFlight = Task {
            let etag = try await client.uploadPart(bucket: bucket, key: key, uploadID: uploadID, partNumber: number, body: .bytes(body))
            return S3CompletedPart(partNumber: number, etag: etag)
        }
    }

    private func collectInFlight() async throws {
        guard let task = inFlight else { return }
        inFlight = nil
        do {
            completed.append(try await task.value)
        } catch {
            throw S3Store.agentError(error, what: "s3://\(bucket): upload part of \(key)")
        }
    }

    func commit() async throws {
        guard !ended else { throw AgentError(.internal, "commit after the upload ended") }
        // The last part may be short (or the only part); an empty stream still needs one part.
        if !buffer.isEmpty || nextPart == 1 { try await sendBuffer() }
        try await collectInFlight()
        ended = true
        do {
            try await client.completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: completed)
        } catch {
            await abortUpload()
            throw S3Store.agentError(error, what: "s3://\(bucket): complete upload of \(key)")
        }
    }

    func abort() async {
        guard !ended else { return }
        ended = true
        await abortUpload()
    }

    /// Runs detached so the abort requests go out even when the caller was cancelled (SIGTERM).
    private func abortUpload() async {
        let inFlight = self.inFlight
        self.inFlight = nil
        buffer = []
        let (client, bucket, key, uploadID) = (self.client, self.bucket, self.key, self.uploadID)
        await Task.detached {
            inFlight?.cancel()
            _ = try? await inFlight?.value
            await Self.abortMultipart(client: client, bucket: bucket, key: key, uploadID: uploadID)
        }.value
    }

    private static func abortMultipart(client: S3Client, bucket: String, key: String, uploadID: String) async {
        // A stalled or restarting server may refuse the first attempts: keep trying for ~30 s,
        // because an abandoned multipart upload keeps its parts (and costs) forever.
        for attempt in 0..<8 {
            do {
                try await client.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
                return
            } catch let error as S3Error where error.code == "NoSuchUpload" {
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(250 << min(attempt, 4)))
            }
        }
    }
}
