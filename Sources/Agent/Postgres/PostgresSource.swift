import AgentContract
import BackstopCore
import Foundation
import Postgres

/// PostgreSQL via `pg_dump -Fc`, streamed. Row counts are taken inside a REPEATABLE READ
/// transaction whose snapshot is exported and handed to `pg_dump --snapshot`: the counts and
/// the dump see exactly the same data.
public struct PostgresSource: BackupSource {
    public static let format = ArtifactFormat(name: "pg_dump-custom", fileExtension: "dump")
    public let spec: PostgresSourceSpec

    public init(spec: PostgresSourceSpec) { self.spec = spec }

    public var identity: SourceIdentity { SourceIdentity(kind: "postgres", attributes: spec.connection.identity) }
    public var format: ArtifactFormat { Self.format }

    public func prepare(_ context: AgentContext) async throws -> any PreparedBackup {
        let endpoint = spec.connection
        let pgDump = try endpoint.tools(context).find("pg_dump")
        let client = try await PostgresEndpoint.toolVersion(pgDump)
        let connection = try await endpoint.connect()
        do {
            let serverMajor = connection.serverVersion / 10000
            guard client.major >= serverMajor else {
                throw AgentError(.clientTooOld, "pg_dump \(client.text) is older than the server (\(connection.serverVersionString)); "
                                 + "use a pg_dump of major version \(serverMajor) or newer (spec bindir)")
            }
            context.progress("backup: postgres \(connection.serverVersionString), pg_dump \(client.text)")
            for table in spec.rowCounts ?? [] {
                let found = try await connection.query("SELECT to_regclass($1)::text", [quoteQualified(table)])
                guard let row = found.first, row.values.first ?? nil != nil else {
                    throw AgentError(.tableMissing, "rowCounts: table \(table) does not exist in \(endpoint.database)")
                }
            }
            let relations: Int64 = try await connection.query("""
                SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname <> 'information_schema'
                  AND n.nspname NOT LIKE 'pg\\_%'
                """).first?[0, as: Int64.self] ?? 0
            if relations == 0 && !(spec.allowEmpty ?? false) {
                throw AgentError(.sourceEmpty, "database \(endpoint.database) has no tables, views or sequences; "
                                 + "refusing to record an empty backup (set allowEmpty to back it up anyway)")
            }
            var guards: [GuardResult] = []
            for guardSpec in spec.guards ?? [] {
                let rows = try await connection.query("""
                    SELECT t.tgenabled::text FROM pg_trigger t WHERE t.tgname = $1 AND NOT t.tgisinternal
                      AND t.tgrelid = to_regclass($2)
                    """, [guardSpec.trigger, quoteQualified(guardSpec.table)])
                let name = "trigger \(guardSpec.trigger) on \(guardSpec.table)"
                if let state = rows.first?.values.first ?? nil {
                    guards.append(GuardResult(name: name, passed: state != "D",
                                              message: state == "D" ? "present but DISABLED" : "present and enabled"))
                } else {
                    guards.append(GuardResult(name: name, passed: false, message: "missing"))
                }
            }
            for failed in guards where !failed.passed { context.progress("backup: GUARD FAILED: \(failed.name): \(failed.message)") }

            try await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            let snapshot = try await connection.query("SELECT pg_export_snapshot()").first?[0, as: String.self] ?? ""
            var counts: [String: Int64] = [:]
            for table in spec.rowCounts ?? [] {
                counts[table] = try await connection.query("SELECT count(*) FROM \(quoteQualified(table))").first?[0, as: Int64.self] ?? 0
            }
            return PreparedPostgresBackup(spec: spec, connection: connection, pgDump: pgDump, snapshot: snapshot,
                                          tools: ["pg_dump": client.text, "server": connection.serverVersionString],
                                          counts: counts, guards: guards)
        } catch let error as PostgresError {
            await connection.close()
            throw PostgresEndpoint.agentError(error, role: "source", what: endpoint.database)
        } catch {
            await connection.close()
            throw error
        }
    }
}

struct PreparedPostgresBackup: PreparedBackup {
    let spec: PostgresSourceSpec
    let connection: PostgresConnection
    let pgDump: String
    let snapshot: String
    let tools: [String: String]
    let counts: [String: Int64]
    let guards: [GuardResult]

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        let endpoint = spec.connection
        let password = try endpoint.password()
        let passfile = try password.map { try PostgresPasswordFile(password: $0, directory: context.workDirectory) }
        defer { passfile?.remove() }
        let process = try Subprocess(executable: pgDump, arguments: ["--format=custom", "--no-password", "--snapshot=\(snapshot)"] + spec.tableArguments,
                                     environment: endpoint.toolEnvironment(passwordFile: passfile))
        let selection = spec.tableArguments.isEmpty ? "" : " " + spec.tableArguments.joined(separator: " ")
        context.progress("backup: pg_dump -Fc \(endpoint.database)\(selection) started")
        do {
            try await output.copy(from: process.stdout!)
        } catch {
            process.terminate()
            _ = await process.wait()
            throw error
        }
        let termination = await process.wait()
        guard termination.succeeded else {
            throw AgentError(.toolFailed, "pg_dump \(termination): \(toolMessage(await process.stderrText(), secrets: [password]))")
        }
        var report = SourceReport()
        report.tools = tools
        report.guards = guards
        if spec.rowCounts != nil {
            report.rowCounts = counts
            report.rowCountsConsistency = "snapshot"
        }
        let head = await output.head
        let magic = Array("PGDMP".utf8)
        report.checks.append(CheckResult(name: "format", passed: head.starts(with: magic), expected: "PGDMP header",
                                         actual: head.starts(with: magic) ? "PGDMP header" : "no PGDMP header"))
        return report
    }

    func close() async {
        _ = try? await connection.execute("COMMIT")
        await connection.close()
    }
}
