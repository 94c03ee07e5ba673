import CLibPQ
import Synchronization

extension PostgresConnection {
    /// Starts `COPY … TO STDOUT` and returns its data as a stream of chunks of about
    /// `chunkSize` bytes. The stream is pulled: each chunk is read from the socket only when
    /// asked for, so memory stays bounded by one chunk however large the table is. The
    /// connection is busy until the stream ends; an abandoned stream is cancelled and drained.
    public func copyOut(_ sql: String, chunkSize: Int = 1 << 16) async throws -> PostgresCopyOutStream {
        let session = sessionForCopy
        try await workerForCopy.run(cancel: cancelForCopy) { try session.startCopy(sql, expect: .out) }
        return PostgresCopyOutStream(state: CopyOutState(connection: self, chunkSize: max(1, chunkSize)))
    }

    /// Runs `COPY … FROM STDIN` fed from `source` (any async sequence of byte sequences: `[UInt8]`,
    /// `Data`, or a `PostgresCopyOutStream`). Small chunks are coalesced to ~`flushSize` bytes;
    /// at most one such buffer is held. Returns the number of rows copied. If `source` throws or
    /// the task is cancelled, the COPY is aborted (nothing is committed) and the error rethrown.
    @discardableResult
    public func copyIn<Source: AsyncSequence>(isolation: isolated (any Actor)? = #isolation, _ sql: String,
                                              from source: Source, flushSize: Int = 1 << 18) async throws -> Int
    where Source.Element: Sequence, Source.Element.Element == UInt8 {
        let session = sessionForCopy, worker = workerForCopy, cancel = cancelForCopy
        try await worker.run(cancel: cancel) { try session.startCopy(sql, expect: .in) }
        do {
            var pending = [UInt8]()
            for try await chunk in source {
                try Task.checkCancellation()
                pending.append(contentsOf: chunk)
                if pending.count >= flushSize {
                    let data = pending
                    pending.removeAll(keepingCapacity: true)
                    try await worker.run(cancel: cancel) { try session.putCopyData(data) }
                }
            }
            if !pending.isEmpty {
                let data = pending
                try await worker.run(cancel: cancel) { try session.putCopyData(data) }
            }
            return try await worker.run(cancel: cancel) { try session.endCopyIn() }
        } catch {
            // Unstructured so that a cancelled caller still gets the COPY aborted.
            await Task { _ = try? await worker.run { session.abortCopyIn() } }.value
            throw error
        }
    }
}

/// The data of a `COPY … TO STDOUT`, in order. Single pass: iterate it once.
public struct PostgresCopyOutStream: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    let state: CopyOutState

    /// Rows copied, from the server's final `COPY n` tag; nil until the stream has ended.
    public var rowCount: Int? { state.rowCount.withLock { $0 } }

    public func makeAsyncIterator() -> Iterator { Iterator(state: state) }

    public struct Iterator: AsyncIteratorProtocol {
        let state: CopyOutState

        public mutating func next() async throws -> [UInt8]? {
            try await state.next()
        }
    }
}

final class CopyOutState: Sendable {
    let connection: PostgresConnection
    let chunkSize: Int
    let finished = Atomic<Bool>(false)
    let rowCount = Mutex<Int?>(nil)

    init(connection: PostgresConnection, chunkSize: Int) {
        self.connection = connection
        self.chunkSize = chunkSize
    }

    func next() async throws -> [UInt8]? {
        if finished.load(ordering: .acquiring) { return nil }
        let session = connection.sessionForCopy, limit = chunkSize
        do {
            let (chunk, count) = try await connection.workerForCopy.run(cancel: connection.cancelForCopy) {
                try session.readCopyChunk(limit: limit)
            }
            if let count {
                rowCount.withLock { $0 = count }
                finished.store(true, ordering: .releasing)
            }
            return chunk.isEmpty && count != nil ? nil : chunk
        } catch {
            // A failed read has left COPY state; a cancel before the read started has not.
            finished.store(true, ordering: .releasing)
            let cancel = connection.cancelForCopy
            connection.workerForCopy.submit { session.abandonCopyOut(cancel) }
            throw error
        }
    }

