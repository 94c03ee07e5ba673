import AgentContract
import Foundation
import KubeModel

/// The rotation's agent Jobs (`backstop agent rotate`): the admin credential and the pending
/// Secret's new and old values mounted as files. No value is in the spec, the env or the
/// Job's labels; the Job is as restricted as every agent Job. Pure.
public struct RotationJobBuilder: Sendable {
    public let template: AgentJobTemplate

    public init(agentImage: String) { template = AgentJobTemplate(agentImage: agentImage) }

    /// Keys of the pending Secret: the new value and the value the target held before.
    public static func newKey(_ key: String) -> String { "new.\(key)" }
    public static func oldKey(_ key: String) -> String { "old.\(key)" }
    /// The target's `<key>.previous` before the run (restored by a roll-back).
    public static func priorPreviousKey(_ key: String) -> String { "prev.\(key)" }

    static func operation(_ step: RotationStep) -> RotationAgentSpec.Operation {
        switch step {
        case .verify: .check
        case .finalize: .finalize
        case .rollBack: .rollback
        default: .apply
        }
    }

    /// `adminKeys`: the admin Secret's keys (its user key is mounted only when present).
    /// `datedRole`: the login role the run creates (the dated-role strategy).
    public func job(_ step: RotationStep, rotation: SecretRotation, pending: String, name: String, adminKeys: Set<String>,
                    datedRole: String? = nil) -> Job {
        var mounts = AgentMounts()
        let spec = rotation.spec
        var rotationSpec: RotationAgentSpec
        if let p = spec.apply?.postgres {
            let admin = adminFiles(p.adminSecretRef, keys: adminKeys, &mounts)
            let files = valueFiles(p.passwordKey, pending: pending, &mounts)
            rotationSpec = RotationAgentSpec(operation: Self.operation(step), newPasswordFile: files.new, oldPasswordFile: files.old)
            rotationSpec.postgres = PostgresCredentialSpec(host: p.host, port: p.port, database: p.database ?? "postgres", sslMode: p.sslMode?.rawValue,
                                                           adminUserFile: admin.user, adminPasswordFile: admin.password, role: p.role,
                                                           datedRole: datedRole,
                                                           oldLoginFile: datedRole == nil ? nil : p.usernameKey.map {
                                                               mounts.secretFile(SecretKeySelector(name: pending, key: Self.oldKey($0)))
                                                           })
        } else {
            let r = spec.apply?.redis
            let admin = r.map { adminFiles($0.adminSecretRef, keys: adminKeys, &mounts) }
            let files = valueFiles(r?.passwordKey ?? "", pending: pending, &mounts)
            rotationSpec = RotationAgentSpec(operation: Self.operation(step), newPasswordFile: files.new, oldPasswordFile: files.old)
            rotationSpec.redis = r.map { RedisCredentialSpec(host: $0.host, port: $0.port, adminUserFile: admin?.user,
                                                             adminPasswordFile: admin?.password, user: $0.user) }
        }
        var agentSpec = AgentSpec()
        agentSpec.rotation = rotationSpec
        let labels = [BackstopLabels.rotation: rotation.metadata.name ?? "", BackstopLabels.operation: step.rawValue.lowercased()]
        return template.job(AgentJobTemplate.Request(owner: ChildOwner(rotation), name: name, command: "rotate", spec: agentSpec,
                                                     mounts: mounts, labels: labels))
    }

    func adminFiles(_ ref: AdminCredentialsRef, keys: Set<String>, _ m: inout AgentMounts) -> (user: String?, password: String) {
        let userKey = ref.userKey ?? "username"
        let user = keys.contains(userKey) ? m.secretFile(SecretKeySelector(name: ref.name, key: userKey)) : nil
        return (user, m.secretFile(SecretKeySelector(name: ref.name, key: ref.passwordKey ?? "password")))
    }

    func valueFiles(_ key: String, pending: String, _ m: inout AgentMounts) -> (new: String, old: String) {
        (m.secretFile(SecretKeySelector(name: pending, key: Self.newKey(key))),
         m.secretFile(SecretKeySelector(name: pending, key: Self.oldKey(key))))
    }
}

extension BackstopLabels {
    /// On a SecretRotation's Jobs: the rotation's name.
    public static let rotation = "backstop.dev/rotation"
}
