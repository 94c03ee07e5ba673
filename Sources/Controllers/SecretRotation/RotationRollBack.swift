import AgentContract
import Foundation
import KubeModel

/// What a failed (or deleted) run changed and so must undo, read from its recorded steps.
public struct RollBackScope: Sendable, Hashable {
    /// The new password may be valid at the source.
    public var source = false
    /// The target Secret may hold the new values.
    public var secret = false
    /// Some consumers were restarted onto the new values.
    public var consumers = false
    public var any: Bool { source || secret || consumers }

    /// Agent failures that leave the source untouched: nothing was logged in or changed.
    static let untouched: Set<String> = ["SpecInvalid", "SecretUnreadable", "SourceUnreachable", "AuthenticationFailed",
                                         "PermissionDenied", "TargetMissing"]

    public static func of(_ steps: [StepStatus], applies: Bool) -> RollBackScope {
        func step(_ s: RotationStep) -> StepStatus? { steps.first { $0.name == s.rawValue } }
        // Once Finalize started the run is past the point of return: the new value is live everywhere.
        if step(.finalize)?.startedAt != nil { return RollBackScope() }
        var scope = RollBackScope()
        if applies, let apply = step(.apply), apply.startedAt != nil {
            let reason = apply.message?.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            scope.source = !(apply.phase == .failed && untouched.contains(reason))
        }
        scope.secret = step(.update)?.startedAt != nil
        scope.consumers = step(.restart)?.startedAt != nil
        return scope
    }
}

extension RotationPlanner {
    /// The pending Secret of the run: deterministic, so a restarted operator finds it.
    public func pendingName(_ rotation: SecretRotation, _ status: SecretRotationStatus) -> String {
        ChildOwner(rotation).childName(purpose: "pending", token: status.run?.id ?? "")
    }

    public func jobName(_ step: RotationStep, _ rotation: SecretRotation, _ status: SecretRotationStatus) -> String? {
        step.jobPurpose.map { ChildOwner(rotation).childName(purpose: $0, token: status.run?.id ?? "") }
    }

    /// An agent step: create its Job, wait for it, read its result.
    func agentStep(_ step: RotationStep, _ o: RotationObserved, status: SecretRotationStatus) -> RotationVerdict {
        guard let name = jobName(step, o.rotation, status) else { return .failed(job: nil, reason: .internal, message: "\(step.rawValue) has no Job") }
        guard let job = o.jobs[step] else {
            guard o.secrets.pendingExists else {
                return .failed(job: nil, reason: RotationReason.pendingSecretMissing,
                               message: "the pending Secret \(pendingName(o.rotation, status)) was deleted; it holds the run's values, leave it to the rotation")
            }
            return .running(actions: [.createJob(jobs.job(step, rotation: o.rotation, pending: pendingName(o.rotation, status), name: name,
                                                          adminKeys: o.secrets.adminKeys ?? [],
                                                          datedRole: Self.datedRole(o.rotation.spec, status)))],
                            message: "Job \(name)")
        }
        guard job.isFinished else { return .running(actions: [], message: "Job \(name) running") }
        guard let result = o.results[name] else { return .running(actions: [], message: "Job \(name) finished; reading its result") }
        if result.ok { return .succeeded(job: name, message: result.json?["message"]?.stringValue ?? "done") }
        let reason = result.reason.map(RotationReason.init(rawValue:)) ?? .agentFailed
        return .failed(job: name, reason: reason, message: result.message ?? "the agent failed without a message")
    }

    func rollBack(_ o: RotationObserved, status: inout SecretRotationStatus) -> RotationVerdict {
        let steps = status.steps ?? []
        if steps.first(where: { $0.name == RotationStep.finalize.rawValue })?.phase == .failed {
            return .succeeded(job: nil, message: "the new values are live; the pending Secret \(pendingName(o.rotation, status)) is kept because Finalize failed")
        }
        let scope = RollBackScope.of(steps, applies: o.rotation.spec.apply != nil)
        if scope.source {
            let verdict = agentStep(.rollBack, o, status: status)
            switch verdict {
            case .succeeded: break
            case .failed(let job, _, let message):
                return .failed(job: job, reason: RotationReason.rollbackFailed,
                               message: "the old password could not be set again at the source (\(message)); the pending Secret \(pendingName(o.rotation, status)) keeps both values")
            case .running: return verdict
            }
        }
        // Without the pending Secret the Secret was restored already: it is deleted last.
        if scope.secret, o.secrets.pendingExists, !o.secrets.targetHoldsOld {
            return .running(actions: [.restoreTarget], message: "writing the old values back into Secret \(o.rotation.spec.secretRef.name)")
        }
        let restarted = (status.consumers ?? []).filter { $0.restartedAt != nil }
        if scope.consumers, !restarted.isEmpty {
            if status.run?.rollbackRestartedAt == nil {
                // A different annotation value than the forward restart's, even within the same second.
                var at = Time(o.now)
                if restarted.contains(where: { $0.restartedAt?.rfc3339 == at.rfc3339 }) { at = Time(o.now.addingTimeInterval(1)) }
                status.run?.rollbackRestartedAt = at
            }
            let at = status.run?.rollbackRestartedAt ?? Time(o.now)
            var actions: [RotationAction] = []
            var waiting: [String] = []
            var consumers = status.consumers ?? []
            for i in consumers.indices where consumers[i].restartedAt != nil {
                let c = consumers[i]
                guard let seen = o.consumers[c.key] else { continue }  // gone: nothing left to restart
                if seen.restartedAt != at.rfc3339 {
                    actions.append(.restart(c.reference, at: at))
                    waiting.append("\(c.key): restarting on the old values")
                    continue
                }
                switch seen.rollout {
                case .done: consumers[i].ready = true
                case .stalled(let why), .progressing(let why):
                    consumers[i].ready = false
                    if o.now.timeIntervalSince(at.date) > RotationPlanner.timeout(o.rotation.spec) {
                        status.consumers = consumers
                        return .failed(job: nil, reason: RotationReason.rollbackFailed, message: "consumer \(c.key) is not ready on the old values either: \(why)")
                    }
                    waiting.append(why)
                }
            }
            status.consumers = consumers
            status.consumersReady = RotationPlanner.readyCount(consumers)
            if !actions.isEmpty || !waiting.isEmpty { return .running(actions: actions, message: waiting.joined(separator: "; ")) }
        }
        if o.secrets.pendingExists { return .running(actions: [.deletePending], message: "deleting the pending Secret") }
        if !scope.any { return .succeeded(job: nil, message: "nothing to roll back") }
        var undone: [String] = []
        if scope.source { undone.append("the old password is valid again at the source") }
        if scope.secret { undone.append("Secret \(o.rotation.spec.secretRef.name) holds the old values") }
        if scope.consumers { undone.append("the consumers were restarted on them and are ready") }
        return .succeeded(job: nil, message: "rolled back: " + undone.joined(separator: ", "))
    }
}
