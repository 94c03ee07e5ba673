import Foundation
import Synchronization

/// glibc's pipe2 is not exported through the Glibc module (it needs _GNU_SOURCE); it exists
/// since glibc 2.9. Creating both ends close-on-exec atomically avoids the pipe()+fcntl race.
@_silgen_name("pipe2")
private func systemPipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

/// A child process started with `posix_spawn`: pipes are created close-on-exec (a child
/// never inherits another child's pipe, so EOF always arrives), the child gets an explicit
/// environment (never the agent's own, which may hold secrets), default signal handling and
/// its own process group. `waitpid` runs on a dedicated thread. Secrets go through files
/// (e.g. `PGPASSFILE`), never argv: argv is visible to every user via /proc.
public final class Subprocess: Sendable {
    public enum Input: Sendable {
        case null
        case file(String)
        /// Write through `stdinWriter`.
        case pipe
    }

    public enum Output: Sendable {
        case null
        /// Read through `stdout` (a `ByteStream`).
        case pipe
    }

    public struct Termination: Sendable, Equatable, CustomStringConvertible {
        public var exitCode: Int32?
        public var signal: Int32?
        public var succeeded: Bool { exitCode == 0 }
        public var description: String {
            if let exitCode { return "exit status \(exitCode)" }
            return "killed by signal \(signal ?? 0)"
        }
    }

    public let pid: pid_t
    public let name: String
    /// The child's stdout when `Output.pipe` was asked for.
    public let stdout: FileDescriptorStream?
    /// The child's stdin when `Input.pipe` was asked for.
    public let stdin: PipeWriter?
    private let stderrTail: StderrCollector
    private let termination = Mutex<(result: Termination?, waiters: [CheckedContinuation<Termination, Never>])>((nil, []))

