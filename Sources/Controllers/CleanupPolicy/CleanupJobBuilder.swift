import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The CleanupPolicy's agent Job: `backstop agent cleanup` with the typed spec of every target
/// (its guard and acknowledgment filled in), Secret files and claims, on the shared
/// `AgentJobTemplate`. Pure.
public struct CleanupJobBuilder: Sendable {
    public var template: AgentJobTemplate
    /// The guard when a target sets neither limit: refuse to delete more than half of it.
    public static let defaultMaxDeletePercent = 50
    /// Where target `i`'s claim is mounted.
    static func claimMount(_ index: Int) -> String { "/var/run/backstop/cleanup/\(index)" }

    public init(agentImage: String) { template = AgentJobTemplate(agentImage: agentImage) }

    /// `<policy>-cleanup-<hash of token>` (token: the slot or `manual/<run-now value>`).
    public static func jobName(policy: CleanupPolicy, token: String) -> String {
        ChildOwner(policy).childName(purpose: "cleanup", token: token)
    }

    /// Every (Secret name, key) the targets reference, in a stable order.
    public static func secretRefs(_ spec: CleanupPolicySpec) -> [SecretKeySelector] {
        spec.targets.flatMap { t -> [SecretKeySelector] in
            var refs: [SecretKeySelector] = []
            if let r = t.sql?.connection.passwordSecretRef { refs.append(r) }
            if let r = t.clickhouse?.passwordSecretRef { refs.append(r) }
            if let c = t.s3?.credentialsSecretRef { refs += AgentMounts.s3Keys(c) }
            return refs
        }
    }

    /// The agent spec: `now` is the run's reference time (the slot), so a repeated Job for one
    /// slot computes the same cutoffs. Called for validated policies only (ages parse).
    func spec(for policy: CleanupPolicy, jobName: String, referenceTime: Date,
              allowances: [String: Int64]) -> (spec: AgentSpec, mounts: AgentMounts) {
        var m = AgentMounts()
        var doc = AgentSpec(policy: policy.metadata.name ?? "", job: JobReference(name: jobName, namespace: policy.metadata.namespace ?? ""))
        doc.dryRun = policy.spec.dryRun ?? false
        doc.now = UTCTimestamp.rfc3339(referenceTime)
        doc.targets = policy.spec.targets.enumerated().map { index, t in
            var out = target(t, index: index, &m)
            out.name = t.name
            // The share limit always applies (a count limit adds to it; 100 turns it off).
            out.maxDeletePercent = t.maxDeletePercent ?? Self.defaultMaxDeletePercent
            out.maxDeleteCount = t.maxDeleteCount
            out.allowDeleteCount = allowances[t.name]
            return out
        }
        return (doc, m)
    }

    func target(_ t: CleanupTarget, index: Int, _ m: inout AgentMounts) -> CleanupTargetSpec {
        func age(_ text: String) -> RetentionAge { (try? RetentionAge(parsing: text)) ?? RetentionAge(seconds: Int64.max / 2) }
        if let s = t.sql {
            let c = s.connection
            let endpoint = PostgresEndpoint(host: c.host, port: c.port ?? 5432, database: c.database, user: c.user,
                                            passwordFile: c.passwordSecretRef.map { m.secretFile($0) }, sslMode: c.sslMode?.rawValue)
            return CleanupTargetSpec(sql: .init(connection: endpoint, table: s.table, timestampColumn: s.timestampColumn,
                                                maxAge: age(s.maxAge), batchSize: s.batchSize, vacuum: s.vacuum))
        }
        if let s = t.s3 {
            let connection = m.s3Connection(s.endpoint, region: s.region, credentials: s.credentialsSecretRef)
            return CleanupTargetSpec(s3: .init(endpoint: s.endpoint, bucket: s.bucket, prefix: s.prefix, region: connection.region,
                                               accessKeyIdFile: connection.accessKeyIdFile ?? "", secretAccessKeyFile: connection.secretAccessKeyFile ?? "",
                                               maxAge: age(s.maxAge)))
        }
        if let v = t.volume {
            // Each target's claim at its own mount, read-write (files are deleted).
            m.claim("cleanup-\(index)", claimName: v.claimName, at: Self.claimMount(index), readOnly: false)
            let sub = AgentMounts.insideClaim(v.path)
            return CleanupTargetSpec(volume: .init(path: m.pathVar(Self.claimMount(index)), subPath: sub.isEmpty ? nil : sub,
                                                   include: v.include, maxAge: age(v.maxAge)))
        }
        if let c = t.clickhouse {
            return CleanupTargetSpec(clickhouse: .init(url: c.url, database: c.database, table: c.table, user: c.user,
                                                       passwordFile: c.passwordSecretRef.map { m.secretFile($0) }, maxAge: age(c.maxAge)))
        }
        return CleanupTargetSpec()
    }

    /// The Job for one run, named `name`, answering `slotLabel` (a slot or `manual`).
    public func job(for policy: CleanupPolicy, name: String, slotLabel: String, referenceTime: Date,
                    allowances: [String: Int64], annotations: [String: String] = [:]) -> Job {
        let (spec, mounts) = spec(for: policy, jobName: name, referenceTime: referenceTime, allowances: allowances)
        let labels = [BackstopLabels.cleanup: policy.metadata.name ?? "", BackstopLabels.operation: "cleanup", BackstopLabels.slot: slotLabel]
        return template.job(AgentJobTemplate.Request(owner: ChildOwner(policy), name: name, command: "cleanup", spec: spec, mounts: mounts,
                                                     labels: labels, annotations: annotations, template: policy.spec.jobTemplate))
    }
}

extension BackstopLabels {
    /// On a CleanupPolicy's Jobs and Pods: the policy's name.
    public static let cleanup = "backstop.dev/cleanup"
}
