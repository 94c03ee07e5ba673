import AgentContract
import Foundation
import KubeModel

/// The DrillRun's agent Jobs. List, Restore and Verify are the RestoreRequest's select,
/// restore and verify Jobs (one builder, so a drill proves exactly what a restore would do),
/// with the scratch tag and the marker check added; Marker and Cleanup run `agent drill`. Pure.
public struct DrillJobBuilder: Sendable {
    let restores: RestoreJobBuilder

    public init(agentImage: String) { restores = RestoreJobBuilder(agentImage: agentImage) }

    static func labels(_ drill: DrillRun, step: DrillStep, policy: BackupPolicy) -> [String: String] {
        [BackstopLabels.drill: drill.metadata.name ?? "", BackstopLabels.operation: step.rawValue.lowercased(),
         BackstopLabels.policy: policy.metadata.name ?? ""]
    }

    /// List, Restore or Verify: `artifactID` is the backup chosen so far (nil: the selector's).
    func restoreJob(_ step: DrillStep, drill: DrillRun, policy: BackupPolicy, scratch: BackupSource, artifactID: String?, name: String) -> Job {
        let restoreStep: RestoreStep = switch step {
        case .list: .select
        case .restore: .restore
        default: .verify
        }
        let marker = drill.status?.marker?.id
        let rowCounts = drill.spec.verify?.rowCounts ?? !(policy.spec.source.postgres?.rowCounts ?? []).isEmpty
        return restores.job(restoreStep, owner: ChildOwner(drill), labels: Self.labels(drill, step: step, policy: policy),
                            restore: drill.spec.restoreSpec, policy: policy, target: scratch, artifactID: artifactID, name: name) { spec in
            spec.target?.postgres?.ownerTag = drill.scratchTag
            spec.target?.volume?.scratch = step == .restore ? true : nil
            spec.target?.clickhouse?.ownerTag = drill.scratchTag
            spec.target?.s3?.scratch = step == .restore ? true : nil
            if step == .verify {
                // PostgreSQL: per-table counts need them in the manifest; other kinds compare files, objects, rows.
                spec.verify?.rowCounts = scratch.postgres != nil ? rowCounts : (drill.spec.verify?.rowCounts ?? true)
                spec.verify?.marker = marker
            }
            if step == .restore, policy.spec.source.redis != nil {
                // Loaded and checked in a throwaway redis-server in the Job's own scratch space.
                var target = RedisTargetSpec(dataDirectory: "redis-scratch")  // relative: inside the Job's TMPDIR
                target.scratchServer = true
                spec.target = TargetSpec(redis: target)
                var checks = VerifySpec()
                checks.marker = marker
                spec.verify = checks
            }
        }
    }

    /// `agent drill mark`: the marker into the live source (a volume source mounted read-write).
    func markerJob(drill: DrillRun, policy: BackupPolicy, name: String) -> Job {
        var (spec, mounts) = restores.policyJobs.spec(for: policy, operation: .catalog, jobName: name)
        spec.source = restores.policyJobs.source(policy.spec.source, &mounts, writable: true)
        spec.drill = DrillAgentSpec(action: .mark, marker: drill.token)
        return drillJob(spec, mounts: mounts, drill: drill, step: .marker, policy: policy, name: name)
    }

    /// `agent drill cleanup`: the marker out of the source (when one was written) and the
    /// scratch copy dropped (when the drill made one and `spec.cleanup` allows).
    func cleanupJob(drill: DrillRun, policy: BackupPolicy, scratch: BackupSource?, removeMarker: Bool, dropScratch: Bool, name: String) -> Job {
        var (spec, mounts) = restores.policyJobs.spec(for: policy, operation: .catalog, jobName: name)
        if removeMarker { spec.source = restores.policyJobs.source(policy.spec.source, &mounts, writable: true) }
        if dropScratch, let scratch { spec.target = restores.targetSpec(scratch, request: drill.spec.restoreSpec, &mounts) }
        spec.drill = DrillAgentSpec(action: .cleanup, marker: removeMarker ? drill.token : nil, dropTarget: dropScratch, ownerTag: drill.scratchTag)
        return drillJob(spec, mounts: mounts, drill: drill, step: .cleanup, policy: policy, name: name)
    }

    /// `agent drill probe`: the scratch target is free before the drill writes a marker or
    /// takes a backup (someone else's database, a non-empty directory or prefix is refused).
    func probeJob(drill: DrillRun, policy: BackupPolicy, scratch: BackupSource, name: String) -> Job {
        var (spec, mounts) = restores.policyJobs.spec(for: policy, operation: .catalog, jobName: name)
        spec.target = restores.targetSpec(scratch, request: drill.spec.restoreSpec, &mounts)
        spec.drill = DrillAgentSpec(action: .probe, ownerTag: drill.scratchTag)
        return drillJob(spec, mounts: mounts, drill: drill, step: .validate, policy: policy, name: name)
    }

    func drillJob(_ spec: AgentSpec, mounts: AgentMounts, drill: DrillRun, step: DrillStep, policy: BackupPolicy, name: String) -> Job {
        restores.policyJobs.template.job(AgentJobTemplate.Request(owner: ChildOwner(drill), name: name, command: "drill", spec: spec,
                                                                   mounts: mounts, labels: Self.labels(drill, step: step, policy: policy),
                                                                   annotations: [:], template: policy.spec.jobTemplate))
    }
}

extension BackstopLabels {
    /// On a DrillRun's Jobs: the drill's name.
    public static let drill = "backstop.dev/drill"
}
