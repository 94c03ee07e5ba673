import Foundation
import Synchronization

/// A dedicated OS thread for blocking calls (read, write, fsync, waitpid …), so the Swift
/// cooperative pool never blocks. Jobs run one at a time in submission order. The thread ends
/// when the `IOThread` is released or `stop()` is called, after queued jobs finish.
public final class IOThread: Sendable {
    private final class Shared: Sendable {
        struct Queue {
            var jobs: [@Sendable () -> Void] = []
            var stopped = false
        }
        let queue = Mutex(Queue())
        let wakeup = DispatchSemaphore(value: 0)

        func loop() {
            while true {
                wakeup.wait()
                let job: (@Sendable () -> Void)? = queue.withLock { q in q.jobs.isEmpty ? nil : q.jobs.removeFirst() }
                guard let job else { return }  // an empty wake-up only comes from stop()
                job()
            }
        }

        func stop() {
            let first = queue.withLock { q in
                defer { q.stopped = true }
                return !q.stopped
            }
            if first { wakeup.signal() }
        }
    }

    private let shared = Shared()

    public init(name: String) {
        let shared = self.shared
        let thread = Thread { shared.loop() }
        thread.name = name
        thread.stackSize = 512 << 10
        thread.start()
    }

    deinit { shared.stop() }

    public func stop() { shared.stop() }

    /// Runs `body` on the thread and resumes the caller with its result.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let accepted = shared.queue.withLock { q in
                if q.stopped { return false }
                q.jobs.append { continuation.resume(with: Result { try body() }) }
                return true
            }
            if accepted {
                shared.wakeup.signal()
            } else {
                continuation.resume(throwing: AgentError(.internal, "I/O thread already stopped"))
            }
        }
    }
}

/// Thin, EINTR-safe wrappers over POSIX calls; they throw `POSIXFailure` with the call name.
struct POSIXFailure: Error, CustomStringConvertible {
    var call: String
    var code: Int32
    var description: String { "\(call): \(String(cString: strerror(code)))" }
}

enum POSIX {
    /// Reads until at least `minimum` bytes arrived or EOF (at most `capacity`); empty = EOF.
    static func readChunk(_ fd: Int32, capacity: Int, minimum: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: capacity) { raw, count in
            count = 0
            while count < minimum {
                let n = Glibc.read(fd, raw.baseAddress! + count, capacity - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw POSIXFailure(call: "read", code: errno)
                }
                if n == 0 { break }
                count += n
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure(call: "write", code: errno)
            }
            offset += n
        }
    }

    static func close(_ fd: Int32) { _ = Glibc.close(fd) }
}
