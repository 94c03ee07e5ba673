import Foundation
import HTTP
import Testing
import TestSupport

/// HTTP/2 is used when the server offers it: against nghttpd (which speaks only HTTP/2) the
/// negotiated version is "2" for downloads, concurrent requests and streamed uploads; against
/// an HTTP/1.1-only TLS server the same client falls back to "1.1".
@Suite("HTTP client: HTTP/2 by ALPN", .serialized)
struct HTTP2Tests {
    func client(_ pki: HTTPTestCertificates) -> HTTPClient {
        var configuration = HTTPClientConfiguration()
        configuration.tls = TLSConfiguration(trustRoots: .file(pki.caFile))
        return HTTPClient(configuration: configuration)
    }

    @Test func downloadsConcurrentRequestsAndUploadsUseHTTP2() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await HTTP2TestServer.start(certificateFile: pki.serverCertificateFile, keyFile: pki.serverKeyFile)
        defer { server.stop() }
        let payload = patternBytes(from: 0, count: 3 << 20)
        try Data(payload).write(to: server.documentRoot.appendingPathComponent("blob"))
        try Data("hello h2".utf8).write(to: server.documentRoot.appendingPathComponent("hello.txt"))
        let client = client(pki)

        let (head, body) = try await client.data(HTTPRequest(url: server.url("/hello.txt")))
        #expect(head.status == 200)
        #expect(head.httpVersion == "2")
        #expect(body == Array("hello h2".utf8))

        let (blobHead, blob) = try await client.data(HTTPRequest(url: server.url("/blob")))
        #expect(blobHead.httpVersion == "2" && blob.count == payload.count && blob == payload)

        let versions = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<16 {
                group.addTask {
                    let (h, b) = try await client.data(HTTPRequest(url: server.url("/hello.txt")))
                    return (h.status == 200 && b.count == 8 ? 200 : h.status, h.httpVersion)
                }
            }
            return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
        }
        #expect(versions.count == 16 && versions.allSatisfy { $0 == (200, "2") })

        // A streamed request body (unknown length) over HTTP/2: nghttpd echoes it back.
        let total = 5 << 20 + 77
        let upload = HTTPRequestBody.stream(PatternChunks(total: total), length: nil)
        let (echoHead, echoed) = try await client.data(HTTPRequest(method: .post, url: server.url("/upload"), body: upload))
        #expect(echoHead.httpVersion == "2")
        #expect(echoed.count == total && echoed == patternBytes(from: 0, count: total))

        let (missing, _) = try await client.data(HTTPRequest(url: server.url("/nope")))
        #expect(missing.status == 404 && missing.httpVersion == "2")
    }

    @Test func fallsBackToHTTP11WhenTheServerDoesNotOfferHTTP2() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await HTTPTestServer.start(tls: .init(certificateFile: pki.serverCertificateFile, keyFile: pki.serverKeyFile))
        let (head, body) = try await client(pki).data(HTTPRequest(url: server.url("/hello")))
        #expect(head.status == 200 && body == Array("hello".utf8))
        #expect(head.httpVersion == "1.1")
    }
}
