/// `backstop agent rotate`: make a credential real at its source, check a login with it, or
/// undo it. Every secret travels as the path of a mounted Secret file; the spec and the result
/// never hold a value.
public struct RotationAgentSpec: Codable, Sendable, Hashable {
    /// `apply`: the new password becomes valid (PostgreSQL: replaces the old one; Redis: added
    /// beside it). `check`: log in with the new password. `finalize`: Redis drops the old
    /// password. `rollback`: the old password is valid again and the new one is not.
    public var operation: Operation
    public var postgres: PostgresCredentialSpec?
    public var redis: RedisCredentialSpec?
    /// Paths of the new and the old value (files of the rotation's pending Secret).
    public var newPasswordFile: String
    public var oldPasswordFile: String?

    public init(operation: Operation, postgres: PostgresCredentialSpec? = nil, redis: RedisCredentialSpec? = nil,
                newPasswordFile: String, oldPasswordFile: String? = nil) {
        self.operation = operation
        self.postgres = postgres
        self.redis = redis
        self.newPasswordFile = newPasswordFile
        self.oldPasswordFile = oldPasswordFile
    }

    public enum Operation: String, Codable, Sendable, Hashable, CaseIterable {
        case apply, check, finalize, rollback
    }
}

/// `ALTER ROLE <role> PASSWORD '<SCRAM verifier>'`, run as the admin on `database`; `check`
/// logs in as the role there.
public struct PostgresCredentialSpec: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    public var database: String
    public var sslMode: String?
    /// The admin's user name: the file's content when given, else `postgres`.
    public var adminUserFile: String?
    public var adminPasswordFile: String
    public var role: String
    /// The dated-role strategy: the login role this run creates (a member of `role`) with the
    /// new password; `check` logs in as it, `rollback` drops it, `finalize` drops the other
    /// dated roles of `role` except it and the one in `oldLoginFile` (the previous login).
    public var datedRole: String?
    public var oldLoginFile: String?

    public init(host: String, port: Int? = nil, database: String, sslMode: String? = nil, adminUserFile: String? = nil,
                adminPasswordFile: String, role: String, datedRole: String? = nil, oldLoginFile: String? = nil) {
        self.datedRole = datedRole
        self.oldLoginFile = oldLoginFile
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
        self.adminUserFile = adminUserFile
        self.adminPasswordFile = adminPasswordFile
        self.role = role
    }
}

/// `ACL SETUSER <user> #<sha256>` as the admin; both passwords valid until `finalize`.
public struct RedisCredentialSpec: Codable, Sendable, Hashable {
    public var host: String
    public var port: Int?
    /// The admin's ACL user name: the file's content when given, else `default`.
    public var adminUserFile: String?
    public var adminPasswordFile: String?
    public var user: String

    public init(host: String, port: Int? = nil, adminUserFile: String? = nil, adminPasswordFile: String? = nil, user: String) {
        self.host = host
        self.port = port
        self.adminUserFile = adminUserFile
        self.adminPasswordFile = adminPasswordFile
        self.user = user
    }
}
