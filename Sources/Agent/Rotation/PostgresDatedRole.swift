import AgentContract
import Foundation
import Postgres

/// The dated-role strategy (what mature operators do for zero downtime): every rotation
/// creates a login role `<role>_<yyyymmddhhmmss>`, a member of the application role that owns
/// the objects, with the new password; the old login keeps working while consumers move, and
/// is dropped by the *next* successful rotation.
extension PostgresCredential {
    /// `app_20270115080000`: the names this strategy creates and may drop, nothing else.
    static func isDated(_ name: String, of role: String) -> Bool {
        guard name.hasPrefix(role + "_") else { return false }
        let stamp = name.dropFirst(role.count + 1)
        return stamp.count == 14 && stamp.allSatisfy(\.isNumber)
    }

    func performDated(_ operation: RotationAgentSpec.Operation, login loginRole: String, new: SecretValue) async throws -> String {
        let name = loginRole
        guard Self.isDated(name, of: spec.role) else {
            throw AgentError(.specInvalid, "rotation.postgres.datedRole \(name) is not <role>_<yyyymmddhhmmss> of role \(spec.role)")
        }
        let quoted = PostgresConnection.quoteIdentifier(name)
        switch operation {
        case .apply:
            try await asAdmin { db in
                let verifier = try await db.encryptPassword(new.value, user: name)
                let exists = try await db.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]).count == 1
                if exists {
                    _ = try await db.execute("ALTER ROLE \(quoted) LOGIN PASSWORD \(PostgresConnection.quoteLiteral(verifier))")
                } else {
                    _ = try await db.execute("CREATE ROLE \(quoted) LOGIN PASSWORD \(PostgresConnection.quoteLiteral(verifier)) IN ROLE \(PostgresConnection.quoteIdentifier(spec.role))")
                }
                // What the login creates belongs to the application role, so dropping it later is clean.
                _ = try await db.execute("ALTER ROLE \(quoted) SET role = \(PostgresConnection.quoteLiteral(spec.role))")
            }
            return "login role \(name) (member of \(spec.role)) created with the new password"
        case .check:
            try await login(new, as: name)
            return "login role \(name): login with the new password works"
        case .rollback:
            try await asAdmin { db in _ = try await db.execute("DROP ROLE IF EXISTS \(quoted)") }
            return "login role \(name) dropped; the previous login is unchanged"
        case .finalize:
            let keep = Set([name] + [try spec.oldLoginFile.map { try SecretValue.read(file: $0, purpose: "previous login role").value }].compactMap { $0 })
            var dropped: [String] = []
            try await asAdmin { db in
                let members = try await db.query("""
                    SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles r ON r.oid = a.roleid
                    WHERE r.rolname = $1 ORDER BY 1
                    """, [spec.role]).map { try $0[0, as: String.self] }
                for member in members where Self.isDated(member, of: spec.role) && !keep.contains(member) {
                    _ = try await db.execute("DROP ROLE IF EXISTS \(PostgresConnection.quoteIdentifier(member))")
                    dropped.append(member)
                }
            }
            return dropped.isEmpty ? "no older dated login role to drop" : "dropped older login role(s) \(dropped.joined(separator: ", "))"
        }
    }

    /// Runs `body` on an admin connection; refusals become clear reasons.
    func asAdmin(_ body: (PostgresConnection) async throws -> Void) async throws {
        let admin = try admin()
        let db = try await admin.connect(role: "source")
        defer { Task { await db.close() } }
        do { try await body(db) } catch let error as PostgresError {
            throw Self.refusal(error, admin: admin.user, role: spec.role)
        }
    }
}
