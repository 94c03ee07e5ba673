import Agent
import DynamicJSON
import Foundation
import Postgres
import Synchronization
import Testing
import TestSupport

/// Runs `backstop agent` commands in-process against the real servers of TestServices, with
/// secrets in files (as a Job mounts them) and every output captured for assertions.
final class AgentHarness: Sendable {
    let dir: URL
    let pg: TestServices.Postgres
    let lines = LineCollector()
    private let stdoutBytes = Mutex<[UInt8]>([])

    init(_ label: String) throws {
        dir = try TestServices.temporaryDirectory("agent-\(label)")
        pg = try TestServices.postgres()
        try write("pg-password", pg.password)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try Array(text.utf8).withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        return path
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// `postgres` connection fields for a spec (password from the file).
    func pgFields(_ database: String, passwordFile: String? = nil) -> [String: JSONValue] {
        ["host": .string(pg.host), "port": .int(Int64(pg.port)), "database": .string(database), "user": .string(pg.user),
         "passwordFile": .string(passwordFile ?? path("pg-password")), "sslMode": "disable", "bindir": .string(pg.bindir)]
    }

    func s3Fields(_ s3: TestServices.S3, bucket: String, prefix: String = "backups", secret: String? = nil) throws -> [String: JSONValue] {
        let access = try write("s3-access", s3.accessKey)
        let secretFile = try write("s3-secret-\(secret == nil ? "ok" : "bad")", secret ?? s3.secretKey)
        return ["endpoint": .string(s3.endpoint), "bucket": .string(bucket), "prefix": .string(prefix), "region": .string(s3.region),
                "accessKeyIdFile": .string(access), "secretAccessKeyFile": .string(secretFile), "timeoutSeconds": 5]
    }

    struct Run {
        var exitCode: Int32
        var result: JSONValue
        var stdout: String
        var terminationLog: [UInt8]
        var reason: String? { result["reason"]?.stringValue }
    }

    func run(_ command: String, _ spec: JSONValue, dryRun: Bool = false) async throws -> Run {
        let specFile = try write("spec-\(UUID().uuidString.prefix(6)).json", spec.jsonString)
        let log = path("termination-log")
        stdoutBytes.withLock { $0 = [] }
        let outcome = await AgentMain.run(.init(command: command, specFile: specFile, terminationLog: log, dryRun: dryRun),
                                          context: AgentContext(progress: .collecting(into: lines), workDirectory: dir.path),
                                          stdout: { bytes in self.stdoutBytes.withLock { $0 += bytes } })
        let termination = Array(FileManager.default.contents(atPath: log) ?? Data())
        // Every result, of every command, success or failure, must read as the contract's
        // report: that is what the controllers decode.
        do {
            let report = try JSONDecoder().decode(AgentReport.self, from: Data(termination))
            #expect(report.ok == (outcome.exitCode == 0) && report.command == command, "\(command): ok/command in the report")
        } catch {
            Issue.record("\(command): the termination message is not an AgentReport: \(error)")
        }
        return Run(exitCode: outcome.exitCode, result: outcome.result,
                   stdout: String(decoding: stdoutBytes.withLock { $0 }, as: UTF8.self), terminationLog: termination)
    }

    // MARK: PostgreSQL fixtures

    func connect(_ database: String = "postgres") async throws -> PostgresConnection {
        try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, database: database, user: pg.user,
                                                            password: pg.password, sslMode: .disable))
    }

    func createDatabase(_ name: String) async throws {
        let admin = try await connect()
        try await admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)")
        try await admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(name))")
        await admin.close()
    }

    func dropDatabase(_ name: String) async {
        guard let admin = try? await connect() else { return }
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)")
        await admin.close()
    }

    func databaseExists(_ name: String) async throws -> Bool {
        let admin = try await connect()
        defer { Task { await admin.close() } }
        return try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]).count == 1
    }

    /// The AgentFS runbook's shape plus the platform runbook's append-only audit table.
    func createSeedDatabase(_ name: String, withGuard: Bool = true) async throws {
        try await createDatabase(name)
        let db = try await connect(name)
        defer { Task { await db.close() } }
        _ = try await db.executeScript(SeedSchema.sql)
        if withGuard {
            try await db.execute(SeedSchema.auditTrigger)
        }
    }

    static let seedTables = SeedSchema.tables

    func rowCounts(_ database: String) async throws -> [String: Int64] {
        let db = try await connect(database)
        defer { Task { await db.close() } }
        var counts: [String: Int64] = [:]
        for table in Self.seedTables {
            counts[table] = try await db.query("SELECT count(*) FROM \(table)").first?[0, as: Int64.self]
        }
        return counts
    }

    func sourceSpec(_ database: String, passwordFile: String? = nil, guards: Bool = true) -> JSONValue {
        var postgres = pgFields(database, passwordFile: passwordFile)
        postgres["rowCounts"] = .array(Self.seedTables.map { .string($0) })
        if guards { postgres["guards"] = [["trigger": "prevent_audit_mutation", "table": "agent_audit_log"]] }
        return ["postgres": .object(postgres)]
    }

    /// The AgentFS runbook's integrity queries as SQL checks.
    static let seedChecks = SeedSchema.checks
}

/// A fresh name for databases and buckets (lowercase, unique per test).
func uniqueName(_ base: String) -> String { "\(base)-\(UUID().uuidString.prefix(8).lowercased())" }
func uniqueDB(_ base: String) -> String { "\(base)_\(UUID().uuidString.prefix(8).lowercased())" }
