import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The RestoreRequest's agent Jobs (select, restore, verify) and its target: the policy's
/// source unless `spec.target` says otherwise, each field defaulting to the source's. Pure.
public struct RestoreJobBuilder: Sendable {
    let policyJobs: AgentJobBuilder

    public init(agentImage: String) { policyJobs = AgentJobBuilder(agentImage: agentImage) }

    static let targetMount = "/var/run/backstop/target"

    /// Where the data goes, resolved against the policy's source; or why it cannot be restored
    /// through the controller (a message that says what to change).
    public static func target(_ request: RestoreRequestSpec, policy: BackupPolicy) -> Result<BackupSource, RestoreSpecError> {
        let source = policy.spec.source
        if let s = source.redis {
            guard let r = request.target?.redis, r.claimName != nil, r.workload != nil else {
                return .failure(.init("a Redis restore replaces dump.rdb in the server's data claim while the server is stopped: set spec.target.redis.claimName (the claim) and spec.target.redis.workload (the Redis Deployment or StatefulSet)"))
            }
            var out = s
            out.host = r.host ?? s.host
            out.port = r.port ?? s.port
            out.user = r.user ?? s.user
            out.passwordSecretRef = r.passwordSecretRef ?? s.passwordSecretRef
            return .success(BackupSource(redis: out))
        }
        if request.target?.redis != nil { return .failure(.init("spec.target.redis: the policy backs up \(source.kindWord), not Redis")) }
        guard let t = request.target else { return .success(source) }
        if let p = t.postgres {
            guard let s = source.postgres else { return .failure(.init("spec.target.postgres: the policy backs up \(source.kindWord), not PostgreSQL")) }
            var out = s
            out.host = p.host ?? s.host
            out.port = p.port ?? s.port
            out.database = p.database ?? s.database
            out.user = p.user ?? s.user
            out.passwordSecretRef = p.passwordSecretRef ?? s.passwordSecretRef
            out.sslMode = p.sslMode ?? s.sslMode
            return .success(BackupSource(postgres: out))
        }
        if let v = t.volume {
            guard let s = source.volume else { return .failure(.init("spec.target.volume: the policy backs up \(source.kindWord), not a volume")) }
            return .success(BackupSource(volume: VolumeSource(claimName: v.claimName ?? s.claimName, path: v.path ?? s.path)))
        }
        if let c = t.clickhouse {
            guard var s = source.clickhouse else { return .failure(.init("spec.target.clickhouse: the policy backs up \(source.kindWord), not ClickHouse")) }
            s.url = c.url ?? s.url
            s.database = c.database ?? s.database
            s.user = c.user ?? s.user
            s.passwordSecretRef = c.passwordSecretRef ?? s.passwordSecretRef
            return .success(BackupSource(clickhouse: s))
        }
        if let s3 = t.s3 {
            guard var s = source.s3 else { return .failure(.init("spec.target.s3: the policy backs up \(source.kindWord), not a bucket")) }
            s.endpoint = s3.endpoint ?? s.endpoint
            s.region = s3.region ?? s.region
            s.credentialsSecretRef = s3.credentialsSecretRef ?? s.credentialsSecretRef
            // Where the objects land, so that "is this the live source?" compares locations.
            s.bucket = s3.bucket ?? s.bucket
            s.prefix = s3.prefix ?? s.prefix
            return .success(BackupSource(s3: s))
        }
        return .failure(.init("spec.target names no kind to restore into"))
    }

    /// True when `target` is the live source the policy backs up.
    public static func isSource(_ target: BackupSource, of policy: BackupPolicy) -> Bool {
        TargetIdentity(source: target) == TargetIdentity(source: policy.spec.source)
    }

    /// The labels of a RestoreRequest's Job for `step` of the store `policy` backs up.
    static func labels(_ request: RestoreRequest, step: RestoreStep, policy: BackupPolicy) -> [String: String] {
        [BackstopLabels.restore: request.metadata.name ?? "", BackstopLabels.operation: step.rawValue.lowercased(),
         BackstopLabels.policy: policy.metadata.name ?? ""]
    }

