import Foundation

/// A throwaway PKI made with the `openssl` CLI: a CA, a server certificate for IP 127.0.0.1
/// only (so "localhost" is a name mismatch), a client certificate, and an unrelated second CA.
public struct HTTPTestCertificates: Sendable {
    public let directory: URL
    public var caFile: String { path("ca.pem") }
    public var serverCertificateFile: String { path("server.pem") }
    public var serverKeyFile: String { path("server.key") }
    public var clientCertificateFile: String { path("client.pem") }
    public var clientKeyFile: String { path("client.key") }
    public var otherCAFile: String { path("other-ca.pem") }

    public func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    public func bytes(_ file: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: file))) }

    public struct Failed: Error, CustomStringConvertible { public var description: String }

    public static func make() async throws -> HTTPTestCertificates {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-pki-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            .write(to: dir.appendingPathComponent("server.ext"), atomically: true, encoding: .utf8)
        try "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
            .write(to: dir.appendingPathComponent("client.ext"), atomically: true, encoding: .utf8)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["openssl", "req", "-x509"] + key + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Backstop Test CA"],
            ["openssl", "req", "-x509"] + key + ["-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA"],
            ["openssl", "req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=backstop-test-server"],
            ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
            ["openssl", "req"] + key + ["-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=backstop-client"],
            ["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "3",
             "-out", "client.pem", "-days", "2", "-extfile", "client.ext"],
        ]
        for step in steps {
            let status = try await runCommand(step, in: dir)
            guard status == 0 else { throw Failed(description: "\(step.prefix(3).joined(separator: " ")) exited \(status)") }
        }
        return HTTPTestCertificates(directory: dir)
    }
}
