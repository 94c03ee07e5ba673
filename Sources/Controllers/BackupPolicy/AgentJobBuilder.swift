import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The BackupPolicy's agent Jobs: the typed `AgentSpec` of one operation (backup, prune,
/// catalog) with its Secret files and claims, on the shared `AgentJobTemplate`. Pure.
public struct AgentJobBuilder: Sendable {
    public var template: AgentJobTemplate
    public var agentImage: String { template.agentImage }

    public init(agentImage: String) { template = AgentJobTemplate(agentImage: agentImage) }

    static let storeMount = "/var/run/backstop/store"
    static let sourceMount = "/var/run/backstop/source"

    /// The Job name for an operation: `<policy>-<op>-<hash of token>`, ≤ 63 characters.
    public static func jobName(policy: String, operation: BackupOperation, token: String) -> String {
        NameRules.childName(owner: policy, purpose: operation.purpose, token: token)
    }

    /// Every (Secret name, key) the spec references, in a stable order.
    public static func secretRefs(_ spec: BackupPolicySpec) -> [SecretKeySelector] {
        var refs: [SecretKeySelector] = []
        let s = spec.source
        if let r = s.postgres?.passwordSecretRef { refs.append(r) }
        if let r = s.redis?.passwordSecretRef { refs.append(r) }
        if let r = s.clickhouse?.passwordSecretRef { refs.append(r) }
        if let c = s.s3?.credentialsSecretRef { refs += AgentMounts.s3Keys(c) }
        if let c = spec.destination.s3?.credentialsSecretRef { refs += AgentMounts.s3Keys(c) }
        return refs
    }

    /// The agent spec for `operation` plus the env vars and volumes it refers to. The policy
    /// was validated before any Job is planned (durations parse), so `try?` drops nothing real.
    func spec(for policy: BackupPolicy, operation: BackupOperation, jobName: String, inUse: [String] = []) -> (spec: AgentSpec, mounts: AgentMounts) {
        var m = AgentMounts()
        let spec = policy.spec
        var doc = AgentSpec(policy: policy.metadata.name ?? "",
                            job: JobReference(name: jobName, namespace: policy.metadata.namespace ?? ""))
        if let s3 = spec.destination.s3 {
            let connection = m.s3Connection(s3.endpoint, region: s3.region, credentials: s3.credentialsSecretRef)
            doc.store = StoreSpec(s3: S3StoreSpec(connection: connection, bucket: s3.bucket, prefix: s3.prefix))
        } else if let v = spec.destination.volume {
            m.claim("store", claimName: v.claimName, at: Self.storeMount, readOnly: false)
            let prefix = AgentMounts.insideClaim(v.path)
            doc.store = StoreSpec(volume: VolumeStoreSpec(path: m.pathVar(Self.storeMount), prefix: prefix.isEmpty ? nil : prefix))
        }
        switch operation {
        case .backup:
            doc.source = source(spec.source, &m)
            if let v = spec.verify, v.checksum != nil || v.listContents != nil || v.minSizeBytes != nil {
                doc.verify = VerifySpec(checksum: v.checksum, listContents: v.listContents, minSizeBytes: v.minSizeBytes)
            }
        case .prune:
            let r = spec.retention ?? RetentionPolicy()
            doc.retention = RetentionRules(keepLast: r.keepLast, keepDaily: r.keepDaily, keepWeekly: r.keepWeekly,
                                           keepMonthly: r.keepMonthly, maxAge: r.maxAge.flatMap { try? RetentionAge(parsing: $0) },
                                           keepForever: r.keepForever)
            doc.timeZone = spec.timeZone ?? "UTC"
            doc.inUse = inUse.isEmpty ? nil : inUse.sorted()
        case .catalog:
            break
        }
        return (doc, m)
    }

    /// The source as the agent reads it; `writable` mounts a volume source read-write (a drill's marker file).
    func source(_ s: BackupSource, _ m: inout AgentMounts, writable: Bool = false) -> SourceSpec {
        if let p = s.postgres {
            let endpoint = PostgresEndpoint(host: p.host, port: p.port ?? 5432, database: p.database, user: p.user,
                                            passwordFile: p.passwordSecretRef.map { m.secretFile($0) }, sslMode: p.sslMode?.rawValue)
            return SourceSpec(postgres: PostgresSourceSpec(
                connection: endpoint, rowCounts: p.rowCounts,
                guards: p.guards?.map { PostgresSourceSpec.TriggerGuard(trigger: $0.trigger, table: $0.table) },
                tables: p.tables, excludeTables: p.excludeTables))
        }
        if let r = s.redis {
            return SourceSpec(redis: RedisSourceSpec(host: r.host, port: r.port ?? 6379, user: r.user,
                                                     passwordFile: r.passwordSecretRef.map { m.secretFile($0) }))
        }
        if let c = s.clickhouse {
            return SourceSpec(clickhouse: ClickHouseSourceSpec(
                url: c.url, database: c.database, tables: c.tables, user: c.user,
                passwordFile: c.passwordSecretRef.map { m.secretFile($0) },
                partitionMaxAge: c.partitionMaxAge.flatMap { try? RetentionAge(parsing: $0) }))
        }
        if let s3 = s.s3 {
            let connection = m.s3Connection(s3.endpoint, region: s3.region, credentials: s3.credentialsSecretRef)
            return SourceSpec(s3: S3MirrorSourceSpec(connection: connection, bucket: s3.bucket, prefix: s3.prefix))
        }
        if let v = s.volume {
            m.claim("source", claimName: v.claimName, at: Self.sourceMount, readOnly: !writable)
            let sub = AgentMounts.insideClaim(v.path)
            return SourceSpec(volume: VolumeSourceSpec(path: m.pathVar(sub.isEmpty ? Self.sourceMount : "\(Self.sourceMount)/\(sub)")))
        }
        return SourceSpec()
    }

    /// The Job for `operation`, named `name`, answering `slot` (labels/annotations say which).
    /// `extraLabels`: e.g. a drill's label on the backup it asked for, so the drill sees the Job too.
    /// `inUse` (prune): artifact ids running restores and drills use, kept by this prune.
    public func job(for policy: BackupPolicy, operation: BackupOperation, name: String, slotLabel: String,
                    annotations: [String: String] = [:], extraLabels: [String: String] = [:], inUse: [String] = []) -> Job {
        let (spec, mounts) = spec(for: policy, operation: operation, jobName: name, inUse: inUse)
        let labels = [BackstopLabels.policy: policy.metadata.name ?? "", BackstopLabels.operation: operation.rawValue,
                      BackstopLabels.slot: slotLabel].merging(extraLabels) { ours, _ in ours }
        return template.job(AgentJobTemplate.Request(owner: ChildOwner(policy), name: name, command: operation.rawValue, spec: spec,
                                                     mounts: mounts, labels: labels, annotations: annotations,
                                                     template: policy.spec.jobTemplate))
    }
}
