import Foundation
import Synchronization

/// `backstop run` as a child process: the binary built beside this test bundle (build with
/// `BACKSTOP_ONLY=KubeRuntimeTests,BackstopCLI swift build --build-tests`). Output goes to a
/// file; `kill9()` is a real SIGKILL. Exits are observed through `terminationHandler`, so no
/// thread of the cooperative pool ever blocks on the child.
final class BackstopSubprocess: Sendable {
    let process: Process
    let log: URL
    private let exited = ExitState()

    /// The `backstop` executable: `$BACKSTOP_BINARY`, else beside the test bundle.
    static func binary() throws -> String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // BACKSTOP_BINARY: a binary built elsewhere, for running these tests from a filtered build.
        let candidates = [ProcessInfo.processInfo.environment["BACKSTOP_BINARY"]].compactMap { $0 }
            + [bundleDir.appendingPathComponent("backstop").path,
               bundleDir.deletingLastPathComponent().appendingPathComponent("backstop").path]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SubprocessError("no backstop executable next to the tests (build with BACKSTOP_ONLY=KubeRuntimeTests,BackstopCLI); looked in \(candidates)")
        }
        return found
    }

    init(arguments: [String], log: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.binary())
        p.arguments = arguments
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        process = p
        self.log = log
        p.terminationHandler = { [exited] proc in
            try? handle.close()
            let waiters = exited.state.withLock { e in
                e.status = proc.terminationStatus
                defer { e.waiters = [] }
                return e.waiters
            }
            for w in waiters { w.resume(returning: proc.terminationStatus) }
        }
        try p.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { exited.state.withLock { $0.status == nil } }
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func waitForExit() async -> Int32 {
        await withCheckedContinuation { c in
            let status = exited.state.withLock { e -> Int32? in
                if let s = e.status { return s }
                e.waiters.append(c)
                return nil
            }
            if let status { c.resume(returning: status) }
        }
    }

    /// kill -9: no graceful shutdown, the Lease is not released.
    @discardableResult
    func kill9() async -> Int32 {
        if isRunning { kill(pid, SIGKILL) }
        return await waitForExit()
    }

    /// SIGTERM, then SIGKILL if the process is still there after `grace`; nil when it had to be
    /// killed, so a process that ignores SIGTERM fails the test instead of hanging it.
    func terminate(grace: Duration = .seconds(15)) async -> Int32? {
        if isRunning { kill(pid, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        guard !isRunning else {
            await kill9()
            return nil
        }
        return await waitForExit()
    }
}

/// The exit status and its waiters, shared with the termination handler (a Mutex cannot be captured).
final class ExitState: Sendable {
    let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
}

struct SubprocessError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
