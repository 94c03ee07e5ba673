import Foundation
import HTTP
import Synchronization
import Testing
import TestSupport

@Suite("HTTP client: requests and streamed bodies against a local server")
struct HTTPStreamingTests {
    @Test func smallGet() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let (head, body) = try await client.data(HTTPRequest(url: server.url("/hello")))
        #expect(head.status == 200)
        #expect(head.httpVersion == "1.1")
        #expect(head.headers["content-length"] == "5")
        #expect(body == Array("hello".utf8))
    }

    @Test func bearerTokenIsSentButNeverDescribed() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let request = HTTPRequest(url: server.url("/headers?x=secret-query"), headers: ["X-Test": "1"],
                                  authorization: .bearer("tok-3141592653"))
        let echoed = try await client.json([String: String].self, request.url)
        #expect(echoed["authorization"] == nil)
        let (_, body) = try await client.data(request)
        let headers = try JSONDecoder().decode([String: String].self, from: Data(body))
        #expect(headers["authorization"] == "Bearer tok-3141592653")
        #expect(headers["x-test"] == "1")
        #expect(headers["expect"] == nil)
        let described = "\(request) \(request.authorization!)"
        #expect(!described.contains("tok-3141592653"))
        #expect(!described.contains("secret-query"))
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        for _ in 0..<50 {
            let (head, _) = try await client.data(HTTPRequest(url: server.url("/hello")))
            #expect(head.status == 200)
        }
        let stats = try await client.json(ServerStats.self, server.url("/stats"))
        #expect(stats.connections == 1)
    }

    @Test func endlessChunkedStreamStopsPromptlyWhenCancelled() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let received = Atomic<Int>(0)
        let response = try await client.execute(HTTPRequest(url: server.url("/forever")))
        #expect(response.headers["transfer-encoding"] == "chunked")
        let reader = Task {
            for try await chunk in response.body { received.add(chunk.count, ordering: .relaxed) }
        }
        while received.load(ordering: .relaxed) < 100 { try await Task.sleep(for: .milliseconds(10)) }
        let cancelledAt = ContinuousClock.now
        reader.cancel()
        let error = await httpError { try await reader.value }
        #expect(error?.kind == .cancelled)
        // Milliseconds when idle; generous because CI runs every suite at once on two cores.
        #expect(ContinuousClock.now - cancelledAt < .seconds(5))
        // The server sees the connection closed: only the stats request's own stays open.
        #expect(try await client.waitForOpenConnections(server, 1) == 1)
    }

    @Test func droppingAnUnreadBodyAbortsTheTransfer() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        do {
            let response = try await client.execute(HTTPRequest(url: server.url("/forever")))
            #expect(response.status == 200)
        }
        #expect(try await client.waitForOpenConnections(server, 1) == 1)
    }

    @Test func pausedReaderDoesNotTripTheIdleTimeout() async throws {
        let server = try await HTTPTestServer.start()
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(1)
        let client = HTTPClient(configuration: configuration)
        let total = 32 << 20
        let response = try await client.execute(HTTPRequest(url: server.url("/bytes?n=\(total)")))
        var iterator = response.body.makeAsyncIterator()
        var count = try await iterator.next()?.count ?? 0
        try await Task.sleep(for: .milliseconds(2500))  // the transfer sits paused meanwhile
        while let chunk = try await iterator.next() { count += chunk.count }
        #expect(count == total)
    }

    @Test(arguments: [true, false])
    func uploadFromAStream(lengthKnown: Bool) async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let total = 48 << 20 + 12345
        let body = HTTPRequestBody.stream(PatternChunks(total: total), length: lengthKnown ? Int64(total) : nil)
        let (head, bytes) = try await client.data(HTTPRequest(method: .put, url: server.url("/upload"), body: body))
        #expect(head.status == 200)
        let report = try JSONDecoder().decode(UploadReport.self, from: Data(bytes))
        #expect(report.bytes == total)
        #expect(report.pattern)
        #expect(report.chunked == !lengthKnown)
        let (_, expected) = try await client.data(HTTPRequest(url: server.url("/pattern-sha256?n=\(total)")))
        #expect(report.sha256 == String(decoding: expected, as: UTF8.self))
    }

    @Test func postBytes() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let payload = (0..<100_000).map { UInt8($0 % 251) }
        let (_, bytes) = try await client.data(HTTPRequest(method: .post, url: server.url("/upload"), body: .bytes(payload)))
        let report = try JSONDecoder().decode(UploadReport.self, from: Data(bytes))
        #expect(report.bytes == payload.count)
        #expect(report.pattern)
    }

    @Test func aFailingBodySourceFailsTheRequest() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let body = HTTPRequestBody.stream(PatternChunks(total: 8 << 20, failAfter: 1 << 20), length: 8 << 20)
        let error = await httpError { _ = try await client.data(HTTPRequest(method: .put, url: server.url("/upload"), body: body)) }
        #expect(error?.kind == .requestBody)
        #expect(error?.message.contains("SourceFailed") == true)
    }

    @Test func concurrentRequestsShareTheLoop() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 1...20 {
                group.addTask { try await client.data(HTTPRequest(url: server.url("/bytes?n=\(i * 100_000)"))).1.count }
            }
            return try await group.reduce(0, +)
        }
        #expect(sizes == (1...20).reduce(0) { $0 + $1 * 100_000 })
    }
}
