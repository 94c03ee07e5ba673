import AgentContract
import BackstopCore
import Foundation
import KubeModel

/// The SecretRotation's decisions, pure: for the step the step machine says runs, what to do
/// now and whether it finished. `status` may be changed (a consumer's restart time, the
/// roll-back's restart time): the controller writes it before it performs the actions, so a
/// restarted operator re-issues the same restart instead of a second one.
public struct RotationPlanner: Sendable {
    public let jobs: RotationJobBuilder

    public init(agentImage: String) { jobs = RotationJobBuilder(agentImage: agentImage) }

    public func decide(_ step: RotationStep, _ o: RotationObserved, status: inout SecretRotationStatus) -> RotationVerdict {
        let spec = o.rotation.spec
        switch step {
        case .validate:
            return validate(o)
        case .generate:
            if o.secrets.pendingExists { return .succeeded(job: nil, message: "new values staged in Secret \(pendingName(o.rotation, status))") }
            // A Secret deleted since Validate (or while the operator was down) is a clear failure here, not a retry loop.
            let inputs = validate(o)
            if case .failed = inputs { return inputs }
            return .running(actions: [.createPending], message: "staging the new values")
        case .apply:
            guard spec.apply != nil else { return .succeeded(job: nil, message: "nothing to apply at a source (spec.apply is not set)") }
            return agentStep(.apply, o, status: status)
        case .update:
            if o.secrets.targetHoldsNew { return .succeeded(job: nil, message: "Secret \(spec.secretRef.name) holds the new values") }
            return .running(actions: [.updateTarget], message: "writing the new values into Secret \(spec.secretRef.name)")
        case .restart:
            if status.consumers == nil {
                status.consumers = Self.consumers(spec, discovered: o.discovered).map { ConsumerStatus(kind: $0.kind.rawValue, name: $0.name) }
            }
            return restart(o, status: &status)
        case .verify:
            for c in status.consumers ?? [] {
                if case .stalled(let why)? = o.consumers[c.key]?.rollout {
                    return .failed(job: nil, reason: RotationReason.consumerNotReady, message: "\(c.key) is not ready any more: \(why)")
                }
            }
            guard spec.apply != nil else { return .succeeded(job: nil, message: "every consumer is ready on the new values") }
            return agentStep(.verify, o, status: status)
        case .finalize:
            // Redis drops the old password; the dated-role strategy drops the logins before the previous one.
            let atSource = spec.apply?.redis != nil || spec.apply?.postgres?.strategy == .datedRole
            if atSource, case let verdict = agentStep(.finalize, o, status: status), !verdict.isSucceeded { return verdict }
            // Without keepPrevious no `.previous` stays, not even one an earlier run (with keepPrevious) left.
            if spec.keepPrevious == false, let keys = o.secrets.targetKeys,
               Self.rotatedKeys(spec).contains(where: { keys.contains("\($0).previous") }) {
                return .running(actions: [.dropPrevious], message: "removing the previous values from Secret \(spec.secretRef.name) (keepPrevious: false)")
            }
            if o.secrets.pendingExists { return .running(actions: [.deletePending], message: "deleting the pending Secret") }
            let job = atSource ? jobName(.finalize, o.rotation, status) : nil
            let done = job.flatMap { o.results[$0]?.json?["message"]?.stringValue }.map { "\($0); " } ?? ""
            return .succeeded(job: job, message: done + "the pending Secret is deleted")
        case .rollBack:
            return rollBack(o, status: &status)
        }
    }

    func validate(_ o: RotationObserved) -> RotationVerdict {
        let spec = o.rotation.spec
        let ns = o.rotation.metadata.namespace ?? ""
        if let other = o.blockedBy {
            return .running(actions: [], message: "waiting for SecretRotation \(other), which rotates the same Secret")
        }
        guard let keys = o.secrets.targetKeys else {
            return .failed(job: nil, reason: RotationReason.secretNotFound,
                           message: "Secret \(spec.secretRef.name) not found in namespace \(ns): create it or fix spec.secretRef")
        }
        for k in spec.keys {
            if let from = k.from {
                guard let staged = o.secrets.staged[from.name] else {
                    return .failed(job: nil, reason: RotationReason.stagedSecretNotFound,
                                   message: "keys[\(k.key)].from: Secret \(from.name) not found in namespace \(ns): stage the new value there first")
                }
                guard staged.contains(from.key) else {
                    return .failed(job: nil, reason: RotationReason.stagedSecretNotFound,
                                   message: "keys[\(k.key)].from: Secret \(from.name) has no key \(from.key): stage the new value under that key")
                }
            } else if let problem = RotationValues.problem(k.generate ?? GenerateSpec()) {
                return .failed(job: nil, reason: RotationReason.cannotGenerate, message: "keys[\(k.key)].generate: \(problem)")
            }
        }
        if let (admin, passwordKey, what) = Self.source(spec) {
            guard let adminKeys = o.secrets.adminKeys else {
                return .failed(job: nil, reason: RotationReason.adminSecretNotFound,
                               message: "apply.\(what).adminSecretRef: Secret \(admin.name) not found in namespace \(ns): create it with the admin's credential")
            }
            guard adminKeys.contains(admin.passwordKey ?? "password") else {
                return .failed(job: nil, reason: RotationReason.adminSecretNotFound,
                               message: "apply.\(what).adminSecretRef: Secret \(admin.name) has no key \(admin.passwordKey ?? "password"): put the admin's password there")
            }
            guard keys.contains(passwordKey) else {
                return .failed(job: nil, reason: RotationReason.secretNotFound,
                               message: "Secret \(spec.secretRef.name) has no key \(passwordKey): the current password must be there (it is what a roll-back restores)")
            }
            if let p = spec.apply?.postgres, p.strategy == .datedRole {
                guard let user = p.usernameKey, keys.contains(user) else {
                    return .failed(job: nil, reason: RotationReason.secretNotFound,
                                   message: "Secret \(spec.secretRef.name) has no key \(p.usernameKey ?? "usernameKey"): the dated-role strategy switches the login name there")
                }
            }
        }
        let missing = (spec.consumers?.workloads ?? []).filter { o.consumers[$0.key] == nil }
        if !missing.isEmpty {
            return .failed(job: nil, reason: RotationReason.workloadNotFound,
                           message: "spec.consumers.workloads names \(missing.map(\.key).joined(separator: ", ")), which does not exist in namespace \(ns)")
        }
        return .succeeded(job: nil, message: "rotating \(spec.keys.map(\.key).joined(separator: ", ")) of Secret \(spec.secretRef.name)")
    }

