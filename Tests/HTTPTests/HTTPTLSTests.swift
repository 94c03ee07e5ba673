import HTTP
import Testing
import TestSupport

@Suite("HTTP client: TLS with a throwaway CA")
struct HTTPTLSTests {
    func client(_ tls: TLSConfiguration) -> HTTPClient {
        var configuration = HTTPClientConfiguration()
        configuration.tls = tls
        return HTTPClient(configuration: configuration)
    }

    func serve(_ pki: HTTPTestCertificates, clientCA: Bool = false) async throws -> HTTPTestServer {
        try await HTTPTestServer.start(tls: .init(certificateFile: pki.serverCertificateFile, keyFile: pki.serverKeyFile,
                                                  clientCAFile: clientCA ? pki.caFile : nil))
    }

    @Test func acceptedWithTheCAInMemoryOrAsAFile() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await serve(pki)
        for roots in [TLSConfiguration.PEMSource.pem(try pki.bytes(pki.caFile)), .file(pki.caFile)] {
            let (head, body) = try await client(TLSConfiguration(trustRoots: roots)).data(HTTPRequest(url: server.url("/hello")))
            #expect(head.status == 200)
            #expect(body == Array("hello".utf8))
        }
    }

    @Test func refusedWithoutTheCA() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await serve(pki)
        let system = await httpError { _ = try await client(TLSConfiguration()).data(HTTPRequest(url: server.url("/hello"))) }
        #expect(system?.kind == .tls)
        let otherCA = TLSConfiguration(trustRoots: .pem(try pki.bytes(pki.otherCAFile)))
        let other = await httpError { _ = try await client(otherCA).data(HTTPRequest(url: server.url("/hello"))) }
        #expect(other?.kind == .tls)
    }

    @Test func hostNameMismatchRefused() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await serve(pki)
        // The certificate names only IP 127.0.0.1.
        let error = await httpError {
            _ = try await client(TLSConfiguration(trustRoots: .file(pki.caFile)))
                .data(HTTPRequest(url: "https://localhost:\(server.port)/hello"))
        }
        #expect(error?.kind == .tls)
        #expect(error?.message.contains("localhost") == true)
    }

    @Test func insecureSkipVerifyOnlyWhenAsked() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await serve(pki)
        let (head, _) = try await client(TLSConfiguration(insecureSkipVerify: true))
            .data(HTTPRequest(url: "https://localhost:\(server.port)/hello"))
        #expect(head.status == 200)
    }

    @Test func clientCertificateFromMemoryOrFiles() async throws {
        let pki = try await HTTPTestCertificates.make()
        let server = try await serve(pki, clientCA: true)
        let inMemory = TLSConfiguration(trustRoots: .file(pki.caFile),
                                        clientCertificate: .pem(try pki.bytes(pki.clientCertificateFile)),
                                        clientKey: .pem(try pki.bytes(pki.clientKeyFile)))
        let files = TLSConfiguration(trustRoots: .file(pki.caFile), clientCertificate: .file(pki.clientCertificateFile),
                                     clientKey: .file(pki.clientKeyFile))
        for tls in [inMemory, files] {
            let (head, _) = try await client(tls).data(HTTPRequest(url: server.url("/hello")))
            #expect(head.status == 200)
        }
        let without = await httpError {
            _ = try await client(TLSConfiguration(trustRoots: .file(pki.caFile))).data(HTTPRequest(url: server.url("/hello")))
        }
        #expect(without != nil)
        #expect(without?.kind == .tls || without?.kind == .connectionClosed)
    }
}
