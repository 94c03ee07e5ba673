import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

extension RedisSourceSpec {
    var identity: [String: String] { ["host": host, "port": String(port ?? 6379)] }

    func password() throws -> SecretValue? {
        try passwordFile.map { try SecretValue.read(file: $0, purpose: "redis password for \(host)") }
    }

    /// Connection arguments; the password is never among them.
    var cliArguments: [String] {
        var arguments = ["-h", host, "-p", String(port ?? 6379), "--no-auth-warning"]
        if let user { arguments += ["--user", user] }
        if tls == true { arguments.append("--tls") }
        if let caFile { arguments += ["--cacert", caFile] }
        return arguments
    }

    /// The child's environment: the password reaches redis-cli only as `REDISCLI_AUTH` of that
    /// child (not argv, which every user can read through /proc).
    func cliEnvironment(_ password: SecretValue?) -> [String: String] {
        password.map { ["REDISCLI_AUTH": $0.value] } ?? [:]
    }
}

/// Redis via `redis-cli --rdb`: the server forks and sends a point-in-time RDB over the
/// replication protocol. redis-cli writes it to a 0600 file in the work directory (7.0's
/// `--rdb -` leaves the diskless EOF marker in the stream), which is then streamed into the
/// store while its magic, version and CRC-64 are checked. Needs free work space = RDB size.
public struct RedisSource: BackupSource {
    public static let format = ArtifactFormat(name: "redis-rdb", fileExtension: "rdb")
    public let spec: RedisSourceSpec

    public init(spec: RedisSourceSpec) { self.spec = spec }

    public var identity: SourceIdentity { SourceIdentity(kind: "redis", attributes: spec.identity) }
    public var format: ArtifactFormat { Self.format }

    public func prepare(_ context: AgentContext) async throws -> any PreparedBackup {
        let cli = try context.tools.find("redis-cli")
        let password = try spec.password()
        let info = try await Self.query(cli: cli, spec: spec, password: password, ["INFO", "all"])
        let fields = Self.infoFields(info)
        // `db0:keys=3,expires=0,avg_ttl=0` per non-empty database.
        let keys = fields.filter { $0.key.hasPrefix("db") && Int($0.key.dropFirst(2)) != nil }.reduce(Int64(0)) { total, entry in
            let count = entry.value.split(separator: ",").first { $0.hasPrefix("keys=") }.flatMap { Int64($0.dropFirst(5)) } ?? 0
            return total + count
        }
        if keys == 0 && !(spec.allowEmpty ?? false) {
            throw AgentError(.sourceEmpty, "redis \(spec.host):\(spec.port ?? 6379) holds no keys; "
                             + "refusing to record an empty backup (set allowEmpty to back it up anyway)")
        }
        let server = fields["redis_version"] ?? "unknown"
        let version = try await Subprocess.run(cli, ["--version"]).stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).dropFirst().first.map(String.init) ?? "unknown"
        context.progress("backup: redis \(server) at \(spec.host):\(spec.port ?? 6379), \(keys) keys, redis-cli \(version)")
        return PreparedRedisBackup(spec: spec, cli: cli, keys: keys, tools: ["redis-cli": version, "server": server])
    }

    /// Runs one command through redis-cli; connection and authentication failures become
    /// clear `AgentError`s (redis-cli exits 0 after a NOAUTH reply, so the text is inspected).
    static func query(cli: String, spec: RedisSourceSpec, password: SecretValue?, _ command: [String]) async throws -> String {
        let out = try await Subprocess.run(cli, spec.cliArguments + command, environment: spec.cliEnvironment(password))
        let endpoint = "\(spec.host):\(spec.port ?? 6379)"
        let text = out.stdout + "\n" + out.stderr
        // Only the reply itself (INFO's errorstats list `errorstat_NOAUTH` after anyone's failed login).
        let reply = out.stdout.hasPrefix("(error) ") ? out.stdout.dropFirst(8) : out.stdout[...]
        let markers = ["NOAUTH", "WRONGPASS", "AUTH failed", "invalid password"]
        if markers.contains(where: { out.stderr.contains($0) }) || reply.hasPrefix("NOAUTH") || reply.hasPrefix("WRONGPASS") {
            throw AgentError(.authenticationFailed, "redis \(endpoint): authentication failed (check the password file"
                             + (spec.user.map { " and user \($0)" } ?? "") + ")")
        }
        guard out.termination.succeeded, !out.stdout.hasPrefix("ERR"), !out.stdout.hasPrefix("NOPERM") else {
            let reason: AgentError.Reason = text.contains("Could not connect") ? .sourceUnreachable : .queryFailed
            throw AgentError(reason, "redis \(endpoint): \(toolMessage(out.stderr.isEmpty ? out.stdout : out.stderr, secrets: [password]))")
        }
        return out.stdout
    }

    static func infoFields(_ info: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in info.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return fields
    }
}

struct PreparedRedisBackup: PreparedBackup {
    let spec: RedisSourceSpec
    let cli: String
    let keys: Int64
    let tools: [String: String]

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        let password = try spec.password()
        let file = (context.workDirectory as NSString).appendingPathComponent("backstop-redis-\(UUID().uuidString.prefix(12)).rdb")
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AgentError(.internal, "cannot create \(file): \(String(cString: strerror(errno)))")
        }
        POSIX.close(fd)
        defer { unlink(file) }
        context.progress("backup: redis-cli --rdb from \(spec.host):\(spec.port ?? 6379)")
        let out = try await Subprocess.run(cli, spec.cliArguments + ["--rdb", file], environment: spec.cliEnvironment(password))
        guard out.termination.succeeded, out.stderr.contains("Transfer finished with success") else {
            let text = out.stderr + out.stdout
            let reason: AgentError.Reason = text.contains("NOAUTH") || text.contains("WRONGPASS") || text.contains("AUTH failed")
                ? .authenticationFailed : (text.contains("Could not connect") ? .sourceUnreachable : .toolFailed)
            throw AgentError(reason, "redis-cli --rdb \(out.termination): \(toolMessage(text, secrets: [password]))")
        }
        var checker = RDBChecker()
        let stream = try FileDescriptorStream.open(path: file, label: "RDB snapshot", failureReason: .toolFailed)
        do {
            while let chunk = try await stream.next() {
                checker.update(chunk)
                try await output.write(chunk)
            }
        } catch {
            await stream.cancel()
            throw error
        }
        var report = SourceReport()
        report.tools = tools
        report.checks = checker.results()
        report.details = ["keys": .int(keys), "rdbVersion": checker.version.map { JSONValue.int(Int64($0)) } ?? JSONValue.null]
        return report
    }

    func close() async {}
}

/// RDB structure and CRC-64 of a staged artifact, streamed.
public struct RDBVerifier: FormatVerifier {
    public init() {}

    public func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult] {
        try await Self.check(file: file)
    }

    public static func check(file: String) async throws -> [CheckResult] {
        var checker = RDBChecker()
        let stream = try FileDescriptorStream.open(path: file, label: "RDB artifact")
        while let chunk = try await stream.next() { checker.update(chunk) }
        return checker.results()
    }
}
