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

    public func jobName(_ step: RestoreStep, of request: RestoreRequest) -> String? {
        step.jobPurpose.map { ChildOwner(request).childName(purpose: $0, token: request.metadata.uid ?? "") }
    }

    /// The verdict of `step` from what was observed. `status` carries what earlier steps
    /// recorded (the selected backup, saved replicas).
    public func decide(_ step: RestoreStep, _ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        let spec = o.request.spec
        switch step {
        case .validate:
            guard let policy = o.policy else {
                return .failed(job: nil, reason: RestoreReason.policyNotFound,
                               message: "BackupPolicy \(spec.policyRef.name) not found in namespace \(o.request.metadata.namespace ?? ""): create it or fix spec.policyRef")
            }
            let target: BackupSource
            switch RestoreJobBuilder.target(spec, policy: policy) {
            case .success(let t): target = t
            case .failure(let e): return .failed(job: nil, reason: RestoreReason.notSupported, message: e.message)
            }
            if RestoreJobBuilder.isSource(target, of: policy), spec.allowOverwriteSource != true {
                return .failed(job: nil, reason: RestoreReason.overwriteNotAllowed,
                               message: "the target is the policy's live source; set spec.allowOverwriteSource: true to restore over it, or name another spec.target")
            }
            if let other = o.blockedBy {
                return .running(actions: [], message: "waiting for RestoreRequest \(other), which restores the same target or fences the same workloads")
            }
            let missing = spec.fenced.filter { o.workloads[$0.key]?.replicas == nil }
            if !missing.isEmpty {
                return .failed(job: nil, reason: RestoreReason.workloadNotFound,
                               message: "spec.quiesce (or target.redis.workload) names \(missing.map(\.key).joined(separator: ", ")), which does not exist in this namespace")
            }
            return .succeeded(job: nil, message: "restore \(target.kindWord) from policy \(policy.metadata.name ?? "")")
        case .verify where spec.target?.redis?.workload != nil:
            return redisVerify(o, status: status)
        case .select, .restore, .verify:
            return agentStep(step, o, status: status)
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
            var actions: [RestoreAction] = []
            var waiting: [String] = []
            for (key, saved) in (status.savedReplicas ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let ref = Self.reference(key), let seen = o.workloads[key], let replicas = seen.replicas else { continue }
                if replicas != saved { actions.append(.scale(ref, replicas: saved)) }
                switch seen.resumed {
                case .done?: break
                case .progressing(let text)?, .stalled(let text)?: waiting.append(text)
                case nil: waiting.append("\(key): scaling to \(saved)")
                }
            }
            if actions.isEmpty && waiting.isEmpty {
                let resumed = (status.savedReplicas ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                return .succeeded(job: nil, message: resumed.isEmpty ? "nothing to resume" : "resumed " + resumed.joined(separator: ", "))
            }
            let started = status.steps?.first { $0.name == RestoreStep.resume.rawValue }?.startedAt?.date ?? o.now
            if actions.isEmpty, o.now.timeIntervalSince(started) > resumeTimeout {
                return .failed(job: nil, reason: "ResumeTimeout", message: "replicas are back but not ready after \(Int(resumeTimeout))s: " + waiting.joined(separator: "; "))
            }
            return .running(actions: actions, message: waiting.joined(separator: "; "))
        }
    }

    /// A Redis target is checked running: its server is started again first (the other fenced
    /// writers stay stopped), then an agent Job compares its key count with the backup's.
    func redisVerify(_ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        guard let ref = o.request.spec.target?.redis?.workload else { return agentStep(.verify, o, status: status) }
        let saved = status.savedReplicas?[ref.key] ?? 1
        if o.jobs[.verify] == nil {
            if o.workloads[ref.key]?.replicas != saved { return .running(actions: [.scale(ref, replicas: saved)], message: "starting \(ref.key) on the restored snapshot") }
            switch o.workloads[ref.key]?.resumed {
            case .done?: break
            case .progressing(let text)?, .stalled(let text)?:
                let started = status.steps?.first { $0.name == RestoreStep.verify.rawValue }?.startedAt?.date ?? o.now
                if o.now.timeIntervalSince(started) > resumeTimeout {
                    return .failed(job: nil, reason: "RedisNotReady", message: "\(ref.key) is not ready on the restored snapshot after \(Int(resumeTimeout))s: \(text)")
                }
                return .running(actions: [], message: "waiting for \(ref.key): \(text)")
            case nil: return .running(actions: [], message: "waiting for \(ref.key) to start")
            }
        }
        return agentStep(.verify, o, status: status)
    }

    /// An agent step: create its Job, wait for it, read its result.
    func agentStep(_ step: RestoreStep, _ o: RestoreObserved, status: RestoreRequestStatus) -> StepVerdict {
        guard let policy = o.policy, let name = jobName(step, of: o.request) else {
            return .failed(job: nil, reason: RestoreReason.policyNotFound, message: "BackupPolicy \(o.request.spec.policyRef.name) is gone")
        }
        guard let job = o.jobs[step] else {
            guard case .success(let target) = RestoreJobBuilder.target(o.request.spec, policy: policy) else {
                return .failed(job: nil, reason: RestoreReason.notSupported, message: "the target cannot be resolved")
            }
            let artifact = step == .select ? nil : status.backup?.id
            return .running(actions: [.createJob(jobs.job(step, request: o.request, policy: policy, target: target, artifactID: artifact, name: name))],
                            message: "Job \(name)")
        }
        guard job.isFinished else { return .running(actions: [], message: "Job \(name) running") }
        guard let result = o.results[name] else { return .running(actions: [], message: "Job \(name) finished; reading its result") }
        if result.ok { return .succeeded(job: name, message: Self.summary(step, result)) }
        return .failed(job: name, reason: result.reason ?? "AgentFailed",
                       message: "\(result.reason ?? "AgentFailed"): \(result.message ?? "the agent failed without a message")")
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
