import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The DrillRun's decisions, pure: for the step the step machine says runs, what to do now and
/// whether it finished. The controller records the step (and the marker it is about to write)
/// in status before it performs a `.running` verdict's actions.
public struct DrillPlanner: Sendable {
    public let jobs: DrillJobBuilder
    public init(agentImage: String) { jobs = DrillJobBuilder(agentImage: agentImage) }

    public func jobName(_ step: DrillStep, of drill: DrillRun) -> String? {
        step.jobPurpose.map { ChildOwner(drill).childName(purpose: $0, token: drill.metadata.uid ?? "") }
    }

    /// The scratch target resolved against the policy's source, or why it cannot be used.
    /// A Redis drill's scratch is a throwaway server inside the restore Job: the source stands in.
    static func scratch(_ spec: DrillRunSpec, policy: BackupPolicy) -> Result<BackupSource, RestoreSpecError> {
        if policy.spec.source.redis != nil, spec.scratch.redis != nil { return .success(policy.spec.source) }
        return RestoreJobBuilder.target(spec.restoreSpec, policy: policy)
    }

    public func decide(_ step: DrillStep, _ o: DrillObserved, status: DrillRunStatus) -> DrillVerdict {
        let spec = o.drill.spec
        guard let policy = o.policy else {
            return .failed(job: nil, reason: DrillReason.policyNotFound,
                           message: "BackupPolicy \(spec.policyRef.name) not found in namespace \(o.drill.metadata.namespace ?? ""): create it or fix spec.policyRef")
        }
        switch step {
        case .validate:
            return validate(o, policy: policy)
        case .marker:
            guard Self.usesMarker(spec, policy: policy) else {
                let why = spec.marker == false ? "spec.marker: false" : !spec.takesFreshBackup ? "no fresh backup" : Self.markerProblem(policy) ?? "-"
                return .succeeded(job: nil, message: "no marker (\(why)): the drill proves the backup as it is")
            }
            return agentStep(.marker, o, policy: policy, status: status) { name in jobs.markerJob(drill: o.drill, policy: policy, name: name) }
        case .backup:
            return backup(o, policy: policy, status: status)
        case .verify where policy.spec.source.redis != nil:
            return .succeeded(job: nil, message: "checked by the Restore Job (key count and marker): its throwaway redis-server lived only inside it")
        case .list, .restore, .verify:
            guard case .success(let scratch) = Self.scratch(spec, policy: policy) else {
                return .failed(job: nil, reason: DrillReason.notSupported, message: "the scratch target cannot be resolved")
            }
            let artifact = status.backup?.id
            return agentStep(step, o, policy: policy, status: status) { name in
                jobs.restoreJob(step, drill: o.drill, policy: policy, scratch: scratch, artifactID: artifact, name: name)
            }
        case .cleanup:
            let removeMarker = status.marker != nil && status.marker?.removed != true
            // A restore that refused an occupied target made nothing to drop (whatever status says yet).
            let refused = jobName(.restore, of: o.drill).flatMap { o.results[$0] }?.reason == Self.targetExists
            // A Redis drill's scratch server ended with its restore Job.
            let dropScratch = spec.dropsScratch && Self.scratchMayExist(status) && !refused && policy.spec.source.redis == nil
            guard removeMarker || dropScratch else {
                let kept = spec.dropsScratch || !Self.scratchMayExist(status) ? "" : "; the scratch copy is kept (spec.cleanup: false)"
                return .succeeded(job: nil, message: "nothing to clean up" + kept)
            }
            let scratch = try? Self.scratch(spec, policy: policy).get()
            return agentStep(.cleanup, o, policy: policy, status: status) { name in
                jobs.cleanupJob(drill: o.drill, policy: policy, scratch: scratch, removeMarker: removeMarker, dropScratch: dropScratch, name: name)
            }
        }
    }

    /// Markers follow freshBackup unless set; by default they are left out where the policy's
    /// backup could not hold one (`markerProblem`), and asked for there they are refused.
    static func usesMarker(_ spec: DrillRunSpec, policy: BackupPolicy) -> Bool {
        spec.marker ?? (spec.takesFreshBackup && markerProblem(policy) == nil)
    }

    /// Why a marker written into the policy's source would not be in its backup, if it would not.
    static func markerProblem(_ policy: BackupPolicy) -> String? {
        let source = policy.spec.source
        if let tables = source.clickhouse?.tables, !tables.isEmpty, !tables.contains(DrillAgentSpec.Names.clickhouseTable) {
            return "the policy backs up only the tables \(tables.joined(separator: ", ")), so a marker table would not be in the backup: add \(DrillAgentSpec.Names.clickhouseTable) to source.clickhouse.tables"
        }
        if let pg = source.postgres {
            let markerTable = "\(DrillAgentSpec.Names.postgresSchema).\(DrillAgentSpec.Names.postgresTable)"
            let covering = [markerTable, "\(DrillAgentSpec.Names.postgresSchema).*"]
            if let tables = pg.tables, !tables.isEmpty, !tables.contains(where: covering.contains) {
                return "the policy backs up only the tables \(tables.joined(separator: ", ")), so the marker table would not be in the backup: add \(markerTable) to source.postgres.tables"
            }
            if let excluded = pg.excludeTables?.first(where: covering.contains) {
                return "the policy's excludeTables leaves out \(excluded), so the marker table would not be in the backup: remove it from source.postgres.excludeTables"
            }
        }
        if let s3 = source.s3, s3.bucket == nil {
            return "the policy mirrors every bucket, so there is no one bucket to put a marker in"
        }
        return nil
    }

