import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The RestoreRequest's decisions, pure: for the step the step machine says runs, what to do
/// now and whether it finished. The controller records the step (and what undoes it) in status
/// before it performs a `.running` verdict's actions.
public struct RestorePlanner: Sendable {
    public let jobs: RestoreJobBuilder
    /// How long the Resume step waits for workloads to be ready before giving up on them.
    public var resumeTimeout: TimeInterval = 600

    public init(agentImage: String) { jobs = RestoreJobBuilder(agentImage: agentImage) }

    /// The Job of `step` for store `entry` (0: the one `policyRef` names).
    public func jobName(_ step: RestoreStep, of request: RestoreRequest, entry: Int = 0) -> String? {
        let uid = request.metadata.uid ?? ""
        return step.jobPurpose.map { ChildOwner(request).childName(purpose: $0, token: entry == 0 ? uid : "\(uid)/\(entry)") }
    }

    /// The verdict of `step` from what was observed. `status` carries what earlier steps
    /// recorded (the selected backups, saved replicas).
    public func decide(_ step: RestoreStep, _ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        let spec = o.request.spec
        switch step {
        case .validate:
            return validate(o)
        case .select, .restore, .verify:
            return storeSteps(step, o, status: status)
        case .quiesce:
            var actions: [RestoreAction] = []
            var waiting: [String] = []
            for ref in spec.fenced {
                let seen = o.workloads[ref.key]
                if (seen?.replicas ?? 0) != 0 { actions.append(.scale(ref, replicas: 0)) }
                if let left = seen?.podsLeft, left > 0 { waiting.append("\(ref.key): \(left) pod(s) left") }
            }
            if actions.isEmpty && waiting.isEmpty {
                return .succeeded(job: nil, message: spec.fenced.isEmpty ? "nothing to quiesce" : "no pod of \(spec.fenced.map(\.key).joined(separator: ", ")) is running")
            }
            return .running(actions: actions, message: waiting.isEmpty ? "scaling to 0" : "waiting: " + waiting.joined(separator: "; "))
        case .resume:
            return resume(o, status: status)
        }
    }

    func validate(_ o: RestoreObserved) -> StepVerdict {
        let spec = o.request.spec
        var kinds: [String] = []
        for (i, entry) in spec.entries.enumerated() {
            let which = spec.entries.count > 1 ? "store \(i + 1) (policy \(entry.policyRef.name)): " : ""
            guard let policy = o.policies[entry.policyRef.name] else {
                return .failed(job: nil, reason: RestoreReason.policyNotFound,
                               message: "\(which)BackupPolicy \(entry.policyRef.name) not found in namespace \(o.request.metadata.namespace ?? ""): create it or fix the policyRef")
            }
            let target: BackupSource
            switch RestoreJobBuilder.target(entry, policy: policy) {
            case .success(let t): target = t
            case .failure(let e): return .failed(job: nil, reason: RestoreReason.notSupported, message: which + e.message)
            }
            if RestoreJobBuilder.isSource(target, of: policy), spec.allowOverwriteSource != true {
                return .failed(job: nil, reason: RestoreReason.overwriteNotAllowed,
                               message: "\(which)the target is the policy's live source; set spec.allowOverwriteSource: true to restore over it, or name another target")
            }
            kinds.append("\(target.kindWord) from policy \(policy.metadata.name ?? "")")
        }
        for (i, entry) in spec.entries.enumerated() {
            // An id the schema's pattern lets through but no artifact can have (month 13): refused
            // here, as otherwise the selector would fall back to the newest backup.
            if let id = entry.backup?.id, (try? ArtifactSelector(parsing: id)) == nil {
                let which = spec.entries.count > 1 ? "store \(i + 1) (policy \(entry.policyRef.name)): " : ""
                return .failed(job: nil, reason: RestoreReason.invalidBackupID,
                               message: "\(which)spec.backup.id \(id) is not an artifact id (want yyyymmddThhmmssZ-<id>, e.g. 20260208T120000Z-3f9a0c1e)")
            }
        }
        if let other = o.blockedBy {
            return .running(actions: [], message: "waiting for \(other), created earlier, which restores or drills the same database or fences the same workloads")
        }
        let missing = spec.fenced.filter { o.workloads[$0.key]?.replicas == nil }
        if !missing.isEmpty {
            return .failed(job: nil, reason: RestoreReason.workloadNotFound,
                           message: "spec.quiesce (or target.redis.workload) names \(missing.map(\.key).joined(separator: ", ")), which does not exist in this namespace")
        }
        return .succeeded(job: nil, message: "restore " + kinds.joined(separator: ", then "))
    }

