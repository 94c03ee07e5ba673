import Foundation
import Synchronization

/// What every step gets: where progress goes, the clock, a scratch directory and where the
/// external tools are. Tests pass their own; the CLI uses `AgentContext.standard`.
public struct AgentContext: Sendable {
    public var progress: ProgressLog
    public var now: @Sendable () -> Date
    /// Scratch space for downloads and password files (an emptyDir in a Job).
    public var workDirectory: String
    public var tools: ToolLocator

    public init(progress: ProgressLog = .standardError, now: @escaping @Sendable () -> Date = { Date() },
                workDirectory: String = NSTemporaryDirectory(), tools: ToolLocator = ToolLocator()) {
        self.progress = progress
        self.now = now
        self.workDirectory = workDirectory
        self.tools = tools
    }
}

/// Progress lines for humans (stderr in the CLI): `2026-01-28T02:00:03Z backup: 512 MiB sent`.
public struct ProgressLog: Sendable {
    let sink: @Sendable (String) -> Void

    public init(_ sink: @escaping @Sendable (String) -> Void) { self.sink = sink }

    public func callAsFunction(_ message: String) { sink(message) }

    /// One `write(2)` per line: lines from concurrent tasks never interleave mid-line.
    public static let standardError = ProgressLog { message in
        let line = Array("\(UTCTimestampNow()) \(message)\n".utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    public static let silent = ProgressLog { _ in }

    /// Collects lines in memory (tests assert on them, e.g. that no secret is printed).
    public static func collecting(into box: LineCollector) -> ProgressLog { ProgressLog { box.append($0) } }
}

public final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])
    public init() {}
    public func append(_ line: String) { storage.withLock { $0.append(line) } }
    public var lines: [String] { storage.withLock { $0 } }
}

func UTCTimestampNow() -> String {
    var t = time(nil)
    var parts = tm()
    gmtime_r(&t, &parts)
    return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                  parts.tm_hour, parts.tm_min, parts.tm_sec)
}

/// Finds external tools: an explicit directory first (e.g. the PostgreSQL bindir matching the
/// server), then `PATH`.
public struct ToolLocator: Sendable {
    public var directories: [String]

    public init(directories: [String] = []) { self.directories = directories }

    public func find(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in directories + path.split(separator: ":").map(String.init) where !dir.isEmpty {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw AgentError(.toolMissing, "\(name) not found (looked in \((directories + ["PATH"]).joined(separator: ", ")))")
    }
}

/// Human sizes for progress lines.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
}
