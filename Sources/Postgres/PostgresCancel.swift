import CLibPQ
import Dispatch
import Synchronization

/// libpq's PGcancel for a connection. `PQcancel` is thread-safe; the mutex only guards against
/// freeing it while a cancel request is being sent.
final class CancelHandle: Sendable {
    private struct Pointer: @unchecked Sendable { var raw: OpaquePointer? }
    private let pointer: Mutex<Pointer>

    init(_ raw: OpaquePointer?) { pointer = Mutex(Pointer(raw: raw)) }

    /// Blocks while the request is delivered; call it off the cooperative pool.
    func sendCancelRequest() {
        pointer.withLock { p in
            guard let raw = p.raw else { return }
            var errbuf = [CChar](repeating: 0, count: 256)
            _ = PQcancel(raw, &errbuf, Int32(errbuf.count))
        }
    }

    func free() {
        pointer.withLock { p in
            if let raw = p.raw { PQfreeCancel(raw) }
            p.raw = nil
        }
    }
}

/// Ties a task's cancellation to exactly one operation on the worker: a cancel that arrives
/// while the job is still queued stops it before it starts; one that arrives while it runs
/// sends a server-side cancel; one that arrives later does nothing, so it can never hit the
/// next caller's statement.
final class OperationToken: Sendable {
    private enum State { case queued, running, cancelled, done }
    private let state = Mutex(State.queued)
    private let cancelHandle: CancelHandle

    init(_ cancelHandle: CancelHandle) { self.cancelHandle = cancelHandle }

    /// Called on the worker before the job; false when the task was already cancelled.
    func begin() -> Bool {
        state.withLock { s in
            if s == .cancelled { return false }
            s = .running
            return true
        }
    }

    /// Called on the worker when the job is over. Waits for an in-flight cancel request so it
    /// cannot land on the following statement.
    func end() {
        state.withLock { s in s = .done }
    }

    var wasCancelled: Bool { state.withLock { $0 == .cancelled } }

    func cancel() {
        // PQcancel opens a socket and waits; keep it off the cooperative thread that cancels us.
        DispatchQueue.global().async { [self] in
            state.withLock { s in
                switch s {
                case .queued: s = .cancelled
                case .running:
                    s = .cancelled
                    cancelHandle.sendCancelRequest()
                case .cancelled, .done: break
                }
            }
        }
    }
}

extension PostgresWorker {
    /// Runs `body` on the worker with task cancellation mapped to a server-side cancel.
    func run<T: Sendable>(cancel handle: CancelHandle, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        let token = OperationToken(handle)
        return try await withTaskCancellationHandler {
            try await run {
                guard token.begin() else { throw CancellationError() }
                defer { token.end() }
                do {
                    return try body()
                } catch let error as PostgresError where error.sqlState == "57014" && token.wasCancelled {
                    throw CancellationError()
                }
            }
        } onCancel: {
            token.cancel()
        }
    }
}
