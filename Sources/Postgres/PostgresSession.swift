import CLibPQ
import Foundation

/// A server notice (NOTICE, WARNING, INFO…) such as `RAISE NOTICE` output.
public struct PostgresNotice: Sendable, Equatable {
    public var severity: String
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
}

/// Outcome of one statement.
public struct PostgresResult: Sendable {
    public var columns: [PostgresColumn]
    public var rows: [PostgresRow]
    /// e.g. "INSERT 0 3", "SELECT 2", "CREATE TABLE".
    public var commandTag: String
    /// Rows inserted/updated/deleted/selected/copied; nil for statements without a count.
    public var affectedRows: Int?
    /// Notices the server sent while this statement ran.
    public var notices: [PostgresNotice]
}

/// The libpq side of a connection. Every member is touched only on the connection's worker
/// thread (hence `@unchecked Sendable`): the PGconn is owned here and finished in `finish()`.
final class PostgresSession: @unchecked Sendable {
    var conn: OpaquePointer?
    let secrets: [String]
    let noticeHandler: (@Sendable (PostgresNotice) -> Void)?
    var notices: [PostgresNotice] = []
    /// Set while a COPY is open; other statements are refused until it ends.
    var copyInProgress: CopyKind?
    enum CopyKind { case out, `in` }

    init(secrets: [String], noticeHandler: (@Sendable (PostgresNotice) -> Void)?) {
        self.secrets = secrets
        self.noticeHandler = noticeHandler
    }

    func finish() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    // MARK: connecting

