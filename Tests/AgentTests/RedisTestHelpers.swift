import Agent
import Foundation
import TestSupport

/// redis-cli against a test server; the password goes through REDISCLI_AUTH of the child.
struct RedisCLI: Sendable {
    var port: Int
    var password: String?

    func run(_ arguments: [String]) async throws -> String {
        let out = try await Subprocess.run("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--no-auth-warning"] + arguments,
                                           environment: password.map { ["REDISCLI_AUTH": $0] } ?? [:])
        guard out.termination.succeeded else { throw RedisTestFailure(message: "redis-cli \(arguments.first ?? ""): \(out.stderr)") }
        return out.stdout
    }

    /// Every key with `prefix` as "type: value" (members of unordered types sorted). DUMP
    /// payloads are not compared: a reload may change a value's internal encoding.
    func snapshot(prefix: String) async throws -> [String: String] {
        let keys = try await run(["--scan", "--pattern", "\(prefix)*"]).split(separator: "\n").map(String.init)
        var result: [String: String] = [:]
        for key in keys {
            let type = try await run(["TYPE", key]).trimmingCharacters(in: .whitespacesAndNewlines)
            let value = switch type {
            case "string": try await run(["--raw", "GET", key])
            case "list": try await run(["--raw", "LRANGE", key, "0", "-1"])
            case "hash": try await run(["--raw", "HGETALL", key]).split(separator: "\n").sorted().joined(separator: "\n")
            case "set": try await run(["--raw", "SMEMBERS", key]).split(separator: "\n").sorted().joined(separator: "\n")
            case "zset": try await run(["--raw", "ZRANGE", key, "0", "-1", "WITHSCORES"])
            default: "unexpected type"
            }
            result[key] = "\(type): \(value)"
        }
        return result
    }
}

struct RedisTestFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A private redis-server started on a free port with a given data directory (it loads
/// dump.rdb from there at start); stopped by `stop()`.
final class PrivateRedisServer: Sendable {
    let process: Subprocess
    let port: Int

    init(directory: String) async throws {
        port = try freeTCPPort()
        process = try Subprocess(executable: "/usr/bin/redis-server",
                                 arguments: ["--bind", "127.0.0.1", "--port", String(port), "--dir", directory, "--dbfilename", "dump.rdb",
                                             "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                 stdout: .null)
        let cli = RedisCLI(port: port)
        for _ in 0..<100 {
            if let pong = try? await cli.run(["PING"]), pong.hasPrefix("PONG") { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw RedisTestFailure(message: "redis-server on \(port) did not start: \(await process.stderrText())")
    }

    func stop() async {
        process.terminate()
        _ = await process.wait()
    }
}

func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RedisTestFailure(message: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw RedisTestFailure(message: "bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A Secret file as the Job would mount it.
func writeSecretFile(_ value: String, in directory: URL) throws -> String {
    let path = directory.appendingPathComponent("secret-\(UUID().uuidString.prefix(6))").path
    try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: path))
    return path
}
