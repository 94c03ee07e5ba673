import Foundation
import Postgres
import TestSupport

/// Connection settings for the loopback server `hack/test-services.sh` started.
func testConfig(database: String = "postgres", user: String? = nil, password: String? = nil) throws -> PostgresConfig {
    let server = try TestServices.postgres()
    return PostgresConfig(host: server.host, port: server.port, database: database, user: user ?? server.user,
                          password: password ?? server.password, sslMode: .disable, connectTimeout: .seconds(5),
                          applicationName: "backstop-tests")
}

func connectTest(noticeHandler: (@Sendable (PostgresNotice) -> Void)? = nil) async throws -> PostgresConnection {
    try await PostgresConnection.connect(try testConfig(), noticeHandler: noticeHandler)
}

/// A table name no other test (or parallel run) uses.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
}

/// Resident set size of this process, from /proc.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

/// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
func closedPort() throws -> Int {
    let listener = try Listener()
    let port = listener.port
    listener.close()
    return port
}

/// A socket that accepts TCP connections into its backlog but never speaks: a hung server.
final class Listener: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
