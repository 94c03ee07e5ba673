import AgentContract
import BackstopCore
import Foundation

/// A drill's proof that a Redis backup restores: the restored `dump.rdb` loaded by a real
/// `redis-server` (no TCP port: a Unix socket in the scratch directory, no persistence), then
/// `DBSIZE` against the key count the backup recorded and the drill's marker key. The server
/// lives only inside the agent's command and is shut down before it returns.
enum RedisScratchServer {
    static func checks(directory: String, fileName: String, manifest: ArtifactManifest, marker: String?, context: AgentContext) async throws -> [CheckResult] {
        let server = try context.tools.find("redis-server")
        let cli = try context.tools.find("redis-cli")
        // sockaddr_un holds 107 bytes: a deep scratch directory gets a short one of its own.
        var socketDirectory = directory
        if directory.utf8.count > 90 {
            var template = Array("/tmp/backstop-redis-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else { throw AgentError(.restoreFailed, "cannot create a directory for the scratch redis socket") }
            socketDirectory = String(cString: made)
        }
        defer { if socketDirectory != directory { try? FileManager.default.removeItem(atPath: socketDirectory) } }
        let socket = (socketDirectory as NSString).appendingPathComponent("redis.sock")
        let process = try Subprocess(executable: server, arguments: [
            "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", directory, "--dbfilename", fileName,
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
        ], stdout: .null)
        defer { process.terminate() }
        func cliReply(_ command: [String]) async throws -> String {
            let out = try await Subprocess.run(cli, ["-s", socket] + command)
            return out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // LOADING replies until the whole RDB is in memory.
        let started = Date()
        var ready = false
        while Date().timeIntervalSince(started) < 600 {
            if FileManager.default.fileExists(atPath: socket), (try? await cliReply(["PING"])) == "PONG" { ready = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard ready else {
            return [CheckResult(name: "redisLoad", passed: false, expected: "redis-server loads \(fileName)",
                                actual: "not ready after \(Int(Date().timeIntervalSince(started)))s", message: await process.stderrText())]
        }
        context.progress("restore: redis-server loaded \(fileName) in \(String(format: "%.1f", Date().timeIntervalSince(started)))s")
        var results = [CheckResult(name: "redisLoad", passed: true, expected: "redis-server loads \(fileName)", actual: "loaded")]
        let keys = try await cliReply(["DBSIZE"])
        if let expected = manifest.details?["keys"]?.intValue {
            results.append(CheckResult(name: "keyCount", passed: Int64(keys) == expected, expected: String(expected), actual: keys))
        }
        if let marker {
            let key = DrillAgentSpec.Names.redisKeyPrefix + marker
            let found = try await cliReply(["EXISTS", key]) == "1"
            results.append(CheckResult(name: "marker", passed: found, expected: marker, actual: found ? marker : "absent",
                                       message: found ? nil : "no key \(key) in the restored snapshot: the backup was taken before the marker"))
        }
        _ = try? await cliReply(["SHUTDOWN", "NOSAVE"])
        _ = await process.wait()
        return results
    }
}

/// After a restore over a Redis server's data claim and its restart: the server holds the
/// keys the backup recorded.
enum RedisLiveCheck {
    static func keyCount(_ redis: RedisSourceSpec, manifest: ArtifactManifest, context: AgentContext) async throws -> CheckResult {
        let reply = try await RedisSource.query(cli: try context.tools.find("redis-cli"), spec: redis, password: try redis.password(), ["DBSIZE"])
        let actual = reply.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "(integer) ", with: "")
        guard let expected = manifest.details?["keys"]?.intValue else {
            return CheckResult(name: "keyCount", passed: false, actual: actual, message: "the backup recorded no key count")
        }
        return CheckResult(name: "keyCount", passed: Int64(actual) == expected, expected: String(expected), actual: actual,
                           message: Int64(actual) == expected ? nil : "the restarted server does not hold the backup's keys (did it load another file, or an AOF?)")
    }
}