    /// Select, Restore or Verify of every store, one after the other: the step succeeds when
    /// the last store's Job has; the first failure fails it (the others are not started).
    func storeSteps(_ step: RestoreStep, _ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        let entries = o.request.spec.entries
        var done: [String] = []
        var lastJob: String?
        for (i, entry) in entries.enumerated() {
            let which = entries.count > 1 ? "store \(i + 1) (policy \(entry.policyRef.name)): " : ""
            guard let policy = o.policies[entry.policyRef.name], let name = jobName(step, of: o.request, entry: i) else {
                return .failed(job: nil, reason: RestoreReason.policyNotFound, message: "\(which)BackupPolicy \(entry.policyRef.name) is gone")
            }
            guard case .success(let target) = RestoreJobBuilder.target(entry, policy: policy) else {
                return .failed(job: nil, reason: RestoreReason.notSupported, message: "\(which)the target cannot be resolved")
            }
            if step == .verify, target.redis != nil, let ref = entry.target?.redis?.workload, o.jobs[name] == nil {
                if let waiting = redisStart(ref, o, status: status) { return waiting }
            }
            guard let job = o.jobs[name] else {
                let artifact = step == .select ? nil : Self.selected(status, entry: i)
                let built = jobs.job(step, owner: ChildOwner(o.request), labels: RestoreJobBuilder.labels(o.request, step: step, policy: policy),
                                     restore: entry, policy: policy, target: target, artifactID: artifact, name: name)
                return .running(actions: [.createJob(built)], message: "\(which)Job \(name)")
            }
            guard job.isFinished else { return .running(actions: [], message: "\(which)Job \(name) running") }
            guard let result = o.results[name] else { return .running(actions: [], message: "\(which)Job \(name) finished; reading its result") }
            if step == .select, !result.ok, result.reason == "ArtifactNotFound" {
                return .failed(job: name, reason: RestoreReason.noMatchingBackup,
                               message: "\(which)no backup of policy \(entry.policyRef.name) matches spec.backup (\(Self.describe(entry.backup))): "
                                   + "\(result.message ?? "no artifact matches"); name an existing id or a later time "
                                   + "(the BackupPolicy's status.recentBackups lists recent backups)")
            }
            guard result.ok else {
                return .failed(job: name, reason: result.reason.map(RestoreReason.init(rawValue:)) ?? .agentFailed,
                               message: "\(which)\(result.reason ?? "AgentFailed"): \(result.message ?? "the agent failed without a message")")
            }
            done.append(Self.summary(step, result))
            lastJob = name
        }
        return .succeeded(job: lastJob, message: done.joined(separator: "; "))
    }

    /// `spec.backup` in words, as a user wrote it.
    static func describe(_ s: BackupSelector?) -> String {
        if let id = s?.id { return "id \(id)" }
        if let before = s?.before { return "at or before \(UTCTimestamp.rfc3339(before.date))" + (s?.verifiedOnly == true ? ", verified only" : "") }
        return s?.verifiedOnly == true ? "the newest verified backup" : "the newest backup"
    }

    /// The artifact Select chose for store `entry`.
    static func selected(_ status: RestoreRequestStatus, entry: Int) -> String? {
        entry == 0 ? status.backup?.id : (status.backups?.indices.contains(entry) == true ? status.backups?[entry].id : nil)
    }

