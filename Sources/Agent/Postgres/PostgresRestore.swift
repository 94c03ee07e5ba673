import AgentContract
import BackstopCore
import Foundation
import Postgres

/// Restores a `pg_dump -Fc` artifact with `pg_restore --single-transaction --exit-on-error`
/// (all or nothing), `--clean --if-exists` into an existing database, or into a new one it
/// creates (and drops again if the restore fails).
public struct PostgresRestoreTarget: RestoreTarget {
    public let spec: PostgresTargetSpec
    public let createDatabase: Bool

    public init(spec: PostgresTargetSpec, mode: String?) throws {
        self.spec = spec
        switch mode ?? (spec.create == true ? "create" : "clean") {
        case "create": createDatabase = true
        case "clean": createDatabase = spec.create ?? false
        case let other: throw AgentError(.specInvalid, "mode must be clean or create, not \(other)")
        }
        guard !spec.connection.database.contains("="), !spec.connection.database.isEmpty else {
            throw AgentError(.specInvalid, "target database name must be non-empty and must not contain '='")
        }
    }

    /// For the drill's cleanup, which needs the maintenance database of a spec already checked.
    init(checked spec: PostgresTargetSpec) {
        self.spec = spec
        createDatabase = spec.create ?? false
    }

    var maintenance: String { spec.maintenanceDatabase ?? "postgres" }

    /// The database's comment: nil when it does not exist, "" when it has none.
    static func comment(of database: String, _ connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query("SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1", [database])
        return rows.first.map { ($0.values.first ?? nil) ?? "" }
    }

    /// A database made by an earlier, interrupted run of the same drill (its comment is our tag).
    func isOwnLeftover(_ connection: PostgresConnection) async throws -> Bool {
        guard let tag = spec.ownerTag else { return false }
        return try await Self.comment(of: spec.connection.database, connection) == tag
    }

