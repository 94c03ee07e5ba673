import Foundation
import Postgres
import Testing

@Suite("Postgres connecting, errors and credentials")
struct ConnectTests {
    static let canary = "canary-Pw-7f3a9c"

    @Test("a wrong password gives 28P01 and the canary appears nowhere in the error")
    func badPassword() async throws {
        let config = try testConfig(password: Self.canary)
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        let e = try #require(error)
        #expect(e.kind == .authenticationFailed)
        #expect(e.sqlState == "28P01")
        #expect(e.severity == "FATAL")
        #expect(e.message.contains("password authentication failed"))
        for text in [e.description, String(reflecting: e), "\(e)", e.message, e.detail ?? "", e.hint ?? ""] {
            #expect(!text.contains(Self.canary))
            #expect(!text.contains("canary"))
        }
    }

    @Test("the configuration never prints its password")
    func configDescription() throws {
        let config = try testConfig(password: Self.canary)
        var dumped = ""
        dump(config, to: &dumped)
        for text in [config.description, String(reflecting: config), "\(config)", dumped] {
            #expect(!text.contains(Self.canary))
        }
        #expect(config.description.contains("[REDACTED]"))
    }

    @Test("a server error echoing the connection password is redacted")
    func serverEchoIsRedacted() async throws {
        let config = try testConfig()
        let db = try await PostgresConnection.connect(config)
        let password = try #require(config.password)
        // A leading letter makes the input invalid syntax whatever the (random) password looks
        // like; a password of leading digits would otherwise overflow first (22003).
        let error = await #expect(throws: PostgresError.self) { try await db.query("SELECT $1::int", ["x" + password]) }
        #expect(error?.sqlState == "22P02")
        #expect(error?.description.contains(password) == false)
        #expect(error?.message.contains("[REDACTED]") == true)
    }

    @Test("nothing listening on the port is reported as unreachable, quickly")
    func unreachable() async throws {
        var config = try testConfig()
        config.port = try closedPort()
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        #expect(error?.kind == .unreachable)
        #expect(error?.message.contains("refused") == true)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test("a server that accepts but never answers hits connectTimeout")
    func hungServer() async throws {
        let listener = try Listener()
        defer { listener.close() }
        var config = try testConfig()
        config.port = listener.port
        config.connectTimeout = .milliseconds(800)
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        let elapsed = ContinuousClock.now - started
        #expect(error?.kind == .timeout)
        #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(3))
    }

    @Test("a missing database is classified with 3D000")
    func missingDatabase() async throws {
        let config = try testConfig(database: "no_such_db_\(UUID().uuidString.prefix(6))")
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        #expect(error?.kind == .databaseDoesNotExist)
        #expect(error?.sqlState == "3D000")
    }

    @Test("a database name that looks like a connection string is not parsed as one")
    func noConninfoExpansion() async throws {
        let config = try testConfig(database: "postgresql://evil:\(Self.canary)@127.0.0.1:1/x")
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        #expect(error?.kind == .databaseDoesNotExist)
        #expect(error?.description.contains(Self.canary) == false)
    }

    @Test("a SCRAM verifier from encryptPassword is accepted by ALTER ROLE and logs in")
    func scramRotation() async throws {
        let admin = try await connectTest()
        let role = uniqueName("rot")
        let first = "first-\(UUID().uuidString)", second = "second-\(UUID().uuidString)"
        let firstVerifier = try await admin.encryptPassword(first, user: role)
        try await admin.execute("CREATE ROLE \(PostgresConnection.quoteIdentifier(role)) LOGIN PASSWORD \(PostgresConnection.quoteLiteral(firstVerifier))")
        do {
            try await rotate(admin: admin, role: role, from: first, to: second)
        } catch {
            try await admin.execute("DROP ROLE \(PostgresConnection.quoteIdentifier(role))")
            throw error
        }
        try await admin.execute("DROP ROLE \(PostgresConnection.quoteIdentifier(role))")
    }

    private func rotate(admin: PostgresConnection, role: String, from first: String, to second: String) async throws {
        let verifier = try await admin.encryptPassword(second, user: role)
        #expect(verifier.hasPrefix("SCRAM-SHA-256$4096:"))
        #expect(!verifier.contains(second))
        try await admin.execute("ALTER ROLE \(PostgresConnection.quoteIdentifier(role)) PASSWORD \(PostgresConnection.quoteLiteral(verifier))")
        let stored = try await admin.query("SELECT rolpassword FROM pg_authid WHERE rolname = $1", [role])
        #expect(try stored.first?["rolpassword", as: String.self] == verifier)

        let user = try await PostgresConnection.connect(try testConfig(user: role, password: second))
        #expect(try await user.query("SELECT current_user AS u").first?["u", as: String.self] == role)
        await user.close()
        let old = await #expect(throws: PostgresError.self) {
            try await PostgresConnection.connect(try testConfig(user: role, password: first))
        }
        #expect(old?.sqlState == "28P01")
        #expect(old?.description.contains(first) == false)
    }

