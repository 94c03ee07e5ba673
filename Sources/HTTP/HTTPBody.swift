/// A response body: an `AsyncSequence` of byte chunks, read once. The transfer runs only as
/// far ahead of the reader as `maxBufferedBytes`; cancelling the reading task, or dropping the
/// body before its end, aborts the transfer.
public struct HTTPBody: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = HTTPError

    let reader: BodyReader

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: BodyReader
        public mutating func next() async throws(HTTPError) -> [UInt8]? { try await reader.next() }
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(HTTPError) -> [UInt8]? {
            try await reader.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }

    /// Reads the whole body. Beyond `maxBytes` it throws `.tooLarge` (aborting the transfer), or
    /// with `truncating` returns the first `maxBytes` bytes.
    public func collect(upTo maxBytes: Int, truncating: Bool = false) async throws(HTTPError) -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in self {
            if bytes.count + chunk.count > maxBytes {
                if truncating { return bytes + chunk.prefix(maxBytes - bytes.count) }
                reader.transfer.cancel()
                throw HTTPError(kind: .tooLarge, message: "body exceeds \(maxBytes) bytes", request: requestDescription)
            }
            bytes += chunk
        }
        return bytes
    }

    var requestDescription: String { reader.transfer.requestDescription }
}

/// Holds the consumer's end of a transfer; when the last copy of the body goes away unread,
/// the transfer is aborted.
final class BodyReader: Sendable {
    let transfer: Transfer
    init(transfer: Transfer) { self.transfer = transfer }
    deinit { transfer.cancel() }

    func next() async throws(HTTPError) -> [UInt8]? {
        if Task.isCancelled { transfer.cancel() }
        let result = await withTaskCancellationHandler {
            await transfer.nextChunk()
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }
}