    func validate(_ o: DrillObserved, policy: BackupPolicy) -> DrillVerdict {
        let spec = o.drill.spec
        let source = policy.spec.source
        if source.redis != nil {
            guard let r = spec.scratch.redis, r.host == nil, r.port == nil else {
                return .failed(job: nil, reason: DrillReason.invalidSpec,
                               message: "a Redis drill loads the backup into a throwaway redis-server inside its restore Job: set scratch: {redis: {}} (no host or port)")
            }
            if let other = o.blockedBy { return .running(actions: [], message: "waiting for \(other), which writes to this drill's source or scratch target") }
            return .succeeded(job: nil, message: "drill Redis of policy \(policy.metadata.name ?? "") in a throwaway redis-server")
        }
        if spec.marker == true, let problem = Self.markerProblem(policy) {
            return .failed(job: nil, reason: DrillReason.invalidSpec, message: problem + ", or set marker: false")
        }
        if let s3 = spec.scratch.s3, s3.bucket == nil, s3.prefix == nil {
            return .failed(job: nil, reason: DrillReason.invalidSpec,
                           message: "spec.scratch.s3 needs a bucket (or a prefix) of its own: the drill empties it afterwards")
        }
        let scratch: BackupSource
        switch Self.scratch(spec, policy: policy) {
        case .success(let s): scratch = s
        case .failure(let e): return .failed(job: nil, reason: DrillReason.notSupported, message: e.message)
        }
        if RestoreJobBuilder.isSource(scratch, of: policy) {
            return .failed(job: nil, reason: DrillReason.scratchIsSource,
                           message: "spec.scratch resolves to the policy's live source; a drill restores elsewhere: name another database, directory, bucket or ClickHouse database")
        }
        if spec.markerEnabled && !spec.takesFreshBackup {
            return .failed(job: nil, reason: DrillReason.invalidSpec,
                           message: "a marker is only in backups taken after it: set freshBackup: true, or marker: false to prove the newest backup as it is")
        }
        if spec.takesFreshBackup && (spec.backup?.id != nil || spec.backup?.before != nil) {
            return .failed(job: nil, reason: DrillReason.invalidSpec,
                           message: "spec.backup picks an existing artifact but freshBackup takes a new one: set freshBackup: false, or remove spec.backup")
        }
        for (name, text) in [("rto", spec.objectives?.rto), ("rpo", spec.objectives?.rpo)] {
            if let text, (try? TimeSpan(parsing: text)) == nil {
                return .failed(job: nil, reason: DrillReason.invalidSpec, message: "spec.objectives.\(name) \(text) is not a duration such as 30m or 26h")
            }
        }
        if let other = o.blockedBy {
            return .running(actions: [], message: "waiting for \(other), which writes to this drill's source or scratch target")
        }
        // Last, and before anything is written: the scratch target holds nobody else's data.
        let verdict = agentStep(.validate, o, policy: policy, status: DrillRunStatus()) { name in
            jobs.probeJob(drill: o.drill, policy: policy, scratch: scratch, name: name)
        }
        guard case .succeeded(let job, _) = verdict else { return verdict }
        let note = job.flatMap { o.results[$0]?.report.drill?.notes?.first }.map { " (\($0))" } ?? ""
        return .succeeded(job: job, message: "drill \(scratch.kindWord) of policy \(policy.metadata.name ?? ""); the scratch target is free" + note)
    }

    /// A fresh backup as the policy's own on-demand backup: the policy's backup Job (named and
    /// annotated as a run-now backup of value `token`, owned by the policy), so the policy
    /// records it in its catalog, retention and status like any other — without the operator
    /// writing to the user's BackupPolicy object. It starts only while the policy runs no Job.
    func backup(_ o: DrillObserved, policy: BackupPolicy, status: DrillRunStatus) -> DrillVerdict {
        guard o.drill.spec.takesFreshBackup else { return .succeeded(job: nil, message: "no fresh backup: List picks the artifact with spec.backup") }
        let name = Self.backupJobName(o.drill, policy: policy)
        guard let job = o.jobs[.backup] else {
            // Gone (history trimmed) or not cached yet, but the policy recorded its backup: that
            // is the fresh backup. Creating the Job again would back up twice under one name.
            if let recorded = Self.recordedBackup(job: name, policy: policy) {
                return .succeeded(job: name, message: "backup \(recorded.id) taken by Job \(name) (as the policy recorded it)")
            }
            if let active = policy.status?.activeJob, active.name != name {
                return .running(actions: [], message: "waiting for the policy's running Job \(active.name)")
            }
            let created = [BackstopLabels.createdAt: String(format: "%.6f", o.now.timeIntervalSince1970), BackstopLabels.runNow: o.drill.token]
            let job = jobs.restores.policyJobs.job(for: policy, operation: .backup, name: name, slotLabel: "manual", annotations: created,
                                                   extraLabels: [BackstopLabels.drill: o.drill.metadata.name ?? ""])
            return .running(actions: [.createJob(job)], message: "backup Job \(name) for BackupPolicy \(policy.metadata.name ?? "")")
        }
        guard job.isFinished else { return .running(actions: [], message: "backup Job \(name) running") }
        guard let result = o.results[name] else { return .running(actions: [], message: "backup Job \(name) finished; reading its result") }
        guard result.ok, let id = result.report.artifact?.id else {
            return .failed(job: name, reason: DrillReason.backupFailed,
                           message: "the fresh backup failed: \(result.reason ?? "BackupFailed"): \(result.message ?? "no result")")
        }
        return .succeeded(job: name, message: "backup \(id) taken by Job \(name)")
    }

