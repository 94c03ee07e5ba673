import Foundation
import Logging
import Synchronization

/// One JSON object per line (`ts`, `level`, `logger`, `msg`, then metadata), or a compact text
/// line, written to stderr. Safe to call from any thread; lines never interleave.
public struct JSONLogHandler: LogHandler {
    public enum Format: String, Sendable { case json, text }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public let label: String
    public let format: Format
    private let sink: LogSink

    public init(label: String, level: Logger.Level = .info, format: Format = .json, sink: LogSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
    }

    /// `LoggingSystem.bootstrap` with this handler for every logger.
    public static func bootstrap(level: Logger.Level, format: Format) {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level, format: format) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line: String
        switch format {
        case .json:
            var out = "{\"ts\":\(quote(timestamp())),\"level\":\(quote(event.level.rawValue)),\"logger\":\(quote(label)),\"msg\":\(quote(event.message.description))"
            for key in merged.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
                out += ",\(quote(key)):\(quote(merged[key]!.description))"
            }
            line = out + "}\n"
        case .text:
            var out = "\(timestamp()) \(event.level.rawValue.uppercased()) \(label): \(event.message)"
            for key in merged.keys.sorted() { out += " \(key)=\(merged[key]!.description)" }
            line = out + "\n"
        }
        sink.write(line)
    }

    private func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1000), 6))Z"
    }

    private func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Where log lines go: stderr, or a closure (tests capture lines with it).
public struct LogSink: Sendable {
    let output: @Sendable (String) -> Void
    public init(_ output: @escaping @Sendable (String) -> Void) { self.output = output }

    private static let lock = Mutex(())
    public static let standardError = LogSink { line in
        lock.withLock { _ in
            var bytes = Array(line.utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeMutableBytes { Foundation.write(2, $0.baseAddress! + offset, $0.count - offset) }
                if n <= 0 { break }
                offset += n
            }
        }
    }
    func write(_ line: String) { output(line) }
}
