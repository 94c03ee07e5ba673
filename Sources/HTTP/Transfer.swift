import CCurl
import Synchronization

/// One request in flight. Buffers and waiters live in `state` behind a lock and are shared by
/// the loop thread (curl callbacks, see TransferEasy.swift) and the consuming tasks. Every
/// continuation is resumed after the lock is released.
final class Transfer: @unchecked Sendable {
    typealias HeadWaiter = UnsafeContinuation<Result<HTTPResponseHead, HTTPError>, Never>
    typealias BodyWaiter = UnsafeContinuation<Result<[UInt8]?, HTTPError>, Never>
    typealias PumpWaiter = UnsafeContinuation<Bool, Never>

    struct State {
        var head: HTTPResponseHead?
        var headWaiter: HeadWaiter?
        /// Set once, by the loop's completion or by a cancel: the transfer is over.
        var outcome: Result<Void, HTTPError>?
        // Response body: chunks[next...] are unread.
        var chunks: [[UInt8]] = []
        var next = 0
        var buffered = 0
        var recvPaused = false
        var bodyWaiter: BodyWaiter?
        // Request body: upload[0] is partly sent up to uploadOffset.
        var upload: [[UInt8]] = []
        var uploadOffset = 0
        var uploadBuffered = 0
        var uploadEnded = false
        var uploadFailure: String?
        var sendPaused = false
        var pumpWaiter: PumpWaiter?
        var pumpTask: Task<Void, Never>?

        mutating func popChunk() -> [UInt8]? {
            guard next < chunks.count else { return nil }
            let chunk = chunks[next]
            chunks[next] = []
            next += 1
            if next == chunks.count { chunks.removeAll(keepingCapacity: true); next = 0 }
            buffered -= chunk.count
            return chunk
        }
    }

    let request: HTTPRequest
    let requestDescription: String
    let configuration: HTTPClientConfiguration
    let loop: CurlLoop
    let state = Mutex(State())
    private let highWater: Int
    private let lowWater: Int
    private let coalesceLimit: Int
    /// Loop thread only: already queued for `flush` in this pass.
    var queuedForFlush = false