    /// The Secret keys a run writes: the rotated ones, plus the login name with the dated-role strategy.
    public static func rotatedKeys(_ spec: SecretRotationSpec) -> [String] {
        var keys = spec.keys.map(\.key)
        if let p = spec.apply?.postgres, p.strategy == .datedRole, let user = p.usernameKey, !keys.contains(user) { keys.append(user) }
        return keys
    }

    /// The login role the run creates with the dated-role strategy: `<role>_<yyyymmddhhmmss>` of the run's start.
    public static func datedRole(_ spec: SecretRotationSpec, _ status: SecretRotationStatus) -> String? {
        guard let p = spec.apply?.postgres, p.strategy == .datedRole, let started = status.run?.startedAt.date else { return nil }
        return "\(p.role)_" + UTCTimestamp.compact(started).filter(\.isNumber)
    }

    /// The admin Secret, the rotated key holding the password, and `postgres`/`redis`.
    static func source(_ spec: SecretRotationSpec) -> (AdminCredentialsRef, String, String)? {
        if let p = spec.apply?.postgres { return (p.adminSecretRef, p.passwordKey, "postgres") }
        if let r = spec.apply?.redis { return (r.adminSecretRef, r.passwordKey, "redis") }
        return nil
    }

    /// Listed workloads first, in their order; then discovered ones (unless discovery is off).
    public static func consumers(_ spec: SecretRotationSpec, discovered: [WorkloadReference]) -> [WorkloadReference] {
        var out = spec.consumers?.workloads ?? []
        if spec.consumers?.discover ?? true {
            for ref in discovered where !out.contains(ref) { out.append(ref) }
        }
        return out
    }

    static func timeout(_ spec: SecretRotationSpec) -> TimeInterval {
        TimeInterval((try? TimeSpan(parsing: spec.rollout?.timeout ?? "10m"))?.seconds ?? 600)
    }

    func restart(_ o: RotationObserved, status: inout SecretRotationStatus) -> RotationVerdict {
        var consumers = status.consumers ?? []
        let limit = max(1, o.rotation.spec.rollout?.maxConcurrent ?? 1)
        let timeout = Self.timeout(o.rotation.spec)
        var actions: [RotationAction] = []
        var waiting: [String] = []
        // Restarted and not yet rolled out, counting one whose annotation has not landed yet as busy.
        var inFlight = consumers.filter { c in
            guard let at = c.restartedAt else { return false }
            guard let seen = o.consumers[c.key] else { return true }
            return seen.restartedAt != at.rfc3339 || !seen.rollout.isDone
        }.count
        defer { status.consumers = consumers; status.consumersReady = Self.readyCount(consumers) }
        for i in consumers.indices {
            let c = consumers[i]
            guard let seen = o.consumers[c.key] else {
                return .failed(job: nil, reason: RotationReason.workloadNotFound, message: "consumer \(c.key) disappeared during the rollout")
            }
            guard let at = c.restartedAt else {
                if inFlight < limit {
                    consumers[i].restartedAt = Time(o.now)
                    consumers[i].ready = false
                    inFlight += 1
                    actions.append(.restart(c.reference, at: Time(o.now)))
                    waiting.append("\(c.key): restarting")
                } else {
                    waiting.append("\(c.key): waiting for its turn")
                }
                continue
            }
            if seen.restartedAt != at.rfc3339 {
                actions.append(.restart(c.reference, at: at))
                waiting.append("\(c.key): restarting")
                continue
            }
            switch seen.rollout {
            case .done:
                consumers[i].ready = true
            case .stalled(let why):
                consumers[i].ready = false
                return .failed(job: nil, reason: RotationReason.consumerNotReady, message: "consumer \(c.key) did not become ready on the new value: \(why)")
            case .progressing(let what):
                consumers[i].ready = false
                if o.now.timeIntervalSince(at.date) > timeout {
                    return .failed(job: nil, reason: RotationReason.consumerNotReady,
                                   message: "consumer \(c.key) was not ready within \(Int(timeout))s (rollout.timeout) on the new value: \(what)")
                }
                waiting.append(what)
            }
        }
        if actions.isEmpty && waiting.isEmpty {
            return .succeeded(job: nil, message: consumers.isEmpty ? "no consumer to restart"
                              : "restarted \(consumers.map(\.key).joined(separator: ", ")); all ready")
        }
        return .running(actions: actions, message: waiting.joined(separator: "; "))
    }

    static func readyCount(_ consumers: [ConsumerStatus]) -> String {
        "\(consumers.filter { $0.ready == true }.count)/\(consumers.count)"
    }
}

extension RotationVerdict {
    var isSucceeded: Bool {
        if case .succeeded = self { return true }
        return false
    }
}

extension ConsumerStatus {
    /// `Deployment/api`.
    var key: String { "\(kind)/\(name)" }
    var reference: WorkloadReference { WorkloadReference(kind: WorkloadKind(rawValue: kind), name: name) }
}
