import Foundation
import HTTP
import TestSupport

/// The body bytes /bytes sends and /upload checks: byte i is i % 251. Generated lazily, so a
/// slow consumer really applies back-pressure to the producer.
struct PatternChunks: AsyncSequence, Sendable {
    var total: Int
    var chunkSize = 64 << 10
    /// Pattern position of the first byte, so several streams can continue one pattern.
    var start = 0
    /// Throw after this many bytes, to test failing sources.
    var failAfter: Int?

    struct SourceFailed: Error {}

    struct AsyncIterator: AsyncIteratorProtocol {
        let spec: PatternChunks
        var offset = 0
        mutating func next() async throws -> [UInt8]? {
            if let limit = spec.failAfter, offset >= limit { throw SourceFailed() }
            guard offset < spec.total else { return nil }
            let n = Swift.min(spec.chunkSize, spec.total - offset)
            let chunk = patternBytes(from: spec.start + offset, count: n)
            offset += n
            return chunk
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(spec: self) }
}

func patternBytes(from start: Int, count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var value = UInt8(start % 251)
        for i in 0..<count {
            buffer[i] = value
            value = value == 250 ? 0 : value + 1
        }
        initialized = count
    }
}

struct ServerStats: Decodable { var connections: Int; var open: Int }
struct UploadReport: Decodable { var bytes: Int; var sha256: String; var chunked: Bool; var pattern: Bool }

extension HTTPClient {
    func json<T: Decodable>(_ type: T.Type, _ url: String) async throws -> T {
        let (head, body) = try await data(HTTPRequest(url: url))
        guard head.status == 200 else { throw HTTPTestFailure("GET \(url): \(head.status)") }
        return try JSONDecoder().decode(T.self, from: Data(body))
    }

    /// Waits until the server has `count` open connections (the stats request's own included).
    func waitForOpenConnections(_ server: HTTPTestServer, _ count: Int, within: Duration = .seconds(10)) async throws -> Int {
        let deadline = ContinuousClock.now + within
        var open = -1
        while ContinuousClock.now < deadline {
            open = try await json(ServerStats.self, server.url("/stats")).open
            if open == count { return open }
            try await Task.sleep(for: .milliseconds(50))
        }
        return open
    }
}

struct HTTPTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Resident set size of this process, from /proc/self/status.
func residentBytes(_ field: String = "VmRSS") -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

/// Runs `body` and returns its error as an HTTPError (nil when it did not throw one).
func httpError(_ body: () async throws -> Void) async -> HTTPError? {
    do { try await body(); return nil } catch let error as HTTPError { return error } catch { return nil }
}