    // Owned by the loop thread only (TransferEasy.swift).
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var headerFields: [HTTPHeaders.Field] = []
    let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 256)

    init(request: HTTPRequest, configuration: HTTPClientConfiguration, loop: CurlLoop) {
        self.request = request
        self.requestDescription = request.description
        self.configuration = configuration
        self.loop = loop
        highWater = max(configuration.maxBufferedBytes, 1)
        lowWater = highWater / 2
        coalesceLimit = max(configuration.receiveBufferSize, 16 << 10)
        errorBuffer.initialize(repeating: 0, count: 256)
        state.withLock { s in
            switch request.body.storage {
            case .empty: s.uploadEnded = true
            case .bytes(let bytes):
                s.upload = bytes.isEmpty ? [] : [bytes]
                s.uploadBuffered = bytes.count
                s.uploadEnded = true
            case .stream: break
            }
        }
    }

    deinit { errorBuffer.deallocate() }

    // MARK: consumer side

    /// Registers for the response head, then hands the transfer to the loop.
    func start() async -> Result<HTTPResponseHead, HTTPError> {
        await withUnsafeContinuation { (c: HeadWaiter) in
            let immediate: Result<HTTPResponseHead, HTTPError>? = state.withLock { s in
                if let head = s.head { return .success(head) }
                if case .failure(let e)? = s.outcome { return .failure(e) }
                s.headWaiter = c
                return nil
            }
            if let immediate { c.resume(returning: immediate) } else { loop.submit(.add(self)) }
        }
    }

    func nextChunk() async -> Result<[UInt8]?, HTTPError> {
        await withUnsafeContinuation { (c: BodyWaiter) in
            var unpause = false
            let immediate: Result<[UInt8]?, HTTPError>? = state.withLock { s in
                if let chunk = s.popChunk() {
                    if s.recvPaused && s.buffered <= lowWater { s.recvPaused = false; unpause = true }
                    return .success(chunk)
                }
                switch s.outcome {
                case .success?: return .success(nil)
                case .failure(let e)?: return .failure(e)
                case nil: break
                }
                if s.recvPaused { s.recvPaused = false; unpause = true }
                s.bodyWaiter = c
                return nil
            }
            if unpause { loop.submit(.unpause(self)) }
            if let immediate { c.resume(returning: immediate) }
        }
    }

    /// Ends the transfer now (task cancelled, body dropped): waiters get `.cancelled` at once and
    /// the loop removes the handle, which closes the connection.
    func cancel() {
        let error = HTTPError.cancelled(requestDescription)
        let finished = finish(.failure(error), head: nil, dropBufferedBody: true)
        if finished { loop.submit(.abort(self)) }
    }

    // MARK: request body pump

    func attachPump(_ task: Task<Void, Never>) {
        let over = state.withLock { s in
            if s.outcome != nil { return true }
            s.pumpTask = task
            return false
        }
        if over { task.cancel() }
    }

    /// Queues a chunk for upload; waits while too much is queued. False: the transfer is over.
    func write(_ chunk: [UInt8]) async -> Bool {
        await withUnsafeContinuation { (c: PumpWaiter) in
            var unpause = false
            let immediate: Bool? = state.withLock { s in
                guard s.outcome == nil else { return false }
                s.upload.append(chunk)
                s.uploadBuffered += chunk.count
                if s.sendPaused { s.sendPaused = false; unpause = true }
                if s.uploadBuffered >= highWater { s.pumpWaiter = c; return nil }
                return true
            }
            if unpause { loop.submit(.unpause(self)) }
            if let immediate { c.resume(returning: immediate) }
        }
    }

    func endUpload(failure: String?) {
        let unpause = state.withLock { s in
            s.uploadEnded = true
            s.uploadFailure = failure
            defer { s.sendPaused = false }
            return s.sendPaused
        }
        if unpause { loop.submit(.unpause(self)) }
    }

    // MARK: loop side (called on the loop thread only)

    /// Records the head; the waiter is resumed by `flushHead` after the loop's current pass, so
    /// a small response's body and end are usually in place before the caller wakes (one
    /// thread hand-off per request instead of three).
    func deliverHead(_ head: HTTPResponseHead) {
        let recorded: Bool = state.withLock { s in
            guard s.head == nil, s.outcome == nil else { return false }
            s.head = head
            return true
        }
        if recorded { loop.flushAfterPass(self) }
    }

    /// Resumes the head waiter, or a body waiter with the chunk buffered during this pass.
    func flush() {
        var headReady: (HeadWaiter, HTTPResponseHead)?
        var bodyReady: (BodyWaiter, [UInt8])?
        state.withLock { s in
            if let head = s.head, let waiter = s.headWaiter {
                s.headWaiter = nil
                headReady = (waiter, head)
            }
            if let waiter = s.bodyWaiter, let chunk = s.popChunk() {
                s.bodyWaiter = nil
                bodyReady = (waiter, chunk)
            }
        }
        if let (waiter, head) = headReady { waiter.resume(returning: .success(head)) }
        if let (waiter, chunk) = bodyReady { waiter.resume(returning: .success(chunk)) }
    }

    var headDelivered: Bool { state.withLock { $0.head != nil } }

    /// Write callback: takes body bytes, or returns false to pause the transfer because the
    /// reader is behind (libcurl then keeps the bytes and offers them again on unpause).
    /// libcurl hands over at most 16 KiB per call; pieces are coalesced into chunks of up to
    /// `receiveBufferSize`, and a waiting reader is woken once per loop pass (`flush`).
    func receive(_ raw: UnsafeRawBufferPointer) -> Bool {
        // Typed, so `append(contentsOf:)` is one memcpy rather than a byte loop.
        let bytes = raw.assumingMemoryBound(to: UInt8.self)
        var wake = false
        let accepted: Bool = state.withLock { s in
            if s.outcome != nil { return true }  // being aborted: drop
            if s.buffered >= highWater { s.recvPaused = true; return false }
            if s.next < s.chunks.count, s.chunks[s.chunks.count - 1].count + bytes.count <= coalesceLimit {
                s.chunks[s.chunks.count - 1].append(contentsOf: bytes)
            } else {
                var chunk: [UInt8] = []
                chunk.reserveCapacity(bytes.count >= 16 << 10 ? coalesceLimit : bytes.count)
                chunk.append(contentsOf: bytes)
                s.chunks.append(chunk)
            }
            s.buffered += bytes.count
            wake = s.bodyWaiter != nil
            return true
        }
        if wake { loop.flushAfterPass(self) }
        return accepted
    }

    enum SendResult { case bytes(Int), pause, abort }

    /// Read callback: fills `buffer` from the queued request body.
    func send(into buffer: UnsafeMutableRawBufferPointer) -> SendResult {
        var waiter: PumpWaiter?
        let result: SendResult = state.withLock { s in
            if s.outcome != nil || s.uploadFailure != nil { return .abort }
            if s.uploadBuffered == 0 {
                if s.uploadEnded { return .bytes(0) }
                s.sendPaused = true
                return .pause
            }
            var copied = 0
            while copied < buffer.count, !s.upload.isEmpty {
                let n = s.upload[0].withUnsafeBytes { src in
                    let n = min(src.count - s.uploadOffset, buffer.count - copied)
                    buffer.baseAddress!.advanced(by: copied).copyMemory(from: src.baseAddress!.advanced(by: s.uploadOffset), byteCount: n)
                    return n
                }
                copied += n
                s.uploadOffset += n
                if s.uploadOffset == s.upload[0].count { s.upload.removeFirst(); s.uploadOffset = 0 }
            }
            s.uploadBuffered -= copied
            if s.uploadBuffered <= lowWater, let w = s.pumpWaiter { s.pumpWaiter = nil; waiter = w }
            return .bytes(copied)
        }
        waiter?.resume(returning: true)
        return result
    }

    /// Which directions must stay paused when the loop unpauses.
    var pausedDirections: (recv: Bool, send: Bool) { state.withLock { ($0.recvPaused, $0.sendPaused) } }

    var uploadFailure: String? { state.withLock { $0.uploadFailure } }

    /// Records the outcome once and wakes every waiter. False if it was already over.
    @discardableResult
    func finish(_ result: Result<Void, HTTPError>, head: HTTPResponseHead?, dropBufferedBody: Bool = false) -> Bool {
        var headWaiter: HeadWaiter?, bodyWaiter: BodyWaiter?, pumpWaiter: PumpWaiter?, pump: Task<Void, Never>?
        var headResult: Result<HTTPResponseHead, HTTPError> = .failure(.cancelled(requestDescription))
        var bodyResult: Result<[UInt8]?, HTTPError>?
        let first: Bool = state.withLock { s in
            guard s.outcome == nil else { return false }
            s.outcome = result
            if dropBufferedBody { s.chunks = []; s.next = 0; s.buffered = 0 }
            if s.head == nil, case .success = result, let head { s.head = head }
            switch result {
            case .failure(let e): headResult = .failure(e)
            case .success: if let head = s.head { headResult = .success(head) }
            }
            headWaiter = s.headWaiter; s.headWaiter = nil
            bodyWaiter = s.bodyWaiter; s.bodyWaiter = nil
            if bodyWaiter != nil, let chunk = s.popChunk() { bodyResult = .success(chunk) }
            pumpWaiter = s.pumpWaiter; s.pumpWaiter = nil
            pump = s.pumpTask; s.pumpTask = nil
            s.upload = []
            return true
        }
        headWaiter?.resume(returning: headResult)
        bodyWaiter?.resume(returning: bodyResult ?? result.map { nil })
        pumpWaiter?.resume(returning: false)
        pump?.cancel()
        return first
    }
}

/// Handed to a request body's source: `write` waits while the upload buffer is full.
struct UploadSink: Sendable {
    let transfer: Transfer
    func write(_ chunk: [UInt8]) async -> Bool { await transfer.write(chunk) }
}
