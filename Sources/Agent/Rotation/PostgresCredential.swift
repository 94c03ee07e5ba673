import AgentContract
import Foundation
import Postgres

/// A PostgreSQL role's password, changed with `ALTER ROLE … PASSWORD '<verifier>'`: the SCRAM
/// verifier is computed here (libpq's `PQencryptPasswordConn`), so the plain password never
/// crosses the wire and never lands in the server's statement log.
struct PostgresCredential {
    let spec: PostgresCredentialSpec

    func perform(_ operation: RotationAgentSpec.Operation, new: SecretValue, old: SecretValue?, context: AgentContext) async throws -> String {
        let role = spec.role
        if let dated = spec.datedRole { return try await performDated(operation, login: dated, new: new) }
        switch operation {
        case .apply:
            try await setPassword(new)
            return "role \(role): password set (SCRAM verifier computed by the agent)"
        case .rollback:
            guard let old else { throw AgentError(.specInvalid, "rotation.oldPasswordFile is required to roll back") }
            try await setPassword(old)
            return "role \(role): previous password set again"
        case .check:
            try await login(new)
            return "role \(role): login with the new password works"
        case .finalize:
            // A password change replaced the old password already: nothing is left to remove.
            return "role \(role): nothing to finalize"
        }
    }

    /// The admin's endpoint, in the shape the backup source uses (same connect and error mapping).
    func admin() throws -> PostgresEndpoint {
        let user = try spec.adminUserFile.map { try SecretValue.read(file: $0, purpose: "admin user name").value } ?? "postgres"
        return PostgresEndpoint(host: spec.host, port: spec.port, database: spec.database, user: user,
                                passwordFile: spec.adminPasswordFile, sslMode: spec.sslMode)
    }

    func setPassword(_ password: SecretValue) async throws {
        let admin = try admin()
        let db = try await admin.connect(role: "source")
        defer { Task { await db.close() } }
        do {
            let verifier = try await db.encryptPassword(password.value, user: spec.role)
            // A verifier is `SCRAM-SHA-256$…`: no quote, but quoted safely all the same.
            _ = try await db.execute("ALTER ROLE \(PostgresConnection.quoteIdentifier(spec.role)) PASSWORD \(PostgresConnection.quoteLiteral(verifier))")
        } catch let error as PostgresError {
            throw Self.refusal(error, admin: admin.user, role: spec.role)
        }
    }

    /// A real login as the role (or `user`) with `password`, on the admin's database, host and port.
    func login(_ password: SecretValue, as user: String? = nil) async throws {
        let a = spec
        let config = PostgresConfig(host: a.host, port: a.port ?? 5432, database: a.database, user: user ?? spec.role, password: password.value,
                                    sslMode: PostgresConfig.SSLMode(rawValue: a.sslMode ?? "prefer") ?? .prefer,
                                    applicationName: "backstop-agent")
        do {
            let db = try await PostgresConnection.connect(config)
            defer { Task { await db.close() } }
            _ = try await db.query("SELECT 1")
        } catch let error as PostgresError {
            throw PostgresEndpoint.agentError(error, role: "source", what: "\(user ?? spec.role)@\(a.host):\(a.port ?? 5432)/\(a.database)")
        }
    }

    /// `42501 insufficient_privilege` and `42704 undefined_object` say what to fix; the rest is a failed query.
    static func refusal(_ error: PostgresError, admin: String, role: String) -> AgentError {
        switch error.sqlState {
        case "42501":
            return AgentError(.permissionDenied, "\(admin) may not change the password of role \(role) (\(error.message)): "
                              + "use an admin with CREATEROLE (and ADMIN OPTION on the role in PostgreSQL 16+)")
        case "42704":
            return AgentError(.targetMissing, "role \(role) does not exist: \(error.message)")
        default:
            return AgentError(.queryFailed, "ALTER ROLE \(role): \(error.description)")
        }
    }
}
