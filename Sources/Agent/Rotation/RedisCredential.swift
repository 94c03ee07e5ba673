import AgentContract
import Crypto
import Foundation

/// A Redis ACL user's passwords, changed by their SHA-256 (`ACL SETUSER u #<hash>` adds one,
/// `!<hash>` removes one): the plain password is in no argument and never sent to the server.
/// `apply` adds the new password beside the old one, so consumers still on the old value keep
/// working through the rollout; `finalize` removes the old one.
struct RedisCredential {
    let spec: RedisCredentialSpec

    static func hash(_ password: SecretValue) -> String {
        SHA256.hash(data: Data(password.value.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func perform(_ operation: RotationAgentSpec.Operation, new: SecretValue, old: SecretValue?, context: AgentContext) async throws -> String {
        let cli = try context.tools.find("redis-cli")
        let user = spec.user
        switch operation {
        case .apply:
            try await setUser(cli, ["#" + Self.hash(new)])
            return "user \(user): new password added, the old one still valid"
        case .finalize:
            guard let old, old != new else { return "user \(user): no old password to remove" }
            if try await passwords(cli).contains(Self.hash(old)) { try await setUser(cli, ["!" + Self.hash(old)]) }
            return "user \(user): old password removed"
        case .rollback:
            guard let old else { throw AgentError(.specInvalid, "rotation.oldPasswordFile is required to roll back") }
            try await setUser(cli, ["#" + Self.hash(old)])
            if old != new, try await passwords(cli).contains(Self.hash(new)) { try await setUser(cli, ["!" + Self.hash(new)]) }
            return "user \(user): previous password valid again, the new one removed"
        case .check:
            let out = try await Subprocess.run(cli, arguments(user: user) + ["PING"], environment: ["REDISCLI_AUTH": new.value])
            guard out.stdout.hasPrefix("PONG") else {
                throw AgentError(.authenticationFailed, "redis \(endpoint): user \(user) cannot log in with the new password")
            }
            return "user \(user): login with the new password works"
        }
    }

    var endpoint: String { "\(spec.host):\(spec.port ?? 6379)" }

    func arguments(user: String?) -> [String] {
        ["-h", spec.host, "-p", String(spec.port ?? 6379), "--no-auth-warning"] + (user.map { ["--user", $0] } ?? [])
    }

    /// Runs an admin command; NOAUTH/WRONGPASS and NOPERM become clear reasons.
    func admin(_ cli: String, _ command: [String]) async throws -> String {
        let password = try spec.adminPasswordFile.map { try SecretValue.read(file: $0, purpose: "redis admin password") }
        let out = try await Subprocess.run(cli, arguments(user: try adminUser()) + command,
                                           environment: password.map { ["REDISCLI_AUTH": $0.value] } ?? [:])
        let text = out.stdout + out.stderr
        if text.contains("NOAUTH") || text.contains("WRONGPASS") || text.contains("AUTH failed") {
            throw AgentError(.authenticationFailed, "redis \(endpoint): the admin credential is refused")
        }
        if text.contains("NOPERM") {
            throw AgentError(.permissionDenied, "redis \(endpoint): \((try? adminUser()) ?? "default") may not run ACL commands: grant it +acl")
        }
        if text.contains("Could not connect") { throw AgentError(.sourceUnreachable, "redis \(endpoint): cannot connect") }
        guard out.termination.succeeded, !out.stdout.hasPrefix("ERR"), !out.stdout.hasPrefix("(error)") else {
            // The reply may echo an argument (a hash); hashes are not secrets, but keep it short.
            throw AgentError(.queryFailed, "redis \(endpoint) \(command.first ?? ""): \(String(text.prefix(300)))")
        }
        return out.stdout
    }

    func adminUser() throws -> String? {
        try spec.adminUserFile.map { try SecretValue.read(file: $0, purpose: "redis admin user name").value }
    }

    /// Only `OK` is success: redis-cli exits 0 on any error reply, and replies such as
    /// `LOADING` or `READONLY` carry none of the prefixes `admin` looks for.
    func setUser(_ cli: String, _ rules: [String]) async throws {
        let reply = try await admin(cli, ["ACL", "SETUSER", spec.user] + rules).trimmingCharacters(in: .whitespacesAndNewlines)
        guard reply == "OK" else {
            throw AgentError(.queryFailed, "redis \(endpoint) ACL SETUSER \(spec.user): the server answered \"\(reply.prefix(200))\" instead of OK")
        }
    }

    /// The user's password hashes (`ACL GETUSER` lists them after `passwords`).
    func passwords(_ cli: String) async throws -> Set<String> {
        let lines = try await admin(cli, ["ACL", "GETUSER", spec.user]).split(whereSeparator: \.isNewline).map(String.init)
        return Set(lines.filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) })
    }
}
