import AgentContract
import BackstopCore
import Foundation
import Postgres

/// Rows of a PostgreSQL table older than `maxAge` (`DELETE FROM agent_runs WHERE created_at <
/// now()-'365d'`), checked before anything happens (table, column, column type), counted, then
/// deleted in batches of `batchSize`, each its own short transaction (short locks, WAL in small
/// pieces, and an interrupted run keeps what it deleted: repeating it is safe).
struct SQLRowCleanup: Sendable {
    let spec: CleanupTargetSpec.SQLCleanup
    /// Above this many rows (planner estimate) the guard's total is the estimate, not count(*).
    static let exactCountLimit: Double = 1_000_000
    static let timestampTypes: Set<String> = ["timestamptz", "timestamp", "date"]

    /// `now`: the run's reference time; nil takes the database server's `now()`.
    func candidates(now: Date?) async throws -> CleanupCandidates {
        do {
            let connection = try await spec.connection.connect()
            defer { Task { await connection.close() } }
            return try await count(connection, now: now)
        } catch let error as PostgresError {
            throw PostgresEndpoint.agentError(error, role: "source", what: spec.table)
        }
    }

    func count(_ connection: PostgresConnection, now: Date?) async throws -> CleanupCandidates {
        let table = quoteQualified(spec.table)
        let column = PostgresConnection.quoteIdentifier(spec.timestampColumn)
        let database = spec.connection.database
        guard let oid = try await connection.query("SELECT to_regclass($1)::oid::bigint", [table]).first?[0, as: Int64?.self] else {
            throw AgentError(.tableMissing, "table \(spec.table) does not exist in database \(database): check spec.targets[].sql.table")
        }
        let type = try await connection.query(
            "SELECT t.typname::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1::bigint::oid AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
            [oid, spec.timestampColumn]).first?[0, as: String.self]
        guard let type else {
            throw AgentError(.columnMissing, "table \(spec.table) has no column \(spec.timestampColumn): check spec.targets[].sql.timestampColumn")
        }
        guard Self.timestampTypes.contains(type) else {
            throw AgentError(.notTimestamp, "column \(spec.table).\(spec.timestampColumn) is \(type), not a timestamp or date: name the column that holds each row's time")
        }
        // The cutoff is fixed once, so rows aging in during the run are left for the next one.
        let base = now.map { "'\(UTCTimestamp.rfc3339($0))'::timestamptz" } ?? "now()"
        let cutoff = try await connection.query("SELECT (\(base) - $1::interval)::text", ["\(spec.maxAge.seconds) seconds"])
            .first?[0, as: String.self] ?? ""
        let row = try await connection.query(
            "SELECT count(*), extract(epoch FROM min(\(column)))::float8, extract(epoch FROM max(\(column)))::float8 FROM \(table) WHERE \(column) < $1::timestamptz",
            [cutoff]).first
        let count = try row?[0, as: Int64.self] ?? 0
        let estimate = try await connection.query("SELECT reltuples::float8 FROM pg_class WHERE oid = $1::bigint::oid", [oid]).first?[0, as: Double.self] ?? -1
        let total = estimate > Self.exactCountLimit
            ? max(Int64(estimate), count)
            : try await connection.query("SELECT count(*) FROM \(table)").first?[0, as: Int64.self] ?? 0
        let spec = self.spec
        return CleanupCandidates(
            unit: "rows", count: count, total: total, bytes: nil,
            oldest: try row?[1, as: Double?.self].map { Date(timeIntervalSince1970: $0) },
            newest: try row?[2, as: Double?.self].map { Date(timeIntervalSince1970: $0) },
            delete: { context in
                do {
                    let connection = try await spec.connection.connect()
                    defer { Task { await connection.close() } }
                    return (try await Self.delete(connection, spec: spec, cutoff: cutoff, context: context), nil)
                } catch let error as PostgresError {
                    throw PostgresEndpoint.agentError(error, role: "source", what: spec.table)
                }
            })
    }

    /// `DELETE … WHERE ctid IN (SELECT ctid … LIMIT n)` until a batch comes back short.
    static func delete(_ connection: PostgresConnection, spec: CleanupTargetSpec.SQLCleanup, cutoff: String,
                       context: AgentContext) async throws -> Int64 {
        let table = quoteQualified(spec.table)
        let column = PostgresConnection.quoteIdentifier(spec.timestampColumn)
        let batch = max(1, spec.batchSize ?? 10_000)
        var total: Int64 = 0
        while true {
            let n = try await connection.execute(
                "DELETE FROM \(table) WHERE ctid IN (SELECT ctid FROM \(table) WHERE \(column) < $1::timestamptz LIMIT \(batch))", [cutoff])
            total += Int64(n)
            if n < batch { break }
            context.progress("cleanup: \(spec.table): \(total) rows deleted so far")
        }
        if spec.vacuum == true { _ = try await connection.execute("VACUUM (ANALYZE) \(table)") }
        return total
    }
}
