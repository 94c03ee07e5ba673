import AgentContract
import DynamicJSON
import Foundation

/// `backstop agent rotate`: one operation of a SecretRotation at the credential's source.
/// Each operation is idempotent (a Job run twice after an operator crash changes nothing the
/// second time) and the result names what changed, never a value.
enum CredentialRotation {
    static func run(_ spec: AgentSpec, _ context: AgentContext) async throws -> AgentReport {
        guard let r = spec.rotation else { throw AgentError(.specInvalid, "rotation is required") }
        let new = try SecretValue.read(file: r.newPasswordFile, purpose: "the new password")
        let old = try r.oldPasswordFile.map { try SecretValue.read(file: $0, purpose: "the current password") }
        let message: String
        switch (r.postgres, r.redis) {
        case (let pg?, nil): message = try await PostgresCredential(spec: pg).perform(r.operation, new: new, old: old, context: context)
        case (nil, let redis?): message = try await RedisCredential(spec: redis).perform(r.operation, new: new, old: old, context: context)
        default: throw AgentError(.specInvalid, "rotation: exactly one of postgres or redis is required")
        }
        context.progress("rotate \(r.operation.rawValue): \(message)")
        var report = AgentReport()
        report.operation = r.operation.rawValue
        report.message = message
        return report
    }
}
