import Foundation

/// `backstop status --watch`: reads the five kinds every `interval` and draws the report again
/// only when it changed (compared as the JSON document without its `generatedAt`, so ages
/// ticking by do not redraw). Text mode clears the terminal first; JSON mode writes one document
/// per line (NDJSON) for scripts. A failed read is shown and retried: during an incident the API
/// server may be the thing that is struggling. Ends when the calling task is cancelled (Ctrl-C).
public struct StatusWatch: Sendable {
    public enum Output: Sendable { case text, json }

    public var output: Output
    public var interval: Duration
    /// Clear the screen before each text frame (a terminal); off when piped.
    public var clearScreen: Bool

    public init(output: Output, interval: Duration = .seconds(2), clearScreen: Bool) {
        self.output = output
        self.interval = interval
        self.clearScreen = clearScreen
    }

    /// Returns the number of frames drawn.
    @discardableResult
    public func run(fetch: @Sendable () async throws -> StatusSnapshot, write: @Sendable (String) -> Void,
                    now: @Sendable () -> Date = { Date() }) async -> Int {
        var last: StatusDocument?
        var lastError: String?
        var frames = 0
        while !Task.isCancelled {
            do {
                let snapshot = try await fetch()
                let time = now()
                var doc = StatusDocument(snapshot, now: time)
                let generatedAt = doc.generatedAt
                doc.generatedAt = ""
                if doc != last || lastError != nil {
                    last = doc
                    lastError = nil
                    doc.generatedAt = generatedAt
                    write(try frame(doc, snapshot: snapshot, now: time))
                    frames += 1
                }
            } catch is CancellationError {
                break
            } catch {
                let text = "\(error)"
                if text != lastError {
                    lastError = text
                    write("backstop status: cannot read the cluster (retrying every \(interval)): \(text)\n")
                }
            }
            try? await Task.sleep(for: interval)
        }
        return frames
    }

    func frame(_ doc: StatusDocument, snapshot: StatusSnapshot, now: Date) throws -> String {
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(doc), as: UTF8.self) + "\n"
        case .text:
            let clock = ISO8601DateFormatter().string(from: now)
            let header = "backstop status --watch: changed at \(clock), checked every \(interval); Ctrl-C to stop.\n\n"
            return (clearScreen ? "\u{1B}[H\u{1B}[2J" : "\n") + header + StatusReport.render(snapshot, now: now)
        }
    }
}
