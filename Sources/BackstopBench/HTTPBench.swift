import Foundation
import HTTP
import TestSupport

/// HTTP benchmark against the loopback test server (Tests/Fixtures/http_test_server.py):
/// small GETs over one reused connection, then a large streamed download next to the `curl`
/// command-line tool on the same server, then this process's peak RSS. Prints its figures.
func runHTTPBenchmark(requests: Int = 10_000, downloadBytes: Int = 1 << 30, configuration: HTTPClientConfiguration = .init(),
                      print say: (String) -> Void = { print($0) }) async throws {
    let server = try await HTTPTestServer.start()
    defer { server.stop() }
    let client = HTTPClient(configuration: configuration)
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: work) }

    // 1. Small GETs, sequential, one connection.
    let hello = HTTPRequest(url: server.url("/hello"))
    _ = try await client.data(hello)  // connect outside the timing
    var start = ContinuousClock.now
    for _ in 0..<requests {
        let (head, body) = try await client.data(hello)
        guard head.status == 200, body.count == 5 else { throw BenchFailure("bad reply: \(head.status)") }
    }
    let getSeconds = (ContinuousClock.now - start).seconds
    let stats = try await client.data(HTTPRequest(url: server.url("/stats"))).1
    say(String(format: "http.get: %d sequential GETs: %.0f req/s (%.1f µs each); server saw %@",
               requests, Double(requests) / getSeconds, getSeconds / Double(requests) * 1e6,
               String(decoding: stats, as: UTF8.self)))

    // Same GETs with the curl CLI (one process, one connection) to show what the server allows.
    let config = work.appendingPathComponent("curl-gets.cfg")
    try String(repeating: "url = \"\(server.url("/hello"))\"\noutput = \"/dev/null\"\n", count: requests)
        .write(to: config, atomically: true, encoding: .utf8)
    start = ContinuousClock.now
    _ = try await curlCLI(["-s", "--config", config.path], output: work.appendingPathComponent("gets.out"))
    let curlGetSeconds = (ContinuousClock.now - start).seconds
    say(String(format: "http.get: curl CLI same GETs: %.0f req/s (ratio backstop/curl %.2f)",
               Double(requests) / curlGetSeconds, curlGetSeconds / getSeconds))

    // 2. Large streamed download, counting bytes (nothing kept).
    let url = server.url("/bytes?n=\(downloadBytes)")
    start = ContinuousClock.now
    let cpuBefore = cpuSeconds(RUSAGE_SELF)
    var received = 0, chunks = 0
    for try await chunk in try await client.execute(HTTPRequest(url: url)).body {
        received += chunk.count
        chunks += 1
    }
    let ourSeconds = (ContinuousClock.now - start).seconds
    let ourCPU = cpuSeconds(RUSAGE_SELF) - cpuBefore
    guard received == downloadBytes else { throw BenchFailure("received \(received) of \(downloadBytes) bytes") }
    let childCPUBefore = cpuSeconds(RUSAGE_CHILDREN)
    let speed = try await curlCLI(["-s", "-o", "/dev/null", "-w", "%{speed_download}", url],
                                  output: work.appendingPathComponent("speed.out"))
    let curlCPU = cpuSeconds(RUSAGE_CHILDREN) - childCPUBefore
    let curlMBs = (Double(speed.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) / 1e6
    let ourMBs = Double(downloadBytes) / ourSeconds / 1e6
    say(String(format: "http.download: %d MiB streamed: backstop %.0f MB/s, curl CLI %.0f MB/s, ratio %.2f",
               downloadBytes >> 20, ourMBs, curlMBs, curlMBs > 0 ? ourMBs / curlMBs : 0))
    // CPU time is less disturbed than wall time when the machine is shared.
    let gib = Double(downloadBytes) / Double(1 << 30)
    say(String(format: "http.download: CPU per GiB: backstop %.2f s, curl CLI %.2f s, ratio %.2f; %d chunks of %d KiB on average",
               ourCPU / gib, curlCPU / gib, ourCPU > 0 ? curlCPU / ourCPU : 0, chunks, (received / max(chunks, 1)) >> 10))

    say(String(format: "http.memory: peak RSS %.1f MiB (current %.1f MiB)",
               Double(procStatus("VmHWM")) / 1_048_576, Double(procStatus("VmRSS")) / 1_048_576))
}

private struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `curl` with stdout to a file (no pipe to drain) and returns what it printed.
private func curlCLI(_ arguments: [String], output: URL) async throws -> String {
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl"] + arguments
    process.standardOutput = handle
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do { try process.run() } catch {
            process.terminationHandler = nil
            continuation.resume(throwing: error)
        }
    }
    try handle.close()
    guard status == 0 else { throw BenchFailure("curl exited \(status)") }
    return try String(contentsOf: output, encoding: .utf8)
}

/// User + system CPU seconds of this process (RUSAGE_SELF) or its reaped children.
private func cpuSeconds(_ who: __rusage_who) -> Double {
    let who = __rusage_who_t(who.rawValue)
    var usage = rusage()
    getrusage(who, &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    return user + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// A `kB` field of /proc/self/status, in bytes.
private func procStatus(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }) else { return 0 }
    return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
}

private extension Duration {
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