    /// Spawns `executable` (an absolute path). `environment` is the child's whole environment
    /// besides `PATH`, `HOME`, `LC_ALL=C.UTF-8` (English, parseable tool messages) and `TMPDIR`.
    public init(executable: String, arguments: [String], environment: [String: String] = [:],
                stdin input: Input = .null, stdout output: Output = .pipe) throws {
        name = (executable as NSString).lastPathComponent
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": NSTemporaryDirectory(),
                   "TMPDIR": NSTemporaryDirectory()]
        env.merge(environment) { _, new in new }

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        var toClose: [Int32] = []  // child ends, closed in the parent after spawning
        var parentEnds: [Int32] = []
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard systemPipe2(&fds, O_CLOEXEC) == 0 else { throw AgentError(.internal, "pipe2: \(String(cString: strerror(errno)))") }
            _ = fcntl(fds[1], 1031 /* F_SETPIPE_SZ */, 1 << 20)
            return (fds[0], fds[1])
        }
        do {
            var stdinWriteEnd: Int32? = nil
            switch input {
            case .null: posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
            case .file(let path): posix_spawn_file_actions_addopen(&fileActions, 0, path, O_RDONLY, 0)
            case .pipe:
                let p = try makePipe()
                posix_spawn_file_actions_adddup2(&fileActions, p.read, 0)
                toClose.append(p.read); parentEnds.append(p.write); stdinWriteEnd = p.write
            }
            var stdoutReadEnd: Int32? = nil
            switch output {
            case .null: posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
            case .pipe:
                let p = try makePipe()
                posix_spawn_file_actions_adddup2(&fileActions, p.write, 1)
                toClose.append(p.write); parentEnds.append(p.read); stdoutReadEnd = p.read
            }
            let err = try makePipe()
            posix_spawn_file_actions_adddup2(&fileActions, err.write, 2)
            toClose.append(err.write); parentEnds.append(err.read)

            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            defer { posix_spawnattr_destroy(&attributes) }
            var noSignals = sigset_t(), defaults = sigset_t()
            sigemptyset(&noSignals)
            sigfillset(&defaults)
            posix_spawnattr_setsigmask(&attributes, &noSignals)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            posix_spawnattr_setpgroup(&attributes, 0)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

            let argv = ([executable] + arguments).map { strdup($0) } + [nil]
            let envp = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { (argv + envp).forEach { free($0) } }
            var child: pid_t = 0
            let rc = posix_spawn(&child, executable, &fileActions, &attributes, argv, envp)
            toClose.forEach(POSIX.close)
            toClose = []
            guard rc == 0 else {
                throw AgentError(rc == ENOENT || rc == EACCES ? .toolMissing : .internal,
                                 "cannot start \(name): \(String(cString: strerror(rc)))")
            }
            pid = child
            let pgid = child
            stdout = stdoutReadEnd.map {
                FileDescriptorStream(fd: $0, label: "\((executable as NSString).lastPathComponent) output",
                                     failureReason: .toolFailed, onCancel: { kill(-pgid, SIGTERM) })
            }
            stdin = stdinWriteEnd.map { PipeWriter(fd: $0, label: "\((executable as NSString).lastPathComponent) input") }
            stderrTail = StderrCollector(fd: err.read, label: name)
        } catch {
            (toClose + parentEnds).forEach(POSIX.close)
            throw error
        }
        startReaper()
    }

    private func startReaper() {
        let pid = self.pid
        // Holds the Subprocess until the child is reaped; that is what we want.
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS / WTERMSIG spelled out: the macros are not imported.
            let result = (status & 0x7f) == 0
                ? Termination(exitCode: (status >> 8) & 0xff, signal: nil)
                : Termination(exitCode: nil, signal: status & 0x7f)
            let waiters = self.termination.withLock { state in
                state.result = result
                defer { state.waiters = [] }
                return state.waiters
            }
            waiters.forEach { $0.resume(returning: result) }
        }
        thread.name = "wait \(name)"
        thread.stackSize = 128 << 10
        thread.start()
    }

    /// Waits for the child to exit (never blocks the cooperative pool).
    public func wait() async -> Termination {
        await withCheckedContinuation { continuation in
            let done = termination.withLock { state -> Termination? in
                if let result = state.result { return result }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// SIGTERM to the child's process group (tools that fork, like `pg_dump -j`, included).
    public func terminate() { kill(-pid, SIGTERM) }

    /// The last 16 KiB the child wrote to stderr, trimmed; waits for the stream to end.
    public func stderrText() async -> String { await stderrTail.text() }
}

/// Writes chunks into a child's stdin on a dedicated thread; EPIPE (the child stopped
/// reading, e.g. `pg_restore -l` after the table of contents) is reported as `false`.
public final class PipeWriter: Sendable {
    private let io: IOThread
    private let fd: Mutex<Int32?>
    private let label: String

    /// A write to a pipe whose reader exited must fail with EPIPE, not kill the agent.
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    init(fd: Int32, label: String) {
        _ = Self.ignoreSIGPIPE
        io = IOThread(name: "write \(label)")
        self.fd = Mutex(fd)
        self.label = label
    }

    deinit { if let fd = fd.withLock({ $0 }) { POSIX.close(fd) } }

    /// Returns false once the reader has gone away (further writes are dropped).
    @discardableResult
    public func write(_ chunk: ByteChunk) async throws -> Bool {
        guard let fd = fd.withLock({ $0 }) else { return false }
        do {
            try await io.run { try POSIX.writeAll(fd, chunk) }
            return true
        } catch let failure as POSIXFailure where failure.code == EPIPE {
            await close()
            return false
        } catch let failure as POSIXFailure {
            await close()
            throw AgentError(.toolFailed, "writing \(label): \(failure)")
        }
    }

    /// Signals EOF to the child.
    public func close() async {
        guard let fd = fd.withLock({ value -> Int32? in defer { value = nil }; return value }) else { return }
        _ = try? await io.run { POSIX.close(fd) }
        io.stop()
    }
}

/// Drains a child's stderr on its own thread, keeping the last 16 KiB (error messages are
/// at the end); the pipe never fills, so the child never blocks on it.
final class StderrCollector: Sendable {
    private let state = Mutex<(bytes: [UInt8], done: Bool, waiters: [CheckedContinuation<Void, Never>])>(([], false, []))
    private static let limit = 16 << 10

    init(fd: Int32, label: String) {
        let thread = Thread { [self] in
            while true {
                guard let chunk = try? POSIX.readChunk(fd, capacity: 4096, minimum: 1), !chunk.isEmpty else { break }
                self.state.withLock { s in
                    s.bytes += chunk
                    if s.bytes.count > Self.limit { s.bytes.removeFirst(s.bytes.count - Self.limit) }
                }
            }
            POSIX.close(fd)
            let waiters = self.state.withLock { s in
                s.done = true
                defer { s.waiters = [] }
                return s.waiters
            }
            waiters.forEach { $0.resume() }
        }
        thread.name = "stderr \(label)"
        thread.stackSize = 128 << 10
        thread.start()
    }

    /// Waits for EOF on stderr (the child and every process holding its stderr exited).
    func text() async -> String {
        await withCheckedContinuation { continuation in
            let done = state.withLock { s -> Bool in
                if s.done { return true }
                s.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        let bytes = state.withLock { $0.bytes }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

extension Subprocess {
    public struct Completed: Sendable {
        public var termination: Termination
        public var stdout: String
        public var stderr: String
    }

    /// Runs a short tool to completion, collecting stdout (at most `limit` bytes; the rest is
    /// drained and dropped) and the stderr tail.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           stdin: Input = .null, limit: Int = 4 << 20) async throws -> Completed {
        let process = try Subprocess(executable: executable, arguments: arguments, environment: environment, stdin: stdin)
        var collected: [UInt8] = []
        if let out = process.stdout {
            do {
                while let chunk = try await out.next() {
                    if collected.count < limit { collected += chunk.prefix(limit - collected.count) }
                }
            } catch {
                await out.cancel()
                _ = await process.wait()
                throw error
            }
        }
        let termination = await process.wait()
        return Completed(termination: termination, stdout: String(decoding: collected, as: UTF8.self),
                      stderr: await process.stderrText())
    }
}
