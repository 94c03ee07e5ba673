import Foundation
import Synchronization

/// One dedicated OS thread per connection that runs every blocking libpq call, so the Swift
/// cooperative pool is never blocked. Jobs run strictly in submission order.
final class PostgresWorker: Sendable {
    private struct Queue {
        var jobs: [@Sendable () -> Void] = []
        var stopped = false
    }

    private let queue = Mutex(Queue())
    private let wakeup = DispatchSemaphore(value: 0)

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func loop() {
        while true {
            wakeup.wait()
            let job: (@Sendable () -> Void)? = queue.withLock { q in
                q.jobs.isEmpty ? nil : q.jobs.removeFirst()
            }
            guard let job else { return }  // woken with an empty queue only by `stop`
            job()
        }
    }

    /// Runs `job` on the worker thread. Jobs submitted after `stop` are dropped.
    func submit(_ job: @escaping @Sendable () -> Void) {
        let accepted = queue.withLock { q in
            if q.stopped { return false }
            q.jobs.append(job)
            return true
        }
        if accepted { wakeup.signal() }
    }

    /// Lets queued jobs finish, then ends the thread.
    func stop() {
        let first = queue.withLock { q in
            defer { q.stopped = true }
            return !q.stopped
        }
        if first { wakeup.signal() }
    }

    /// Runs `body` on the worker thread and resumes the caller with its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let accepted = queue.withLock { q in
                if q.stopped { return false }
                q.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if accepted {
                wakeup.signal()
            } else {
                continuation.resume(throwing: PostgresError(kind: .connectionClosed, message: "the connection is closed"))
            }
        }
    }
}
