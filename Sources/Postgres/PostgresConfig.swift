/// Where and how to connect. Handed to libpq as separate keyword/value arrays
/// (`PQconnectStartParams` with `expand_dbname = 0`), never as a conninfo string, so no field
/// is ever parsed as a connection string and nothing can be spliced into another field.
public struct PostgresConfig: Sendable, Equatable {
    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var database: String
    public var user: String
    /// Never printed: `description`, `debugDescription` and the mirror omit it.
    public var password: String?
    public var sslMode: SSLMode
    /// PEM file of CA certificates for `verify-ca` / `verify-full`.
    public var sslRootCertPath: String?
    /// Whole-attempt deadline for connecting (DNS, TCP, TLS, authentication).
    public var connectTimeout: Duration
    public var applicationName: String

    public init(host: String = "127.0.0.1", port: Int = 5432, database: String = "postgres",
                user: String = "postgres", password: String? = nil, sslMode: SSLMode = .prefer,
                sslRootCertPath: String? = nil, connectTimeout: Duration = .seconds(10),
                applicationName: String = "backstop") {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.password = password
        self.sslMode = sslMode
        self.sslRootCertPath = sslRootCertPath
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }

    /// Keyword/value pairs for libpq. Whole seconds only for libpq's own timeout; our deadline
    /// is enforced separately and is the one that matters.
    var libpqParameters: [(String, String)] {
        var pairs: [(String, String)] = [
            ("host", host),
            ("port", String(port)),
            ("dbname", database),
            ("user", user),
            ("sslmode", sslMode.rawValue),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            ("connect_timeout", String(max(2, Int(connectTimeout.components.seconds) + 1))),
        ]
        if let password { pairs.append(("password", password)) }
        if let sslRootCertPath { pairs.append(("sslrootcert", sslRootCertPath)) }
        return pairs
    }
}

extension PostgresConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "postgres \(user)@\(host):\(port)/\(database) sslmode=\(sslMode.rawValue) password=\(password == nil ? "none" : "[REDACTED]")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: [
            "host": host, "port": port, "database": database, "user": user,
            "password": password == nil ? "none" : "[REDACTED]", "sslMode": sslMode,
            "connectTimeout": connectTimeout, "applicationName": applicationName,
        ])
    }
}