    deinit {
        guard !finished.load(ordering: .acquiring) else { return }
        let session = connection.sessionForCopy, cancel = connection.cancelForCopy
        connection.workerForCopy.submit { session.abandonCopyOut(cancel) }
    }
}

extension PostgresSession {
    func startCopy(_ sql: String, expect kind: CopyKind) throws {
        let conn = try requireIdle()
        notices.removeAll()
        guard let result = PQexec(conn, sql) else { throw connectionError(conn) }
        let status = PQresultStatus(result)
        if (kind == .out && status == PGRES_COPY_OUT) || (kind == .in && status == PGRES_COPY_IN) {
            PQclear(result)
            copyInProgress = kind
            return
        }
        _ = try consume(result, conn: conn)  // throws the server error, or leaves a wrong COPY state
        let expected = kind == .out ? "COPY … TO STDOUT" : "COPY … FROM STDIN"
        throw PostgresError(kind: .misuse, message: "the statement is not a \(expected)")
    }

    /// Up to `limit` bytes; the second value is the row count once the COPY has ended.
    func readCopyChunk(limit: Int) throws -> ([UInt8], Int?) {
        guard let conn, copyInProgress == .out else {
            throw PostgresError(kind: .misuse, message: "no COPY TO STDOUT is in progress")
        }
        var out = [UInt8]()
        out.reserveCapacity(limit)
        var buffer: UnsafeMutablePointer<CChar>?
        while out.count < limit {
            let n = PQgetCopyData(conn, &buffer, 0)
            if n > 0, let bytes = buffer {
                out.append(contentsOf: UnsafeRawBufferPointer(start: bytes, count: Int(n)))
                PQfreemem(bytes)
                buffer = nil
                continue
            }
            // -1: COPY finished; -2: failure. Either way the outcome is in the next result.
            copyInProgress = nil
            let result = PQgetResult(conn)
            defer { drainResults(conn) }
            let summary = try consume(result, conn: conn)
            return (out, summary.affectedRows ?? 0)
        }
        return (out, nil)
    }

    func abandonCopyOut(_ cancel: CancelHandle) {
        guard let conn, copyInProgress == .out else { return }
        cancel.sendCancelRequest()
        discardCopyOut(conn)
        drainResults(conn)
        copyInProgress = nil
    }

    func putCopyData(_ data: [UInt8]) throws {
        guard let conn, copyInProgress == .in else {
            throw PostgresError(kind: .misuse, message: "no COPY FROM STDIN is in progress")
        }
        let rc = data.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
        }
        guard rc == 1 else { throw finishFailedCopyIn(conn) }
    }

    func endCopyIn() throws -> Int {
        guard let conn, copyInProgress == .in else {
            throw PostgresError(kind: .misuse, message: "no COPY FROM STDIN is in progress")
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw finishFailedCopyIn(conn) }
        copyInProgress = nil
        let result = PQgetResult(conn)
        defer { drainResults(conn) }
        return try consume(result, conn: conn).affectedRows ?? 0
    }

    func abortCopyIn() {
        guard let conn, copyInProgress == .in else { return }
        PQputCopyEnd(conn, "aborted by the client")
        drainResults(conn)
        copyInProgress = nil
    }

    /// After a failed put/end: leave COPY state and report the server's error if it sent one.
    private func finishFailedCopyIn(_ conn: OpaquePointer) -> PostgresError {
        copyInProgress = nil
        var error = connectionError(conn)
        while let result = PQgetResult(conn) {
            let status = PQresultStatus(result)
            if status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE { error = serverError(result, conn: conn) }
            if status == PGRES_COPY_IN { PQputCopyEnd(conn, "aborted by the client") }
            PQclear(result)
        }
        return error
    }
}