    /// Connects with a whole-attempt deadline; `isCancelled` is polled every 100 ms.
    func connect(_ config: PostgresConfig, isCancelled: () -> Bool) throws {
        let pairs = config.libpqParameters
        for (key, value) in pairs where value.utf8.contains(0) {
            throw PostgresError(kind: .misuse, message: "connection parameter \(key) contains a NUL character")
        }
        let keys = pairs.map { strdup($0.0) } + [nil]
        let values = pairs.map { strdup($0.1) } + [nil]
        defer {
            keys.forEach { free($0) }
            values.forEach { $0.map { p in memset(p, 0, strlen(p)); free(p) } }  // wipe the password copy
        }
        let started = keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                k.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: k.count) { kp in
                    v.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: v.count) { vp in
                        PQconnectStartParams(kp, vp, 0)  // expand_dbname = 0: dbname is never a conninfo
                    }
                }
            }
        }
        guard let started else { throw PostgresError(kind: .connectionRejected, message: "libpq could not allocate a connection") }
        conn = started
        // Verbose messages carry the SQLSTATE of startup errors (e.g. 28P01), which libpq
        // exposes no other way before a connection exists.
        PQsetErrorVerbosity(started, PQERRORS_VERBOSE)

        let deadline = ContinuousClock.now + config.connectTimeout
        var state = PGRES_POLLING_WRITING
        while true {
            if PQstatus(started) == CONNECTION_BAD || state == PGRES_POLLING_FAILED {
                let error = ConnectErrorParser.classify(String(cString: PQerrorMessage(started)))
                finish()
                throw error.redacted(secrets)
            }
            if state == PGRES_POLLING_OK { break }
            let wantRead = state == PGRES_POLLING_READING
            var ready = false
            while !ready {
                if isCancelled() { finish(); throw CancellationError() }
                let remaining = deadline - ContinuousClock.now
                if remaining <= .zero {
                    finish()
                    throw PostgresError(kind: .timeout,
                                        message: "could not connect to \(config.host):\(config.port) within \(config.connectTimeout)")
                }
                let sliceMs = min(100, Int32(max(1, remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)))
                let socket = PQsocket(started)
                if socket < 0 {  // no socket between attempts: let libpq move on, without spinning
                    usleep(1000)
                    break
                }
                var fd = pollfd(fd: socket, events: Int16(wantRead ? POLLIN : POLLOUT), revents: 0)
                let n = poll(&fd, 1, sliceMs)
                ready = n != 0  // errors (EINTR) also go back to PQconnectPoll, which reports them
            }
            state = PQconnectPoll(started)
        }
        PQsetErrorVerbosity(started, PQERRORS_DEFAULT)
        PQsetNoticeReceiver(started, { context, result in
            guard let context, let result else { return }
            let session = Unmanaged<PostgresSession>.fromOpaque(context).takeUnretainedValue()
            session.receive(notice: result)
        }, Unmanaged.passUnretained(self).toOpaque())
        // Fixed output formats so typed decoding does not depend on server defaults.
        _ = try exec("SET DateStyle TO 'ISO, MDY'", [])
        _ = try exec("SET bytea_output TO 'hex'", [])
    }

    private func receive(notice result: OpaquePointer) {
        let fields = ErrorFields(result)
        let notice = PostgresNotice(
            severity: fields.severity ?? "NOTICE", sqlState: fields.sqlState,
            message: Redactor.redact(fields.message ?? "", secrets: secrets),
            detail: fields.detail.map { Redactor.redact($0, secrets: secrets) },
            hint: fields.hint.map { Redactor.redact($0, secrets: secrets) })
        notices.append(notice)
        noticeHandler?(notice)
    }

    // MARK: statements

    func requireIdle() throws -> OpaquePointer {
        guard let conn else { throw PostgresError(kind: .connectionClosed, message: "the connection is closed") }
        if let copyInProgress {
            throw PostgresError(kind: .misuse, message: "a COPY \(copyInProgress == .out ? "TO STDOUT" : "FROM STDIN") is still in progress on this connection")
        }
        return conn
    }

    /// One statement through the extended protocol (parameters never spliced into SQL).
    func exec(_ sql: String, _ params: [PostgresParameter?]) throws -> PostgresResult {
        let conn = try requireIdle()
        notices.removeAll()
        guard !sql.utf8.contains(0) else { throw PostgresError(kind: .misuse, message: "SQL text contains a NUL character") }
        for case let p? in params where p.format == .text && p.bytes.contains(0) {
            throw PostgresError(kind: .misuse, message: "a text parameter contains a NUL character; pass bytes for bytea")
        }
        // One buffer for all values; text values NUL-terminated as libpq requires.
        var buffer = [UInt8]()
        var offsets = [Int]()
        for p in params {
            offsets.append(buffer.count)
            if let p { buffer += p.bytes; buffer.append(0) }
        }
        let lengths = params.map { Int32($0?.bytes.count ?? 0) }
        let formats = params.map { $0?.format.rawValue ?? 0 }
        let result: OpaquePointer? = buffer.withUnsafeBufferPointer { raw in
            let base = UnsafeRawPointer(raw.baseAddress).map { $0.assumingMemoryBound(to: CChar.self) }
            let pointers: [UnsafePointer<CChar>?] = params.indices.map { i in
                params[i] == nil ? nil : base.map { $0 + offsets[i] }
            }
            return PQexecParams(conn, sql, Int32(params.count), nil, pointers, lengths, formats, 0)
        }
        return try consume(result, conn: conn)
    }

    /// Several statements separated by `;` (simple protocol, no parameters); stops at the first error.
    func execScript(_ sql: String) throws -> [PostgresResult] {
        let conn = try requireIdle()
        notices.removeAll()
        guard PQsendQuery(conn, sql) == 1 else { throw connectionError(conn) }
        var results: [PostgresResult] = []
        var firstError: Error?
        while let result = PQgetResult(conn) {
            do {
                let r = try consume(result, conn: conn)
                if firstError == nil { results.append(r) }
            } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
        return results
    }

    /// Converts and frees a PGresult.
    func consume(_ result: OpaquePointer?, conn: OpaquePointer) throws -> PostgresResult {
        guard let result else { throw connectionError(conn) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return Self.convert(result, notices: notices)
        case PGRES_COPY_OUT:
            discardCopyOut(conn)  // copyOut() is the streaming API
            drainResults(conn)
            throw PostgresError(kind: .misuse, message: "COPY TO STDOUT must be run with copyOut(_:)")
        case PGRES_COPY_IN, PGRES_COPY_BOTH:
            PQputCopyEnd(conn, "COPY FROM STDIN must be run with copyIn(_:from:)")
            drainResults(conn)
            throw PostgresError(kind: .misuse, message: "COPY FROM STDIN must be run with copyIn(_:from:)")
        default:
            throw serverError(result, conn: conn)
        }
    }

    func discardCopyOut(_ conn: OpaquePointer) {
        var buffer: UnsafeMutablePointer<CChar>?
        while PQgetCopyData(conn, &buffer, 0) > 0 {
            PQfreemem(buffer)
            buffer = nil
        }
    }

    func drainResults(_ conn: OpaquePointer) {
        while let r = PQgetResult(conn) { PQclear(r) }
    }

    static func convert(_ result: OpaquePointer, notices: [PostgresNotice]) -> PostgresResult {
        let nColumns = Int(PQnfields(result)), nRows = Int(PQntuples(result))
        let columns = (0..<nColumns).map { c in
            PostgresColumn(name: String(cString: PQfname(result, Int32(c))), typeOID: UInt32(PQftype(result, Int32(c))))
        }
        let shared = PostgresRow.Columns(columns)
        var rows = [PostgresRow]()
        rows.reserveCapacity(nRows)
        for r in 0..<Int32(nRows) {
            let values: [String?] = (0..<Int32(nColumns)).map { c in
                PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
            }
            rows.append(PostgresRow(shared: shared, values: values))
        }
        let tuples = String(cString: PQcmdTuples(result))
        return PostgresResult(columns: columns, rows: rows, commandTag: String(cString: PQcmdStatus(result)),
                              affectedRows: Int(tuples), notices: notices)
    }

    // MARK: errors

    func serverError(_ result: OpaquePointer, conn: OpaquePointer) -> PostgresError {
        let fields = ErrorFields(result)
        let lost = PQstatus(conn) == CONNECTION_BAD
        let message = fields.message ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines)
        let error = PostgresError(kind: lost ? .connectionLost : .server, sqlState: fields.sqlState, severity: fields.severity,
                                  message: message.isEmpty ? "unknown error" : message, detail: fields.detail, hint: fields.hint)
        return error.redacted(secrets)
    }

    func connectionError(_ conn: OpaquePointer) -> PostgresError {
        let text = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        let lost = PQstatus(conn) == CONNECTION_BAD
        return PostgresError(kind: lost ? .connectionLost : .misuse, message: text.isEmpty ? "libpq call failed" : text)
            .redacted(secrets)
    }
}

/// The diagnostic fields of an error or notice result.
struct ErrorFields {
    var severity, sqlState, message, detail, hint: String?

    init(_ result: OpaquePointer) {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        severity = field("V") ?? field("S")
        sqlState = field("C")
        message = field("M")
        detail = field("D")
        hint = field("H")
    }
}
