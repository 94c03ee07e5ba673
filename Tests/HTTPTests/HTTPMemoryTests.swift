import HTTP
import Testing
import TestSupport

/// Process RSS is shared by every test in the process, so these two run one after the other.
@Suite("HTTP client: memory stays flat for large bodies", .serialized)
struct HTTPMemoryTests {
    /// Reads `path` at no more than ~200 MB/s (the server sends several times faster) and
    /// returns (bytes, chunks out of place, peak RSS growth).
    func readSlowly(_ client: HTTPClient, _ server: HTTPTestServer, bytes total: Int,
                    initialStall: Duration = .zero) async throws -> (Int, Int, Int) {
        let before = residentBytes()
        var peak = before
        let response = try await client.execute(HTTPRequest(url: server.url("/bytes?n=\(total)")))
        #expect(response.head.contentLength == Int64(total))
        try await Task.sleep(for: initialStall)
        var offset = 0, misplaced = 0, sincePause = 0
        for try await chunk in response.body {
            // Spot-check order and completeness without a slow per-byte loop.
            if chunk.first != UInt8(offset % 251) || chunk.last != UInt8((offset + chunk.count - 1) % 251) { misplaced += 1 }
            offset += chunk.count
            sincePause += chunk.count
            if sincePause >= 4 << 20 {
                sincePause = 0
                peak = max(peak, residentBytes())
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        return (offset, misplaced, max(peak, residentBytes()) - before)
    }

    @Test func oneGiBDownloadWithFlatMemoryWhileReadingSlowly() async throws {
        let server = try await HTTPTestServer.start()
        let total = 1 << 30
        let (received, misplaced, growth) = try await readSlowly(HTTPClient(), server, bytes: total)
        #expect(received == total)
        #expect(misplaced == 0)
        #expect(growth < 64 << 20, "RSS grew by \(growth >> 20) MiB")
    }

    /// The control: with the buffer bound lifted, the same slow reader makes RSS grow, so the
    /// flat-memory test above measures the back-pressure and not luck.
    @Test func withoutTheBufferBoundMemoryGrows() async throws {
        let server = try await HTTPTestServer.start()
        var configuration = HTTPClientConfiguration()
        configuration.maxBufferedBytes = 1 << 30
        let total = 256 << 20
        let (received, _, growth) = try await readSlowly(HTTPClient(configuration: configuration), server, bytes: total,
                                                         initialStall: .seconds(2))
        #expect(received == total)
        #expect(growth > 128 << 20, "RSS grew by only \(growth >> 20) MiB")
    }
}
