import Foundation
import Postgres
import Synchronization
import Testing

@Suite("Postgres queries against the real server")
struct QueryTests {
    @Test("parameters of every supported type round-trip with typed access")
    func typedParameters() async throws {
        let db = try await connectTest()
        let when = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0x5C, 0x27, 0]
        let rows = try await db.query("""
            SELECT $1::int8 AS big, $2::int4 AS small, $3::text AS name, $4::float8 AS ratio, $5::bool AS flag,
                   $6::timestamptz AS at, $7::bytea AS blob, $8::text AS missing, $9::uuid AS id, $10::float8 AS inf
            """, [Int64.max, 42, "héllo 'quoted' \\ ünïcode", 0.1, true, when, bytes, nil,
                  UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF")!, Double.infinity])
        let row = try #require(rows.first)
        #expect(try row["big", as: Int64.self] == Int64.max)
        #expect(try row["small", as: Int.self] == 42)
        #expect(try row["name", as: String.self] == "héllo 'quoted' \\ ünïcode")
        #expect(try row["ratio", as: Double.self] == 0.1)
        #expect(try row["flag", as: Bool.self] == true)
        #expect(try row["at", as: Date.self] == when)
        #expect(try row["blob", as: [UInt8].self] == bytes)
        #expect(try row["blob", as: Data.self] == Data(bytes))
        #expect(try row["missing", as: String?.self] == nil)
        #expect(try row["id", as: UUID.self] == UUID(uuidString: "6F9619FF-8B86-D011-B42D-00C04FC964FF"))
        #expect(try row["inf", as: Double.self] == .infinity)
        #expect(try row[0, as: Int64.self] == Int64.max)
        #expect(row.columns.map(\.name) == ["big", "small", "name", "ratio", "flag", "at", "blob", "missing", "id", "inf"])
        #expect(row.columns[0].typeOID == 20)
    }

    @Test("NULL reads as nil for optionals and as a clear error otherwise")
    func nulls() async throws {
        let db = try await connectTest()
        let row = try #require(try await db.query("SELECT NULL::int AS n, 7 AS seven").first)
        #expect(try row["n", as: Int?.self] == nil)
        #expect(try row["seven", as: Int?.self] == 7)
        #expect(row.cell("n")?.isNull == true)
        let error = #expect(throws: PostgresError.self) { try row["n", as: Int.self] }
        #expect(error?.kind == .decoding)
        #expect(error?.message.contains("NULL") == true)
        #expect(throws: PostgresError.self) { try row["nope", as: Int.self] }
        #expect(throws: PostgresError.self) { try row["seven", as: Date.self] }
    }

    @Test("timestamps written in another zone decode to the same instant")
    func timestampZones() async throws {
        let db = try await connectTest()
        try await db.execute("SET TimeZone TO 'Asia/Kolkata'")
        let row = try #require(try await db.query(
            "SELECT '2024-02-29 23:59:59.5+00'::timestamptz AS a, '1969-07-20 20:17:40'::timestamp AS b, '2000-01-01'::date AS c, 'infinity'::timestamptz AS d").first)
        #expect(try row["a", as: Date.self] == Date(timeIntervalSince1970: 1_709_251_199.5))
        #expect(try row["b", as: Date.self] == Date(timeIntervalSince1970: -14_182_940))
        #expect(try row["c", as: Date.self] == Date(timeIntervalSince1970: 946_684_800))
        #expect(try row["d", as: Date.self] == .distantFuture)
        #expect(row.cell("a")?.text == "2024-03-01 05:29:59.5+05:30")
    }

    @Test("execute returns affected rows; run exposes the command tag")
    func affectedRows() async throws {
        let db = try await connectTest()
        try await db.execute("CREATE TEMP TABLE t (id int primary key, v text)")
        #expect(try await db.execute("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 5) g") == 5)
        #expect(try await db.execute("UPDATE t SET v = $1 WHERE id > $2", ["y", 2]) == 3)
        let result = try await db.run("DELETE FROM t WHERE v = $1", ["y"])
        #expect(result.commandTag == "DELETE 3")
        #expect(result.affectedRows == 3)
        #expect(try await db.query("SELECT count(*) AS n FROM t").first?["n", as: Int.self] == 2)
    }

    @Test("server errors carry SQLSTATE, severity and message; the connection stays usable")
    func serverErrors() async throws {
        let db = try await connectTest()
        let syntax = await #expect(throws: PostgresError.self) { try await db.query("SELEC 1") }
        #expect(syntax?.kind == .server)
        #expect(syntax?.sqlState == "42601")
        #expect(syntax?.severity == "ERROR")
        let missing = await #expect(throws: PostgresError.self) { try await db.query("SELECT * FROM no_such_table_x") }
        #expect(missing?.sqlState == "42P01")
        #expect(missing?.description.contains("no_such_table_x") == true)
        try await db.execute("CREATE TEMP TABLE u (id int primary key)")
        try await db.execute("INSERT INTO u VALUES (1)")
        let duplicate = await #expect(throws: PostgresError.self) { try await db.execute("INSERT INTO u VALUES (1)") }
        #expect(duplicate?.sqlState == "23505")
        #expect(duplicate?.detail?.contains("already exists") == true)
        #expect(try await db.query("SELECT 1 AS one").first?["one", as: Int.self] == 1)
    }

    @Test("transaction commits on success and rolls back when the body throws")
    func transactions() async throws {
        let db = try await connectTest()
        try await db.execute("CREATE TEMP TABLE tx (id int)")
        try await db.transaction { db in try await db.execute("INSERT INTO tx VALUES (1)") }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { db in
                try await db.execute("INSERT INTO tx VALUES (2)")
                throw Boom()
            }
        }
        #expect(try await db.query("SELECT id FROM tx").map { try $0["id", as: Int.self] } == [1])
    }

    @Test("notices reach the handler and the result")
    func notices() async throws {
        let seen = Mutex<[String]>([])
        let db = try await connectTest { notice in seen.withLock { $0.append(notice.message) } }
        let result = try await db.run("DO $$ BEGIN RAISE NOTICE 'hello %', 42; RAISE WARNING 'careful'; END $$")
        #expect(result.notices.map(\.message) == ["hello 42", "careful"])
        #expect(result.notices.map(\.severity) == ["NOTICE", "WARNING"])
        #expect(seen.withLock { $0 } == ["hello 42", "careful"])
        let quiet = try await db.run("SELECT 1")
        #expect(quiet.notices.isEmpty)
    }

    @Test("a script runs several statements as one implicit transaction: an error undoes all of it")
    func scripts() async throws {
        let db = try await connectTest()
        let results = try await db.executeScript("CREATE TEMP TABLE s (id int); INSERT INTO s VALUES (1), (2); SELECT count(*) FROM s")
        #expect(results.map(\.commandTag) == ["CREATE TABLE", "INSERT 0 2", "SELECT 1"])
        #expect(try results.last?.rows.first?[0, as: Int.self] == 2)
        let error = await #expect(throws: PostgresError.self) {
            try await db.executeScript("INSERT INTO s VALUES (3); SELECT 1/0; INSERT INTO s VALUES (4)")
        }
        #expect(error?.sqlState == "22012")
        #expect(try await db.query("SELECT count(*) FROM s").first?[0, as: Int.self] == 2)
    }

    @Test("quoting helpers agree with libpq and survive hostile input",
          arguments: ["plain", "with \"quotes\"", "it's", "back\\slash", "ünï", "a'; DROP TABLE x; --"])
    func quoting(_ text: String) async throws {
        let db = try await connectTest()
        #expect(try await db.escapeIdentifier(text) == PostgresConnection.quoteIdentifier(text))
        #expect(try await db.escapeLiteral(text) == PostgresConnection.quoteLiteral(text))
        let literal = PostgresConnection.quoteLiteral(text), ident = PostgresConnection.quoteIdentifier(text)
        let row = try #require(try await db.query("SELECT \(literal) AS \(ident)").first)
        #expect(try row[text, as: String.self] == text)
    }

    @Test("server version is reported")
    func serverVersion() async throws {
        let db = try await connectTest()
        #expect(db.serverVersion >= 100_000)
        #expect(db.serverVersionString.hasPrefix("\(db.serverVersion / 10_000)."))
    }

    @Test("cancelling the task cancels the running statement; the connection stays usable")
    func cancellation() async throws {
        let db = try await connectTest()
        let started = ContinuousClock.now
        let task = Task { try await db.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await db.query("SELECT 2 AS two").first?["two", as: Int.self] == 2)
    }
}
