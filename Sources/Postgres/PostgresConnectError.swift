import Foundation

/// Turns libpq's connection failure text into a classified `PostgresError`. The session asks
/// libpq for verbose messages while connecting, so server-side startup errors arrive as
/// `FATAL:  28P01: password authentication failed…` and the SQLSTATE can be recovered.
enum ConnectErrorParser {
    static func classify(_ raw: String) -> PostgresError {
        let lines = raw.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.hasPrefix("LOCATION:") }
        let serverLine = #/(FATAL|ERROR|PANIC):\s+([0-9A-Z]{5}):\s+(.*)$/#
        for (index, line) in lines.enumerated() {
            guard let match = line.firstMatch(of: serverLine) else { continue }
            let sqlState = String(match.2)
            var detail: String?, hint: String?
            for extra in lines.dropFirst(index + 1) {
                if extra.hasPrefix("DETAIL:") { detail = extra.dropFirst(7).trimmingCharacters(in: .whitespaces) }
                if extra.hasPrefix("HINT:") { hint = extra.dropFirst(5).trimmingCharacters(in: .whitespaces) }
            }
            return PostgresError(kind: kind(forSQLState: sqlState), sqlState: sqlState, severity: String(match.1),
                                 message: String(match.3), detail: detail, hint: hint)
        }
        let message = lines.joined(separator: " ")
        let lower = message.lowercased()
        let kind: PostgresError.Kind
        if lower.contains("timeout expired") {
            kind = .timeout
        } else if ["connection refused", "could not translate host name", "no route to host", "network is unreachable",
                   "could not connect", "no such file or directory", "name or service not known"].contains(where: lower.contains) {
            kind = .unreachable
        } else if lower.contains("ssl") || lower.contains("certificate") || lower.contains("tls") {
            kind = .tls
        } else {
            kind = .connectionRejected
        }
        return PostgresError(kind: kind, message: message.isEmpty ? "connection failed" : message)
    }

    static func kind(forSQLState state: String) -> PostgresError.Kind {
        switch state {
        case "28P01", "28000": return .authenticationFailed
        case "3D000": return .databaseDoesNotExist
        default: return .connectionRejected
        }
    }
}