    /// The policy's record of the backup its Job `job` took.
    static func recordedBackup(job: String, policy: BackupPolicy?) -> BackupRecord? {
        let status = policy?.status
        return status?.recentBackups?.first { $0.job == job } ?? status?.lastBackup.flatMap { $0.job == job ? $0 : nil }
    }

    /// The policy's run-now backup Job for this drill.
    public static func backupJobName(_ drill: DrillRun, policy: BackupPolicy) -> String {
        AgentJobBuilder.jobName(policy: policy.metadata.name ?? "", operation: .backup, token: "manual/" + drill.token)
    }

    /// The scratch copy may exist once Restore started — unless the restore refused a target
    /// that already existed (someone else's: never dropped).
    static func scratchMayExist(_ status: DrillRunStatus) -> Bool {
        guard let restore = status.steps?.first(where: { $0.name == DrillStep.restore.rawValue }), restore.phase != .pending, restore.phase != .skipped
        else { return false }
        return !(restore.phase == .failed && (restore.message ?? "").hasPrefix(targetExists))
    }

    /// The agent's reason for a restore target that holds data already.
    static let targetExists = "TargetExists"

    /// An agent step: create its Job, wait for it, read its result.
    func agentStep(_ step: DrillStep, _ o: DrillObserved, policy: BackupPolicy, status: DrillRunStatus, build: (String) -> Job) -> DrillVerdict {
        guard let name = jobName(step, of: o.drill) else { return .failed(job: nil, reason: .internal, message: "\(step.rawValue) has no Job") }
        guard let job = o.jobs[step] else { return .running(actions: [.createJob(build(name))], message: "Job \(name)") }
        guard job.isFinished else { return .running(actions: [], message: "Job \(name) running") }
        guard let result = o.results[name] else { return .running(actions: [], message: "Job \(name) finished; reading its result") }
        if result.ok { return .succeeded(job: name, message: Self.summary(step, result)) }
        let reason = result.reason.map(DrillReason.init(rawValue:)) ?? .agentFailed
        return .failed(job: name, reason: reason, message: "\(reason): \(result.message ?? "the agent failed without a message")")
    }

    static func summary(_ step: DrillStep, _ result: AgentResult) -> String {
        let a = result.report.artifact
        switch step {
        case .marker: return "marker \(result.report.drill?.marker ?? "?") written at \(result.report.drill?.markedAt ?? "?")"
        case .list: return "artifact \(a?.id ?? "?") (\(a?.sizeBytes.map { "\($0) bytes" } ?? "size unknown"), sha256 \(a?.sha256?.prefix(12) ?? "?")…) reads back"
        case .restore:
            // A Redis drill's checks run in the restore Job (its scratch server lives there).
            let checks = (result.report.verification?.checks ?? []).filter { !["sha256", "size"].contains($0.name ?? "") }
            let passed = checks.isEmpty ? "" : "; checks passed: " + checks.filter { $0.passed == true }.compactMap(\.name).joined(separator: ", ")
            return "restored \(a?.id ?? "the artifact") into the scratch target" + passed
        case .verify:
            let checks = result.report.verification?.checks ?? []
            // Named: "the marker is in the restored copy" is what the drill exists to show.
            let marker = checks.contains(where: { $0.name == "marker" && $0.passed == true }) ? "; the marker is in the scratch copy" : ""
            return checks.isEmpty ? "verified" : "\(checks.filter { $0.passed == true }.count)/\(checks.count) checks passed" + marker
        case .cleanup:
            let d = result.report.drill
            let parts = [d?.droppedTarget == true ? "scratch dropped" : nil, d?.removedMarker == true ? "marker removed" : nil].compactMap { $0 }
            return (parts.isEmpty ? "cleaned up" : parts.joined(separator: ", ")) + ((d?.notes ?? []).isEmpty ? "" : " (\((d?.notes ?? []).joined(separator: "; ")))")
        default: return step.rawValue
        }
    }
}
