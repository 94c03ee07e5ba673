import Agent
import DynamicJSON
import Foundation
import Postgres
import Testing
import TestSupport

/// `backstop agent rotate` against the real servers: every operation idempotent (a Job re-run
/// after an operator crash changes nothing the second time), clear reasons, and no value in
/// the result or the progress lines.
@Suite("Credential rotation at the source", .serialized)
struct RotateTests {
    func login(_ pg: TestServices.Postgres, _ role: String, _ password: String) async -> Bool {
        guard let db = try? await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: role, password: password)) else { return false }
        await db.close()
        return true
    }

    @Test("postgres: apply twice, check, roll back; an admin without CREATEROLE is PermissionDenied")
    func postgres() async throws {
        let h = try AgentHarness("rotate-pg")
        let role = uniqueDB("rot"), weak = uniqueDB("weak")
        let admin = try await h.connect()
        _ = try await admin.executeScript("CREATE ROLE \(role) LOGIN PASSWORD 'old-Password-1'; CREATE ROLE \(weak) LOGIN PASSWORD 'weak-Password-1';")
        await admin.close()
        let new = "new-Password-\(UUID().uuidString.prefix(8))"
        try h.write("new", new)
        try h.write("old", "old-Password-1")
        try h.write("admin-user", h.pg.user)
        try h.write("weak-user", weak)
        try h.write("weak-password", "weak-Password-1")
        func spec(_ operation: String, user: String = "admin-user", password: String = "pg-password") -> JSONValue {
            ["rotation": ["operation": .string(operation), "newPasswordFile": .string(h.path("new")), "oldPasswordFile": .string(h.path("old")),
                          "postgres": ["host": .string(h.pg.host), "port": .int(Int64(h.pg.port)), "database": "postgres", "role": .string(role),
                                       "adminUserFile": .string(h.path(user)), "adminPasswordFile": .string(h.path(password))]]]
        }
        for _ in 0..<2 {
            let r = try await h.run("rotate", spec("apply"))
            #expect(r.exitCode == 0, "\(r.result.jsonString)")
        }
        #expect(await login(h.pg, role, new))
        #expect(!(await login(h.pg, role, "old-Password-1")))
        let check = try await h.run("rotate", spec("check"))
        #expect(check.exitCode == 0 && check.result["message"]?.stringValue?.contains("works") == true)
        let refused = try await h.run("rotate", spec("apply", user: "weak-user", password: "weak-password"))
        #expect(refused.reason == "PermissionDenied" && refused.exitCode == 4, "\(refused.result.jsonString)")
        #expect(refused.result["message"]?.stringValue?.contains("CREATEROLE") == true)
        for _ in 0..<2 {
            let r = try await h.run("rotate", spec("rollback"))
            #expect(r.exitCode == 0, "\(r.result.jsonString)")
        }
        #expect(await login(h.pg, role, "old-Password-1"))
        #expect(!(await login(h.pg, role, new)))
        let everything = h.lines.lines.joined(separator: "\n") + check.stdout + refused.stdout
        #expect(!everything.contains(new) && !everything.contains("old-Password-1"))
    }

    @Test("redis: apply keeps both passwords, finalize drops the old one, rollback restores it; each twice")
    func redis() async throws {
        let redis = try TestServices.redis()
        let h = try AgentHarness("rotate-redis")
        let cli = RedisCLI(port: redis.port, password: redis.password)
        let user = uniqueDB("app")
        _ = try await cli.run(["ACL", "SETUSER", user, "on", ">old-Password-1", "~*", "+@all"])
        let new = "new-Password-\(UUID().uuidString.prefix(8))"
        try h.write("new", new)
        try h.write("old", "old-Password-1")
        try h.write("admin", redis.password)
        func spec(_ operation: String) -> JSONValue {
            ["rotation": ["operation": .string(operation), "newPasswordFile": .string(h.path("new")), "oldPasswordFile": .string(h.path("old")),
                          "redis": ["host": "127.0.0.1", "port": .int(Int64(redis.port)), "adminPasswordFile": .string(h.path("admin")), "user": .string(user)]]]
        }
        func works(_ password: String) async throws -> Bool {
            try await RedisCLI(port: redis.port, password: password).run(["--user", user, "PING"]).hasPrefix("PONG")
        }
        for operation in ["apply", "apply"] {
            let r = try await h.run("rotate", spec(operation))
            #expect(r.exitCode == 0, "\(r.result.jsonString)")
        }
        #expect(try await works(new), "the new password works during the rollout")
        #expect(try await works("old-Password-1"), "and so does the old one")
        for operation in ["finalize", "finalize"] {
            let r = try await h.run("rotate", spec(operation))
            #expect(r.exitCode == 0, "\(r.result.jsonString)")
        }
        #expect(try await works(new))
        #expect(!(try await works("old-Password-1")), "the old one is gone after finalize")
        for operation in ["rollback", "rollback"] {
            let r = try await h.run("rotate", spec(operation))
            #expect(r.exitCode == 0, "\(r.result.jsonString)")
        }
        #expect(try await works("old-Password-1"))
        #expect(!(try await works(new)), "the new one is gone after rollback")
        let acl = try await cli.run(["ACL", "GETUSER", user])
        #expect(!acl.contains(new) && !acl.contains("old-Password-1"), "only hashes are stored")
        #expect(!h.lines.lines.joined().contains(new))
    }
}
