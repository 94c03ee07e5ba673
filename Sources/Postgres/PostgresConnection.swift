import CLibPQ
import Foundation
import Synchronization

/// One PostgreSQL session. It owns a PGconn and a dedicated thread on which every libpq call
/// runs; the async methods hop to that thread and back, so the cooperative pool never blocks.
/// Calls from several tasks are executed one at a time in arrival order (libpq allows one
/// statement in flight per connection); a COPY keeps the connection busy until its stream ends.
/// Task cancellation cancels the running statement on the server.
public final class PostgresConnection: Sendable {
    private let worker: PostgresWorker
    private let session: PostgresSession
    private let cancelHandle: CancelHandle
    /// `PQserverVersion`, e.g. 150018 for 15.18.
    public let serverVersion: Int
    /// The server's `server_version` string, e.g. "15.18 (Debian 15.18-0+deb12u1)".
    public let serverVersionString: String

    private init(worker: PostgresWorker, session: PostgresSession, cancelHandle: CancelHandle,
                 serverVersion: Int, serverVersionString: String) {
        self.worker = worker
        self.session = session
        self.cancelHandle = cancelHandle
        self.serverVersion = serverVersion
        self.serverVersionString = serverVersionString
    }

    /// Opens a session. Throws `PostgresError` with kind `.authenticationFailed` (SQLSTATE
    /// 28P01/28000), `.databaseDoesNotExist` (3D000), `.unreachable`, `.timeout`, `.tls` or
    /// `.connectionRejected`; its text never includes the password.
    /// - Parameter noticeHandler: called on the connection's thread for every server notice.
    public static func connect(_ config: PostgresConfig,
                               noticeHandler: (@Sendable (PostgresNotice) -> Void)? = nil) async throws -> PostgresConnection {
        let worker = PostgresWorker(name: "postgres \(config.host):\(config.port)")
        let session = PostgresSession(secrets: [config.password].compactMap { $0 }, noticeHandler: noticeHandler)
        let cancelled = CancelFlag()
        do {
            let (version, versionString, cancel) = try await withTaskCancellationHandler {
                try await worker.run { () throws -> (Int, String, SendablePointer) in
                    try session.connect(config, isCancelled: { cancelled.isSet })
                    let conn = session.conn!
                    let text = PQparameterStatus(conn, "server_version").map { String(cString: $0) } ?? ""
                    return (Int(PQserverVersion(conn)), text, SendablePointer(raw: PQgetCancel(conn)))
                }
            } onCancel: { cancelled.set() }
            return PostgresConnection(worker: worker, session: session, cancelHandle: CancelHandle(cancel.raw),
                                      serverVersion: version, serverVersionString: versionString)
        } catch {
            worker.stop()
            throw error
        }
    }

    deinit {
        let session = self.session, cancelHandle = self.cancelHandle
        worker.submit {
            cancelHandle.free()
            session.finish()
        }
        worker.stop()
    }

    /// Ends the session now (otherwise it ends when the last reference goes away).
    public func close() async {
        let session = self.session, cancelHandle = self.cancelHandle
        _ = try? await worker.run {
            cancelHandle.free()
            session.finish()
        }
    }

    // MARK: statements

    /// Runs one statement with `$1…$n` parameters and returns everything about its outcome.
    public func run(_ sql: String, _ params: [(any PostgresValue)?] = []) async throws -> PostgresResult {
        let encoded = params.map { $0?.postgresParameter }
        let session = self.session
        return try await worker.run(cancel: cancelHandle) { try session.exec(sql, encoded) }
    }

    /// Rows of one statement: `try await db.query("SELECT id FROM t WHERE name = $1", [name])`.
    public func query(_ sql: String, _ params: [(any PostgresValue)?] = []) async throws -> [PostgresRow] {
        try await run(sql, params).rows
    }

    /// Runs one statement and returns the number of rows it affected (0 when it has no count).
    @discardableResult
    public func execute(_ sql: String, _ params: [(any PostgresValue)?] = []) async throws -> Int {
        try await run(sql, params).affectedRows ?? 0
    }

    /// Runs several `;`-separated statements without parameters (simple protocol), e.g. a
    /// schema file. Without explicit BEGIN/COMMIT inside, the server runs the whole script as
    /// one implicit transaction: the first error stops it and undoes the earlier statements.
    @discardableResult
    public func executeScript(_ sql: String) async throws -> [PostgresResult] {
        let session = self.session
        return try await worker.run(cancel: cancelHandle) { try session.execScript(sql) }
    }

    /// BEGIN, `body`, COMMIT; ROLLBACK (and rethrow) if `body` throws. Do not share the
    /// connection with other tasks meanwhile: their statements would join the transaction.
    @discardableResult
    public func transaction<T>(isolation: isolated (any Actor)? = #isolation,
                               _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await execute("BEGIN")
        let value: T
        do {
            value = try await body(self)
        } catch {
            // Cancellation must not prevent the rollback, so it runs in an unstructured task.
            _ = try? await Task { try await self.execute("ROLLBACK") }.value
            throw error
        }
        try await execute("COMMIT")
        return value
    }

    // MARK: passwords and quoting

    /// The verifier libpq would send for `password` (default algorithm "scram-sha-256"), for
    /// `ALTER ROLE … PASSWORD '<verifier>'` so the plaintext never reaches the server or its logs.
    public func encryptPassword(_ password: String, user: String, algorithm: String = "scram-sha-256") async throws -> String {
        let session = self.session
        return try await worker.run {
            let conn = try session.requireIdle()
            guard let verifier = PQencryptPasswordConn(conn, password, user, algorithm) else {
                throw session.connectionError(conn)
            }
            defer { PQfreemem(verifier) }
            return String(cString: verifier)
        }
    }

    /// `"name"` with embedded quotes doubled, via libpq's PQescapeIdentifier.
    public func escapeIdentifier(_ identifier: String) async throws -> String {
        let session = self.session
        return try await worker.run {
            let conn = try session.requireIdle()
            guard let out = PQescapeIdentifier(conn, identifier, identifier.utf8.count) else { throw session.connectionError(conn) }
            defer { PQfreemem(out) }
            return String(cString: out)
        }
    }

    /// `'text'` (or `E'…'` when it contains backslashes), via libpq's PQescapeLiteral.
    public func escapeLiteral(_ literal: String) async throws -> String {
        let session = self.session
        return try await worker.run {
            let conn = try session.requireIdle()
            guard let out = PQescapeLiteral(conn, literal, literal.utf8.count) else { throw session.connectionError(conn) }
            defer { PQfreemem(out) }
            return String(cString: out)
        }
    }

    /// Same result as `escapeIdentifier` for a UTF-8 session, without a connection.
    public static func quoteIdentifier(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Same result as `escapeLiteral` (standard_conforming_strings on), without a connection.
    public static func quoteLiteral(_ literal: String) -> String {
        let body = literal.replacingOccurrences(of: "'", with: "''")
        if literal.contains("\\") {
            return " E'" + body.replacingOccurrences(of: "\\", with: "\\\\") + "'"
        }
        return "'" + body + "'"
    }

    // MARK: internals shared with COPY

    var workerForCopy: PostgresWorker { worker }
    var sessionForCopy: PostgresSession { session }
    var cancelForCopy: CancelHandle { cancelHandle }
}

struct SendablePointer: @unchecked Sendable { var raw: OpaquePointer? }

final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}