    @Test("two connections work concurrently without blocking the cooperative pool")
    func concurrentConnections() async throws {
        let a = try await connectTest(), b = try await connectTest()
        let started = ContinuousClock.now
        async let sleepA = a.query("SELECT pg_sleep(1), 'a' AS name")
        async let sleepB = b.query("SELECT pg_sleep(1), 'b' AS name")
        // While both connections block in libpq, ordinary tasks still get scheduled promptly.
        let probe = ContinuousClock.now
        let probes = await withTaskGroup(of: Duration.self) { group in
            for _ in 0..<8 { group.addTask { try? await Task.sleep(for: .milliseconds(50)); return ContinuousClock.now - probe } }
            return await group.reduce(into: [Duration]()) { $0.append($1) }
        }
        #expect(probes.allSatisfy { $0 < .milliseconds(900) })  // a blocked pool would take ≥ 1 s
        let (rowsA, rowsB) = try await (sleepA, sleepB)
        #expect(try rowsA.first?["name", as: String.self] == "a")
        #expect(try rowsB.first?["name", as: String.self] == "b")
        #expect(ContinuousClock.now - started < .milliseconds(1900))  // one after the other would take ≥ 2 s
    }

    @Test("one connection shared by many tasks runs their statements one at a time, correctly")
    func sharedConnection() async throws {
        let db = try await connectTest()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<50 { group.addTask { try await db.query("SELECT $1::int * 2 AS v", [i]).first!["v", as: Int.self] } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(values.sorted() == (0..<50).map { $0 * 2 })
    }

    @Test("sslmode=require against a server without TLS is a .tls error")
    func tlsRequired() async throws {
        var config = try testConfig()
        config.sslMode = .require
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(config) }
        #expect(error?.kind == .tls)
        #expect(error?.message.contains("SSL") == true)
    }

    @Test("releasing the last reference ends the server session")
    func releaseEndsSession() async throws {
        let admin = try await connectTest()
        var config = try testConfig()
        config.applicationName = uniqueName("release")
        func sessions() async throws -> Int {
            try await admin.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [config.applicationName])
                .first![0, as: Int.self]
        }
        var connections: [PostgresConnection] = []
        for _ in 0..<5 { connections.append(try await PostgresConnection.connect(config)) }
        #expect(try await sessions() == 5)
        connections.removeAll()
        var remaining = 5
        for _ in 0..<40 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(50))
            remaining = try await sessions()
        }
        #expect(remaining == 0)
    }

    @Test("a closed connection refuses work with connectionClosed")
    func closed() async throws {
        let db = try await connectTest()
        await db.close()
        let error = await #expect(throws: PostgresError.self) { try await db.query("SELECT 1") }
        #expect(error?.kind == .connectionClosed)
    }
}
