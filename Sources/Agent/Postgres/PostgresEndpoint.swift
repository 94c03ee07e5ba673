import AgentContract
import Foundation
import Postgres

extension PostgresEndpoint {
    func password() throws -> SecretValue? {
        try passwordFile.map { try SecretValue.read(file: $0, purpose: "database password for \(user)@\(host)") }
    }

    /// Connects (to `database` unless another is named). Errors become `AgentError`s with the
    /// role (`source`, `target`) in the message; libpq's text is already redacted.
    func connect(database other: String? = nil, role: String = "source") async throws -> PostgresConnection {
        let config = PostgresConfig(host: host, port: port ?? 5432, database: other ?? database, user: user,
                                    password: try password()?.value,
                                    sslMode: PostgresConfig.SSLMode(rawValue: sslMode ?? "prefer") ?? .prefer,
                                    applicationName: "backstop-agent")
        do {
            return try await PostgresConnection.connect(config)
        } catch let error as PostgresError {
            throw Self.agentError(error, role: role, what: "\(user)@\(host):\(port ?? 5432)/\(other ?? database)")
        }
    }

    static func agentError(_ error: PostgresError, role: String, what: String) -> AgentError {
        let unreachable: AgentError.Reason = role == "target" ? .targetUnreachable : .sourceUnreachable
        switch error.kind {
        case .authenticationFailed: return AgentError(.authenticationFailed, "\(role) \(what): \(error.message)")
        case .databaseDoesNotExist: return AgentError(role == "target" ? .targetMissing : .sourceUnreachable, "\(role) \(what): \(error.message)")
        case .unreachable, .timeout, .tls, .connectionRejected, .connectionLost, .connectionClosed:
            return AgentError(unreachable, "\(role) \(what): \(error.message)")
        default: return AgentError(.queryFailed, "\(role) \(what): \(error.description)")
        }
    }

    /// Environment for pg_dump/pg_restore: where to connect and the password file; no secret.
    func toolEnvironment(passwordFile: PostgresPasswordFile?, database other: String? = nil) -> [String: String] {
        var env = ["PGHOST": host, "PGPORT": String(port ?? 5432), "PGUSER": user, "PGDATABASE": other ?? database,
                   "PGSSLMODE": sslMode ?? "prefer", "PGAPPNAME": "backstop-agent", "PGCONNECT_TIMEOUT": "15"]
        env["PGPASSFILE"] = passwordFile?.path ?? "/dev/null"
        return env
    }

    func tools(_ context: AgentContext) -> ToolLocator {
        var locator = context.tools
        if let bindir { locator.directories.insert(bindir, at: 0) }
        return locator
    }

    /// Major version of a PostgreSQL client tool (`pg_dump (PostgreSQL) 15.18 (Debian …)` → 15, "15.18").
    static func toolVersion(_ executable: String) async throws -> (major: Int, text: String) {
        let out = try await Subprocess.run(executable, ["--version"])
        let words = out.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard out.termination.succeeded, let version = words.first(where: { $0.first?.isNumber == true }),
              let major = Int(version.split(separator: ".").first ?? "") else {
            throw AgentError(.toolMissing, "cannot tell the version of \(executable): \(out.stdout.prefix(200))")
        }
        return (major, String(version))
    }
}

/// `"schema"."table"` from `table` or `schema.table`, quoted safely.
func quoteQualified(_ name: String) -> String {
    name.split(separator: ".", maxSplits: 1).map { PostgresConnection.quoteIdentifier(String($0)) }.joined(separator: ".")
}

/// A tool's stderr made safe for results: trimmed to its last lines and redacted.
func toolMessage(_ stderr: String, secrets: [SecretValue?]) -> String {
    var text = String(stderr.suffix(1500))
    for secret in secrets.compactMap({ $0 }) where !secret.value.isEmpty {
        text = text.replacingOccurrences(of: secret.value, with: "[REDACTED]")
    }
    return text.isEmpty ? "(no output)" : text
}