    /// The select / restore / verify Job of any owner (a RestoreRequest, a DrillRun): `adjust`
    /// adds what the owner needs beyond a restore (a drill's scratch tag and marker check).
    func job(_ step: RestoreStep, owner: ChildOwner, labels: [String: String], restore: RestoreRequestSpec, policy: BackupPolicy,
             target: BackupSource, artifactID: String?, name: String, adjust: (inout AgentSpec) -> Void = { _ in }) -> Job {
        var (spec, mounts) = policyJobs.spec(for: policy, operation: .catalog, jobName: name)
        spec.artifact = artifactID.flatMap { try? ArtifactSelector(parsing: $0) } ?? Self.selector(restore.backup)
        switch step {
        case .select:
            // Integrity of the chosen artifact only; the manifest is not rewritten by a restore's check.
            spec.verify = VerifySpec(checksum: true, listContents: true, record: false)
            spec.source = policyJobs.source(policy.spec.source, &mounts)
        case .restore:
            spec.target = targetSpec(target, request: restore, &mounts)
            spec.mode = restore.mode == .create ? "create" : "clean"
        case .verify where target.redis != nil:
            // The restarted server itself: its key count against the backup's.
            spec.source = policyJobs.source(target, &mounts)
            spec.verify = VerifySpec(checksum: false, listContents: false, record: false)
            spec.verify?.liveKeyCount = true
        case .verify:
            spec.target = targetSpec(target, request: restore, &mounts)
            spec.verify = VerifySpec(checksum: false, listContents: false, rowCounts: restore.verify?.rowCounts ?? true,
                                     sql: restore.verify?.sql, record: false)
        default:
            break
        }
        adjust(&spec)
        let command = step == .restore ? "restore" : "verify"
        return policyJobs.template.job(AgentJobTemplate.Request(owner: owner, name: name, command: command, spec: spec,
                                                                 mounts: mounts, labels: labels, annotations: [:],
                                                                 template: policy.spec.jobTemplate))
    }

    static func selector(_ s: BackupSelector?) -> ArtifactSelector {
        if let id = s?.id, let parsed = try? ArtifactSelector(parsing: id) { return parsed }
        if let before = s?.before { return .before(before.date.addingTimeInterval(1)) }
        return s?.verifiedOnly == true ? .latestVerified : .latest
    }

    func targetSpec(_ t: BackupSource, request: RestoreRequestSpec, _ m: inout AgentMounts) -> TargetSpec {
        if t.redis != nil, let r = request.target?.redis, let claim = r.claimName {
            // The server's data claim, written while the server is stopped (Quiesce).
            m.claim("target", claimName: claim, at: Self.targetMount, readOnly: false)
            let sub = AgentMounts.insideClaim(r.path)
            return TargetSpec(redis: RedisTargetSpec(dataDirectory: m.pathVar(sub.isEmpty ? Self.targetMount : "\(Self.targetMount)/\(sub)")))
        }
        if let v = t.volume {
            // The claim mounted writable at a path of its own (the backup mounts it read-only).
            m.claim("target", claimName: v.claimName, at: Self.targetMount, readOnly: false)
            let sub = AgentMounts.insideClaim(v.path)
            return TargetSpec(volume: VolumeTargetSpec(path: m.pathVar(sub.isEmpty ? Self.targetMount : "\(Self.targetMount)/\(sub)"),
                                                       clean: request.mode != .create))
        }
        switch policyJobs.source(t, &m) {
        case let s where s.postgres != nil:
            var target = PostgresTargetSpec(connection: s.postgres!.connection, create: request.mode == .create)
            target.noOwner = true
            return TargetSpec(postgres: target)
        case let s where s.clickhouse != nil:
            let c = s.clickhouse!
            return TargetSpec(clickhouse: ClickHouseTargetSpec(url: c.url, database: request.target?.clickhouse?.database ?? c.database,
                                                               user: c.user, passwordFile: c.passwordFile,
                                                               tables: request.target?.clickhouse?.tables,
                                                               renameTables: request.target?.clickhouse?.renameTables,
                                                               mode: request.mode == .create ? "create" : "clean"))
        case let s where s.s3 != nil:
            let b = s.s3!.connection
            return TargetSpec(s3: S3MirrorTargetSpec(endpoint: b.endpoint, bucket: request.target?.s3?.bucket, buckets: request.target?.s3?.buckets,
                                                     prefix: request.target?.s3?.prefix, region: b.region,
                                                     accessKeyIdFile: b.accessKeyIdFile ?? "", secretAccessKeyFile: b.secretAccessKeyFile ?? "",
                                                     createBucket: true, removeExtra: request.mode != .create))
        default:
            return TargetSpec()
        }
    }
}

public struct RestoreSpecError: Error, Sendable, Hashable {
    public var message: String
    init(_ message: String) { self.message = message }
}

extension BackupSource {
    var kindWord: String {
        if postgres != nil { return "PostgreSQL" }
        if redis != nil { return "Redis" }
        if clickhouse != nil { return "ClickHouse" }
        if s3 != nil { return "a bucket" }
        return "a volume"
    }
}

extension BackstopLabels {
    /// On a RestoreRequest's Jobs: the request's name.
    public static let restore = "backstop.dev/restore"
}
