import HTTP
import Testing
import TestSupport

/// Misbehaving servers: each failure is a typed `HTTPError`, never a crash or a hang.
@Suite("HTTP client: misbehaving servers give typed errors")
struct HTTPFailureTests {
    @Test func serverClosesMidBody() async throws {
        let server = try await HTTPTestServer.start()
        let error = await httpError { _ = try await HTTPClient().data(HTTPRequest(url: server.url("/close-mid-body"))) }
        #expect(error?.kind == .connectionClosed)
        #expect(error?.request == "GET \(server.url("/close-mid-body"))")
    }

    @Test func malformedChunk() async throws {
        let server = try await HTTPTestServer.start()
        let error = await httpError { _ = try await HTTPClient().data(HTTPRequest(url: server.url("/bad-chunk"))) }
        #expect(error?.kind == .protocolError)
    }

    @Test func replyThatIsNotHTTP() async throws {
        let server = try await HTTPTestServer.start()
        let error = await httpError { _ = try await HTTPClient().data(HTTPRequest(url: server.url("/garbage"))) }
        #expect(error?.kind == .protocolError)
    }

    @Test func hungConnectionTimesOutWithinItsBound() async throws {
        let server = try await HTTPTestServer.start()
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(1)
        let started = ContinuousClock.now
        let error = await httpError {
            _ = try await HTTPClient(configuration: configuration).data(HTTPRequest(url: server.url("/hang")))
        }
        #expect(error?.kind == .timedOut)
        // Generous bound: the machine may be busy; a hang would never return at all.
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func totalTimeoutEndsAnEndlessBody() async throws {
        let server = try await HTTPTestServer.start()
        let started = ContinuousClock.now
        let error = await httpError {
            _ = try await HTTPClient().data(HTTPRequest(url: server.url("/forever"), totalTimeout: .milliseconds(700)))
        }
        #expect(error?.kind == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func connectionRefused() async throws {
        let error = await httpError { _ = try await HTTPClient().data(HTTPRequest(url: "http://127.0.0.1:1/")) }
        #expect(error?.kind == .connectFailed)
    }

    @Test func bodyLargerThanTheLimit() async throws {
        let server = try await HTTPTestServer.start()
        let client = HTTPClient()
        let error = await httpError { _ = try await client.data(HTTPRequest(url: server.url("/bytes?n=3000000")), maxBytes: 1 << 20) }
        #expect(error?.kind == .tooLarge)
        let response = try await client.execute(HTTPRequest(url: server.url("/bytes?n=3000000")))
        let streamed = await httpError { _ = try await response.body.collect(upTo: 1 << 20) }
        #expect(streamed?.kind == .tooLarge)
    }

    @Test(arguments: [404, 500, 503])
    func unexpectedStatusWhenAsked(status: Int) async throws {
        let server = try await HTTPTestServer.start()
        let response = try await HTTPClient().execute(HTTPRequest(url: server.url("/status/\(status)")))
        #expect(response.status == status)
        let error = await httpError { try await response.expectStatus(200..<300) }
        #expect(error?.kind == .status)
        #expect(error?.status == status)
        #expect(error?.message == "status \(status)")
    }

    @Test func unsupportedScheme() async throws {
        let error = await httpError { _ = try await HTTPClient().data(HTTPRequest(url: "file:///etc/passwd")) }
        #expect(error != nil)
        #expect(error?.kind != .cancelled)
    }
}
