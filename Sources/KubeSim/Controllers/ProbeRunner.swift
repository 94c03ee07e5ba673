import Foundation

/// Runs one probe, blocking for at most its timeout: `tcpSocket` connects, `httpGet` sends a
/// GET and accepts 200–399 as the kubelet does, `exec` runs the command in the container's
/// environment and accepts exit 0. Called on the kubelet's probe queue, never the cooperative pool.
enum ProbeRunner {
    struct Outcome: Sendable {
        var success: Bool
        var message: String
    }

    static func run(_ probe: Probe, podIP: String, namedPorts: [String: Int], env: [String: String], workingDir: URL?) -> Outcome {
        func resolve(_ port: Probe.PortRef) -> Int? {
            switch port {
            case .number(let n): n > 0 ? n : nil
            case .name(let s): namedPorts[s]
            }
        }
        switch probe.action {
        case .tcp(let host, let port):
            guard let p = resolve(port) else { return Outcome(success: false, message: "no port") }
            let target = host ?? podIP
            guard let fd = connect(target, p, timeout: probe.timeout) else {
                return Outcome(success: false, message: "dial tcp \(target):\(p): connect: connection refused")
            }
            close(fd)
            return Outcome(success: true, message: "")
        case .http(let host, let port, let path, let https, let headers):
            guard let p = resolve(port) else { return Outcome(success: false, message: "no port") }
            let target = host ?? podIP
            if https { return Outcome(success: false, message: "kube-sim: HTTPS probes are not supported") }
            return httpGet(target, p, path: path, headers: headers, timeout: probe.timeout)
        case .exec(let argv):
            return exec(argv, env: env, workingDir: workingDir, timeout: probe.timeout)
        }
    }

    /// A connected TCP socket to `host:port`, or nil after `timeout`.
    static func connect(_ host: String, _ port: Int, timeout: TimeInterval) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { close(fd); return nil }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            guard errno == EINPROGRESS else { close(fd); return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { close(fd); return nil }
            var error: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len)
            guard error == 0 else { close(fd); return nil }
        }
        _ = fcntl(fd, F_SETFL, flags)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - floor(timeout)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func httpGet(_ host: String, _ port: Int, path: String, headers: [(String, String)], timeout: TimeInterval) -> Outcome {
        guard let fd = connect(host, port, timeout: timeout) else {
            return Outcome(success: false, message: "Get \"http://\(host):\(port)\(path)\": dial tcp \(host):\(port): connect: connection refused")
        }
        defer { close(fd) }
        var request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            return Outcome(success: false, message: "write failed")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !response.contains(10) && response.count < 4096 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let statusLine = String(decoding: response.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else {
            return Outcome(success: false, message: "Get \"http://\(host):\(port)\(path)\": no HTTP response within \(Int(timeout))s")
        }
        return (200..<400).contains(code)
            ? Outcome(success: true, message: "")
            : Outcome(success: false, message: "HTTP probe failed with statuscode: \(code)")
    }

    static func exec(_ argv: [String], env: [String: String], workingDir: URL?, timeout: TimeInterval) -> Outcome {
        guard !argv.isEmpty else { return Outcome(success: false, message: "empty exec command") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = argv
        p.environment = env
        if let workingDir { p.currentDirectoryURL = workingDir }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch { return Outcome(success: false, message: "exec: \(error)") }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(-p.processIdentifier, SIGKILL)
            done.wait()
            return Outcome(success: false, message: "command timed out after \(Int(timeout))s")
        }
        return p.terminationStatus == 0
            ? Outcome(success: true, message: "")
            : Outcome(success: false, message: "command \(argv.joined(separator: " ")) exited with \(p.terminationStatus)")
    }
}
