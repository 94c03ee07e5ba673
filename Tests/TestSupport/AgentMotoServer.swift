import Foundation

/// A private moto S3 server for tests that must stop, freeze or kill their server without
/// disturbing the shared one. Signature checking is off (any key works): these tests are
/// about failures of the transport, not of credentials.
public final class AgentMotoServer: @unchecked Sendable {
    public let endpoint: String
    public let pid: Int32
    private let process: Process

    public init() throws {
        let port = try Self.freePort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: TestServices.python)
        process.arguments = ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        endpoint = "http://127.0.0.1:\(port)"
        // Ready when the port accepts connections (≈ 1 s).
        let deadline = Date().addingTimeInterval(30)
        while !Self.accepts(port: port) {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw TestServices.NotStarted(variable: "private moto server on port \(port)")
            }
            usleep(100_000)
        }
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing (a hung S3).
    public func freeze() { Glibc.kill(pid, SIGSTOP) }
    public func thaw() { Glibc.kill(pid, SIGCONT) }

    /// SIGKILL: the server vanishes mid-request (connections reset, later ones refused).
    public func kill() { Glibc.kill(pid, SIGKILL) }

    public func stop() {
        Glibc.kill(pid, SIGCONT)
        Glibc.kill(pid, SIGTERM)
    }

    deinit { stop() }

    /// A free TCP port on 127.0.0.1 (bound, read back, closed).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestServices.NotStarted(variable: "a free TCP port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