    func databaseExists(_ connection: PostgresConnection) async throws -> Bool {
        try await connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [spec.connection.database]).count == 1
    }

    public func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == PostgresSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not a PostgreSQL dump")
        }
        let connection = try await spec.connection.connect(database: maintenance, role: "target")
        defer { Task { await connection.close() } }
        let exists = try await databaseExists(connection)
        if createDatabase && exists, try await isOwnLeftover(connection) {
            _ = try await connection.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(spec.connection.database)) WITH (FORCE)")
            context.progress("restore: dropped \(spec.connection.database), left by an interrupted run of the same drill")
        } else if createDatabase && exists {
            throw AgentError(.targetExists, "target database \(spec.connection.database) already exists; mode create refuses to overwrite it")
        }
        if !createDatabase && !exists {
            throw AgentError(.targetMissing, "target database \(spec.connection.database) does not exist (use mode create)")
        }
        _ = try spec.connection.tools(context).find("pg_restore")
    }

    public func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let endpoint = spec.connection
        let database = endpoint.database
        if createDatabase {
            let admin = try await endpoint.connect(database: maintenance, role: "target")
            do {
                guard try await !databaseExists(admin) else {
                    throw AgentError(.targetExists, "target database \(database) appeared meanwhile; refusing")
                }
                try await admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))")
                if let tag = spec.ownerTag {
                    try await admin.execute("COMMENT ON DATABASE \(PostgresConnection.quoteIdentifier(database)) IS \(PostgresConnection.quoteLiteral(tag))")
                }
            } catch let error as PostgresError {
                await admin.close()
                throw PostgresEndpoint.agentError(error, role: "target", what: database)
            }
            await admin.close()
            context.progress("restore: created database \(database)")
        }
        do {
            let pgRestore = try endpoint.tools(context).find("pg_restore")
            let version = try await PostgresEndpoint.toolVersion(pgRestore)
            let password = try endpoint.password()
            let passfile = try password.map { try PostgresPasswordFile(password: $0, directory: context.workDirectory) }
            defer { passfile?.remove() }
            var arguments = ["--no-password", "--dbname=\(database)", "--single-transaction", "--exit-on-error"]
            if !createDatabase { arguments += ["--clean", "--if-exists"] }
            if spec.noOwner == true { arguments += ["--no-owner", "--no-privileges"] }
            context.progress("restore: pg_restore \(createDatabase ? "into new" : "--clean --if-exists into") \(database)")
            let out = try await Subprocess.run(pgRestore, arguments + [file], environment: endpoint.toolEnvironment(passwordFile: passfile))
            guard out.termination.succeeded else {
                throw AgentError(.restoreFailed, "pg_restore \(out.termination) (the single transaction was rolled back): "
                                 + toolMessage(out.stderr, secrets: [password]))
            }
            return RestoreReport(target: endpoint.identity.merging(["created": String(createDatabase)]) { a, _ in a },
                                 tools: ["pg_restore": version.text])
        } catch {
            if createDatabase { await dropCreated(context) }
            throw error
        }
    }

    /// Nothing half-restored is left behind in create mode.
    private func dropCreated(_ context: AgentContext) async {
        guard let admin = try? await spec.connection.connect(database: maintenance, role: "target") else { return }
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(spec.connection.database)) WITH (FORCE)")
        await admin.close()
        context.progress("restore: dropped the database this restore had created")
    }

    /// Row counts against the manifest, then the user's SQL checks, on the restored database.
    public static func checks(endpoint: PostgresEndpoint, manifest: ArtifactManifest, verify: VerifySpec?) async throws -> [CheckResult] {
        guard verify?.rowCounts == true || !(verify?.sql ?? []).isEmpty else { return [] }
        let connection = try await endpoint.connect(role: "target")
        defer { Task { await connection.close() } }
        var results: [CheckResult] = []
        if verify?.rowCounts == true {
            let expected = manifest.rowCounts ?? [:]
            if expected.isEmpty {
                results.append(CheckResult(name: "rowCounts", passed: false, message: "the manifest records no row counts (set source.postgres.rowCounts)"))
            }
            for (table, count) in expected.sorted(by: { $0.key < $1.key }) {
                do {
                    let actual = try await connection.query("SELECT count(*) FROM \(quoteQualified(table))").first?[0, as: Int64.self] ?? -1
                    results.append(CheckResult(name: "rowCount:\(table)", passed: actual == count, expected: String(count), actual: String(actual)))
                } catch let error as PostgresError {
                    results.append(CheckResult(name: "rowCount:\(table)", passed: false, expected: String(count), message: error.message))
                }
            }
        }
        for check in verify?.sql ?? [] {
            do {
                let rows = try await connection.query(check.query)
                let actual = rows.first?.values.first ?? nil
                results.append(CheckResult(name: "sql:\(check.name)", passed: actual?.trimmingCharacters(in: .whitespaces) == check.expect,
                                           expected: check.expect, actual: actual ?? "NULL"))
            } catch let error as PostgresError {
                results.append(CheckResult(name: "sql:\(check.name)", passed: false, expected: check.expect, message: error.message))
            }
        }
        return results
    }
}

/// `pg_restore -l` reads the archive's table of contents: a truncated or foreign file fails.
public struct PgRestoreListVerifier: FormatVerifier {
    public var bindir: String?

    public init(bindir: String? = nil) { self.bindir = bindir }

    public func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult] {
        var tools = context.tools
        if let bindir { tools.directories.insert(bindir, at: 0) }
        let out = try await Subprocess.run(try tools.find("pg_restore"), ["--list", file])
        let entries = out.stdout.split(separator: "\n").filter { !$0.hasPrefix(";") && !$0.isEmpty }.count
        guard out.termination.succeeded else {
            return [CheckResult(name: "listContents", passed: false, expected: "pg_restore -l succeeds",
                                actual: "\(out.termination)", message: String(out.stderr.suffix(500)))]
        }
        return [CheckResult(name: "listContents", passed: entries > 0, expected: "table of contents",
                            actual: "\(entries) entries")]
    }
}
