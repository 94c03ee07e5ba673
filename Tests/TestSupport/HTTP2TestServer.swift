import Foundation

/// nghttpd (Debian's nghttp2-server, installed by hack/install-deps.sh): a real HTTP/2-only
/// server over TLS on 127.0.0.1, serving files from a temporary directory and echoing uploads.
/// It speaks no HTTP/1.1, so a successful exchange proves HTTP/2 was negotiated by ALPN.
/// Stopped by PID in `stop()`/deinit.
public final class HTTP2TestServer: @unchecked Sendable {
    public static let binary = "/usr/sbin/nghttpd"
    public let port: Int
    public let documentRoot: URL
    private let process: Process
    private let log: URL

    private init(port: Int, documentRoot: URL, process: Process, log: URL) {
        self.port = port
        self.documentRoot = documentRoot
        self.process = process
        self.log = log
    }

    public var baseURL: String { "https://127.0.0.1:\(port)" }
    public func url(_ path: String) -> String { baseURL + path }
    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Starts nghttpd with the given server certificate and key; files go in `documentRoot`.
    public static func start(certificateFile: String, keyFile: String) async throws -> HTTP2TestServer {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw HTTPTestServer.StartFailed(description: "\(binary) is missing: run hack/install-deps.sh (apt package nghttp2-server)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-h2-\(UUID().uuidString)")
        let root = directory.appendingPathComponent("htdocs")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let log = directory.appendingPathComponent("nghttpd.log")
        // nghttpd cannot report an ephemeral port: take a free one, retry if someone else grabs it.
        for _ in 0..<5 {
            let port = try freePort()
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["--address=127.0.0.1", "--htdocs=\(root.path)", "--echo-upload", "--workers=1",
                                 String(port), keyFile, certificateFile]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, process.isRunning {
                if canConnect(port) { return HTTP2TestServer(port: port, documentRoot: root, process: process, log: log) }
                try await Task.sleep(for: .milliseconds(20))
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw HTTPTestServer.StartFailed(description: "nghttpd did not start: \(output)")
    }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: documentRoot.deletingLastPathComponent())
    }

    deinit { stop() }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPTestServer.StartFailed(description: "socket() failed") }
        defer { close(fd) }
        var addr = loopback(port: 0)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HTTPTestServer.StartFailed(description: "bind() failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = loopback(port: port)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return addr
    }
}
