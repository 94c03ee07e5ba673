import Foundation

/// A private HTTP/1.1 server (`Tests/Fixtures/http_test_server.py`, see its routes) on
/// 127.0.0.1 and a free port, for the HTTP module's tests and benchmark. It can misbehave on
/// purpose (endless chunks, closes mid-body, malformed chunks, hangs) and serve TLS.
/// Stopped by PID in `stop()`/deinit; it also exits by itself when this process dies.
public final class HTTPTestServer: @unchecked Sendable {
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        /// Require client certificates issued by this CA.
        public var clientCAFile: String?
        public init(certificateFile: String, keyFile: String, clientCAFile: String? = nil) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.clientCAFile = clientCAFile
        }
    }

    public let port: Int
    /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
    public let baseURL: String
    private let process: Process
    private let directory: URL

    public static var script: URL {
        TestServices.repositoryRoot.appendingPathComponent("Tests/Fixtures/http_test_server.py")
    }

    private init(port: Int, baseURL: String, process: Process, directory: URL) {
        self.port = port
        self.baseURL = baseURL
        self.process = process
        self.directory = directory
    }

    public static func start(tls: TLS? = nil) async throws -> HTTPTestServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        let log = directory.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)

        var arguments = ["python3", script.path, "--port-file", portFile.path]
        if let tls {
            arguments += ["--cert", tls.certificateFile, "--key", tls.keyFile]
            if let ca = tls.clientCAFile { arguments += ["--client-ca", ca] }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()

        let deadline = ContinuousClock.now + .seconds(60)  // a busy CI machine starts python slowly
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) {
                let scheme = tls == nil ? "http" : "https"
                return HTTPTestServer(port: port, baseURL: "\(scheme)://127.0.0.1:\(port)", process: process, directory: directory)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { process.terminate() }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw StartFailed(description: "http_test_server.py did not start: \(output)")
    }

    public struct StartFailed: Error, CustomStringConvertible {
        public var description: String
    }

    public func url(_ path: String) -> String { baseURL + path }

    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    deinit { stop() }
}

/// Runs a command to completion without blocking a thread of the cooperative pool.
public func runCommand(_ arguments: [String], in directory: URL? = nil) async throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    return try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
}
