/// Postgres: the only importer of libpq.
///
/// - `PostgresConnection.connect(_:noticeHandler:)` opens a session on its own thread (every
///   blocking libpq call runs there, never on the cooperative pool); `query`/`execute`/`run`
///   take `$n` parameters (`[(any PostgresValue)?]`, nil = NULL) and return rows with typed
///   access (`try row["id", as: Int64.self]`); `transaction`, `executeScript`.
/// - `copyOut` returns `PostgresCopyOutStream`, an `AsyncSequence` of `[UInt8]` chunks pulled on
///   demand; `copyIn(_:from:)` feeds `COPY … FROM STDIN` from any async sequence of byte
///   sequences. Both keep memory bounded to about one chunk.
/// - `encryptPassword` (SCRAM verifiers via PQencryptPasswordConn), identifier/literal quoting.
/// - `PostgresError` carries kind, SQLSTATE, severity, message, detail, hint. Connection failures
///   are classified (authentication, missing database, unreachable, timeout, TLS). Text is
///   redacted: the configured password, `password=…` and URI user-info never appear.
