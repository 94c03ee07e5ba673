import Foundation
import Synchronization

/// Child processes without blocking the cooperative pool: exits arrive through
/// `Process.terminationHandler` and resume a continuation.
public enum ChildProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var succeeded: Bool { status == 0 }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var result: Result
        public var description: String {
            "\(command) exited with \(result.status): \(result.stderr.suffix(2000))"
        }
    }

    /// Runs `executable args…` to completion, output captured through files (no pipe can fill
    /// up), killed after `timeout`.
    public static func run(_ executable: String, _ args: [String], environment: [String: String] = [:],
                           stdin: String? = nil, timeout: TimeInterval = 120) async throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        defer { try? outHandle.close(); try? errHandle.close() }
        p.standardOutput = outHandle
        p.standardError = errHandle
        if let stdin {
            let input = dir.appendingPathComponent("in")
            try Data(stdin.utf8).write(to: input)
            p.standardInput = try FileHandle(forReadingFrom: input)
        } else {
            p.standardInput = FileHandle.nullDevice
        }
        let status = try await waitForExit(p, timeout: timeout)
        return Result(status: status, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Like `run`, but throws `Failure` on a non-zero exit.
    @discardableResult
    public static func check(_ executable: String, _ args: [String], environment: [String: String] = [:],
                             stdin: String? = nil, timeout: TimeInterval = 120) async throws -> Result {
        let r = try await run(executable, args, environment: environment, stdin: stdin, timeout: timeout)
        guard r.succeeded else {
            throw Failure(command: ([URL(fileURLWithPath: executable).lastPathComponent] + args.prefix(2)).joined(separator: " "), result: r)
        }
        return r
    }

    /// Starts `p` and waits for its exit; SIGKILL after `timeout` unless it has already exited.
    public static func waitForExit(_ p: Process, timeout: TimeInterval) async throws -> Int32 {
        let finished = FinishedFlag()
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, any Error>) in
            p.terminationHandler = { process in
                finished.set()
                c.resume(returning: process.terminationStatus)
            }
            do { try p.run() } catch {
                p.terminationHandler = nil
                c.resume(throwing: error)
                return
            }
            let pid = p.processIdentifier
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                if !finished.isSet { kill(pid, SIGKILL) }
            }
        }
    }

    /// The first of `names` found on PATH (or as an absolute path), nil otherwise.
    public static func which(_ names: String...) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for name in names {
            if name.hasPrefix("/") { if FileManager.default.isExecutableFile(atPath: name) { return name }; continue }
            for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }
}

/// Set once from the termination handler, read by the timeout timer.
final class FinishedFlag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}