    /// A Redis target is checked running: its server is started again first (the other fenced
    /// writers stay stopped) and must be ready before its key count is compared. Nil: ready.
    func redisStart(_ ref: WorkloadReference, _ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict? {
        let saved = status.savedReplicas?[ref.key] ?? 1
        if o.workloads[ref.key]?.replicas != saved { return .running(actions: [.scale(ref, replicas: saved)], message: "starting \(ref.key) on the restored snapshot") }
        switch o.workloads[ref.key]?.resumed {
        case .done?: return nil
        case .progressing(let text)?, .stalled(let text)?:
            let started = status.steps?.first { $0.name == RestoreStep.verify.rawValue }?.startedAt?.date ?? o.now
            if o.now.timeIntervalSince(started) > resumeTimeout {
                return .failed(job: nil, reason: .redisNotReady, message: "\(ref.key) is not ready on the restored snapshot after \(Int(resumeTimeout))s: \(text)")
            }
            return .running(actions: [], message: "waiting for \(ref.key): \(text)")
        case nil: return .running(actions: [], message: "waiting for \(ref.key) to start")
        }
    }

    /// Every fenced workload back to its saved replicas, one after the other in `fenced` order
    /// (the stores' servers, then the writers as `quiesce` lists them), each ready before the next.
    func resume(_ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        let saved = status.savedReplicas ?? [:]
        let order = o.request.spec.fenced.map(\.key).filter { saved[$0] != nil } + saved.keys.sorted().filter { key in
            !o.request.spec.fenced.contains { $0.key == key }
        }
        let started = status.steps?.first { $0.name == RestoreStep.resume.rawValue }?.startedAt?.date ?? o.now
        for key in order {
            guard let replicas = saved[key], let ref = Self.reference(key), let seen = o.workloads[key], let current = seen.replicas else { continue }
            if current != replicas { return .running(actions: [.scale(ref, replicas: replicas)], message: "\(key): scaling to \(replicas)") }
            switch seen.resumed {
            case .done?: continue
            case .progressing(let text)?, .stalled(let text)?:
                if o.now.timeIntervalSince(started) > resumeTimeout {
                    return .failed(job: nil, reason: .resumeTimeout, message: "replicas are back but not ready after \(Int(resumeTimeout))s: \(text)")
                }
                return .running(actions: [], message: text)
            case nil: return .running(actions: [], message: "\(key): scaling to \(replicas)")
            }
        }
        let resumed = order.map { "\($0)=\(saved[$0] ?? 0)" }
        return .succeeded(job: nil, message: resumed.isEmpty ? "nothing to resume" : "resumed " + resumed.joined(separator: ", "))
    }

    static func summary(_ step: RestoreStep, _ result: AgentResult) -> String {
        let a = result.report.artifact
        switch step {
        case .select: return "artifact \(a?.id ?? "?") (\(a?.sizeBytes.map { "\($0) bytes" } ?? "size unknown"), sha256 \(a?.sha256?.prefix(12) ?? "?")…) verified"
        case .restore: return "restored \(a?.id ?? "the artifact")"
        default:
            let checks = result.report.verification?.checks ?? []
            return checks.isEmpty ? "verified" : "\(checks.filter { $0.passed == true }.count)/\(checks.count) checks passed"
        }
    }

    /// `Deployment/api` → the reference.
    static func reference(_ key: String) -> WorkloadReference? {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        return WorkloadReference(kind: WorkloadKind(rawValue: parts[0]), name: parts[1])
    }

    /// The selected artifact as status records it.
    static func backupReference(_ result: AgentResult) -> BackupReference? {
        guard let a = result.report.artifact, let id = a.id else { return nil }
        return BackupReference(id: id, time: a.createdAt.flatMap(Time.init(rfc3339:)), sha256: a.sha256, sizeBytes: a.sizeBytes)
    }
}
