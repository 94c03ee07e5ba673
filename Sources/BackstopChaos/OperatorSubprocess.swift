import BackstopDemo
import Foundation
import Synchronization

/// `backstop run` as a child process (the binary built next to the test bundle or the
/// benchmark), with a kubeconfig bound to manifests/ RBAC. Logs go to a file; `kill9()` is a
/// real SIGKILL.
public final class OperatorSubprocess: Sendable {
    public let process: Process
    public let log: URL
    private let exited = ExitState()

    final class ExitState: Sendable {
        let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }

    /// `.build-app/debug/backstop` beside the test bundle (or the repository's build folder).
    public static func backstopBinary() throws -> String {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundleDir.appendingPathComponent("backstop").path,
                          bundleDir.deletingLastPathComponent().appendingPathComponent("backstop").path]
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates += [".build-app/debug/backstop", ".build/debug/backstop"].map { repo.appendingPathComponent($0).path }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw DemoError.missing("the backstop executable next to the tests (build with --build-tests including BackstopCLI); looked in \(candidates)")
        }
        return found
    }

    public init(kubeconfig: URL, agentImage: String, extraArgs: [String] = [], logDirectory: URL, name: String = "operator",
         metricsAddress: String = "127.0.0.1:0") throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try Self.backstopBinary())
        p.arguments = ["run", "--kubeconfig", kubeconfig.path, "--leader-election-namespace", "backstop-system",
                       "--metrics-address", metricsAddress, "--agent-image", agentImage, "--log-format", "text",
                       "--log-level", ProcessInfo.processInfo.environment["BACKSTOP_E2E_LOG_LEVEL"] ?? "info", "--lease-duration-seconds", "3", "--renew-deadline-seconds", "2",
                       "--retry-period-milliseconds", "300", "--grace-period", "3", "--qps", "100", "--burst", "200"] + extraArgs
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        var n = 0
        var log = logDirectory.appendingPathComponent("\(name).log")
        while FileManager.default.fileExists(atPath: log.path) { n += 1; log = logDirectory.appendingPathComponent("\(name)-\(n).log") }
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        self.process = p
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

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { exited.state.withLock { $0.status == nil } }

    public func waitForExit() async -> Int32 {
        await withCheckedContinuation { c in
            let status = exited.state.withLock { e -> Int32? in
                if let s = e.status { return s }
                e.waiters.append(c)
                return nil
            }
            if let status { c.resume(returning: status) }
        }
    }

    /// kill -9, then wait until the process is gone.
    @discardableResult
    public func kill9() async -> Int32 {
        if isRunning { kill(pid, SIGKILL) }
        return await waitForExit()
    }

    /// SIGTERM (graceful), then wait.
    @discardableResult
    public func terminate() async -> Int32 {
        if isRunning { kill(pid, SIGTERM) }
        return await waitForExit()
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}
