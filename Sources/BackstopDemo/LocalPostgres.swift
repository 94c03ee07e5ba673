import BackstopApp
import Foundation

/// Where the demo's PostgreSQL is: one the user configured, or one `LocalPostgres` started.
public struct PostgresServer: Sendable {
    public var host: String
    public var port: Int
    /// A superuser (creates the demo roles and databases).
    public var user: String
    public var password: String
    /// Directory with psql (and, for a local server, initdb/pg_ctl).
    public var bindir: String
    public init(host: String, port: Int, user: String, password: String, bindir: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.bindir = bindir
    }
}

/// A throw-away PostgreSQL server: `initdb` + `pg_ctl` into a temp directory on a free loopback
/// port, using the installed binaries. As root it runs them as the `postgres` OS user (initdb
/// refuses root). `stop()` shuts it down; the directory goes with the demo's work dir.
public final class LocalPostgres: Sendable {
    public let endpoint: PostgresServer
    let dataDirectory: URL
    let asUser: String?
    let pid: Int32

    private init(endpoint: PostgresServer, dataDirectory: URL, asUser: String?, pid: Int32) {
        self.endpoint = endpoint
        self.dataDirectory = dataDirectory
        self.asUser = asUser
        self.pid = pid
    }

    /// The directory holding `initdb`: BACKSTOP_PG_BINDIR, `pg_config --bindir`, then the
    /// newest `/usr/lib/postgresql/*/bin`.
    public static func findBindir() async -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["BACKSTOP_PG_BINDIR"] { candidates.append(env) }
        if let pgConfig = ChildProcess.which("pg_config"),
           let r = try? await ChildProcess.run(pgConfig, ["--bindir"]), r.succeeded {
            candidates.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/initdb") }
    }

    /// Initialises and starts a server under `directory` (created; must not exist or be empty).
    public static func start(in directory: URL, password: String) async throws -> LocalPostgres {
        guard let bindir = await findBindir() else {
            throw DemoError.missing("PostgreSQL server binaries (initdb, pg_ctl); install postgresql or set BACKSTOP_PG_BINDIR")
        }
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        let data = directory.appendingPathComponent("data")
        let pwfile = directory.appendingPathComponent("pwfile")
        try Data(password.utf8).write(to: pwfile)
        let asUser: String? = getuid() == 0 ? "postgres" : nil
        if let asUser {
            guard let pw = getpwnam(asUser) else { throw DemoError.missing("the postgres OS user (initdb refuses to run as root)") }
            for path in [directory.path, pwfile.path] { chown(path, pw.pointee.pw_uid, pw.pointee.pw_gid) }
            // Parents of a fresh temp dir are world-traversable; make ours so too.
            chmod(directory.path, 0o755)
        }
        try await runAs(asUser, "\(bindir)/initdb", ["-D", data.path, "-U", "postgres", "--auth-local=trust",
                                                    "--auth-host=scram-sha-256", "--pwfile=\(pwfile.path)", "-E", "UTF8",
                                                    "--no-instructions"])
        try? fm.removeItem(at: pwfile)
        let port = try FreePort.pick()
        // `postgres` runs as our child (not daemonized by `pg_ctl start`, whose grandchild would
        // keep Foundation's process monitor waiting); readiness is polled with pg_isready.
        let server = Process()
        let serverArgs = ["-D", data.path, "-c", "listen_addresses=127.0.0.1", "-p", String(port), "-k", directory.path,
                          "-c", "fsync=off", "-c", "full_page_writes=off"]
        if let asUser, let runuser = ChildProcess.which("runuser") {
            server.executableURL = URL(fileURLWithPath: runuser)
            server.arguments = ["-u", asUser, "--", "\(bindir)/postgres"] + serverArgs
        } else {
            server.executableURL = URL(fileURLWithPath: "\(bindir)/postgres")
            server.arguments = serverArgs
        }
        let logURL = directory.appendingPathComponent("postgres.log")
        _ = fm.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        server.standardOutput = log
        server.standardError = log
        server.standardInput = FileHandle.nullDevice
        try server.run()
        var ready = false
        for _ in 0..<300 where !ready {
            if let r = try? await ChildProcess.run("\(bindir)/pg_isready", ["-h", "127.0.0.1", "-p", String(port)], timeout: 10) {
                ready = r.status == 0
            }
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard ready else {
            kill(server.processIdentifier, SIGKILL)
            throw DemoError.failed("PostgreSQL did not start; see \(logURL.path)")
        }
        return LocalPostgres(endpoint: PostgresServer(host: "127.0.0.1", port: port, user: "postgres", password: password,
                                                      bindir: bindir),
                             dataDirectory: data, asUser: asUser, pid: server.processIdentifier)
    }

    /// Fast shutdown; waits until the server is gone (SIGKILL if it lingers).
    public func stop() async {
        let stopped = try? await Self.runAs(asUser, "\(endpoint.bindir)/pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "30", "stop"])
        if stopped == nil { kill(pid, SIGKILL) }
    }

    @discardableResult
    static func runAs(_ user: String?, _ executable: String, _ args: [String]) async throws -> ChildProcess.Result {
        if let user, let runuser = ChildProcess.which("runuser") {
            return try await ChildProcess.check(runuser, ["-u", user, "--", executable] + args)
        }
        return try await ChildProcess.check(executable, args)
    }
}

extension PostgresServer {
    /// Runs SQL through psql as the superuser over TCP (password through PGPASSWORD, never argv).
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") async throws -> String {
        let r = try await ChildProcess.check("\(bindir)/psql", [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-h", host, "-p", String(port), "-U", user, "-d", database, "-f", "-",
        ], environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"], stdin: sql)
        return r.stdout
    }
}

/// A free TCP port on loopback (bind to 0, read it back, close).
public enum FreePort {
    public static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw DemoError.missing("a socket for picking a free port") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        guard bound == 0 else { throw DemoError.missing("a free loopback port") }
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw DemoError.missing("a free loopback port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

public enum DemoError: Error, CustomStringConvertible {
    case missing(String)
    case failed(String)
    public var description: String {
        switch self {
        case .missing(let what): "missing: \(what)"
        case .failed(let what): what
        }
    }
}
