import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging

/// What a running rotation reads (the Secrets by GET, never cached; workloads by LIST) and
/// what it does. Secret values are compared and copied here and go nowhere else: not into
/// the planner's input, status, an Event or a log line.
extension RotationReconciler {
    static let workloadKinds: [WorkloadKind] = [.deployment, .statefulSet, .daemonSet]

    func secrets(_ namespace: String) -> ResourceClient<Secret> { client.resource(Secret.self, namespace: namespace) }

    /// Which of the Secrets the spec names exist, with which keys; `target` is the rotated Secret as read.
    func inputSecrets(_ rotation: SecretRotation) async throws -> (RotationSecrets, target: Secret?) {
        let spec = rotation.spec
        let api = secrets(rotation.metadata.namespace ?? "")
        let target = try await api.getIfExists(spec.secretRef.name)
        var seen = RotationSecrets(targetKeys: target.map { Set(($0.data ?? [:]).keys) })
        for name in Set(spec.keys.compactMap(\.from?.name)) {
            if let staged = try await api.getIfExists(name) { seen.staged[name] = Set((staged.data ?? [:]).keys) }
        }
        if let (admin, _, _) = RotationPlanner.source(spec) {
            seen.adminKeys = try await api.getIfExists(admin.name).map { Set(($0.data ?? [:]).keys) }
        }
        return (seen, target)
    }

    func gather(_ rotation: SecretRotation, status: SecretRotationStatus, now: Date) async throws -> RotationObserved {
        let ns = rotation.metadata.namespace ?? ""
        let spec = rotation.spec
        let api = secrets(ns)
        let inputs = try await inputSecrets(rotation)
        var seen = inputs.0
        let target = inputs.target
        if let pending = try await api.getIfExists(planner.pendingName(rotation, status)) {
            seen.pendingExists = true
            let keys = RotationPlanner.rotatedKeys(spec)
            seen.targetHoldsNew = RotationValues.holds(target?.data ?? [:], pending: pending.data ?? [:], keys: keys, new: true)
            seen.targetHoldsOld = RotationValues.holds(target?.data ?? [:], pending: pending.data ?? [:], keys: keys, new: false)
        }

        // Workloads: every one in the namespace, once; discovery and rollout state from the same LIST.
        let helper = Workloads(client: client, namespace: ns)
        var discovered: [WorkloadReference] = []
        var objects: [String: JSONValue] = [:]
        for kind in Self.workloadKinds {
            for object in try await helper.list(kind) {
                guard let name = object["metadata"]?["name"]?.stringValue else { continue }
                let ref = WorkloadReference(kind: kind, name: name)
                objects[ref.key] = object
                if RotationValues.references(podSpec: object[path: ["spec", "template", "spec"]] ?? [:], secret: spec.secretRef.name) {
                    discovered.append(ref)
                }
            }
        }
        var consumers: [String: ConsumerObservation] = [:]
        for (key, object) in objects {
            var rollout = RolloutState.rollout(object)
            let restarted = status.consumers?.contains { $0.key == key && $0.restartedAt != nil } ?? false
            if restarted, case .progressing(let text) = rollout {
                // Only restarted consumers that are not ready cost a pod LIST: say why they are not.
                let problems = RolloutState.podProblems(try await helper.pods(ofWorkload: object))
                if !problems.isEmpty { rollout = .stalled(text + "; " + problems.joined(separator: ", ")) }
            }
            let annotation = object[path: ["spec", "template", "metadata", "annotations", Workloads.restartedAtAnnotation]]?.stringValue
            consumers[key] = ConsumerObservation(restartedAt: annotation, rollout: rollout)
        }

        var byStep: [RotationStep: Job] = [:]
        var results: [String: AgentResult] = [:]
        let uid = rotation.metadata.uid ?? ""
        let owned = jobs.cache.list(namespace: ns, labels: [BackstopLabels.rotation: rotation.metadata.name ?? ""])
            .filter { $0.metadata.ownerReferences?.contains { $0.uid == uid } ?? false }
        let podList = pods.cache.list(namespace: ns, labels: [BackstopLabels.rotation: rotation.metadata.name ?? ""])
        for step in RotationStep.allCases {
            guard let name = planner.jobName(step, rotation, status), let job = owned.first(where: { $0.metadata.name == name }) else { continue }
            byStep[step] = job
            if job.isFinished, let result = AgentResultReader.result(of: job, pods: podList, now: now, grace: 30) { results[name] = result }
        }
        var observed = RotationObserved(rotation: rotation, secrets: seen, discovered: discovered.sorted { $0.key < $1.key },
                                        consumers: consumers, jobs: byStep, results: results, now: now)
        // Until Validate has passed, ask the API server itself: two rotations of one Secret that
        // start within the informers' lag must still see each other's run (both wrote it first).
        let validated = status.steps?.contains { $0.name == RotationStep.validate.rawValue && $0.phase == .succeeded } ?? false
        let others = validated ? rotations.cache.list(namespace: rotation.metadata.namespace)
            : try await client.resource(SecretRotation.self, namespace: rotation.metadata.namespace).listAll().items
        observed.blockedBy = earlierRotation(of: rotation, among: others)
        return observed
    }

    /// Another SecretRotation of the same Secret with a run in progress that started first
    /// (or, at the same instant, sorts first by name): this one waits. Every run is in status
    /// before its Validate, and Validate reads the API, so of two overlapping runs exactly one
    /// goes on.
    func earlierRotation(of rotation: SecretRotation, among others: [SecretRotation]) -> String? {
        guard let mine = rotation.status?.run?.startedAt.date else { return nil }
        return others
            .filter { other in
                guard other.metadata.uid != rotation.metadata.uid, other.spec.secretRef.name == rotation.spec.secretRef.name,
                      let run = other.status?.run, run.finishedAt == nil else { return false }
                return (run.startedAt.date, other.metadata.name ?? "") < (mine, rotation.metadata.name ?? "")
            }
            .first?.metadata.name
    }

    func perform(_ actions: [RotationAction], rotation: SecretRotation, status: SecretRotationStatus, logger: Logger) async throws {
        let ns = rotation.metadata.namespace ?? ""
        let api = secrets(ns)
        let pendingName = planner.pendingName(rotation, status)
        let keys = RotationPlanner.rotatedKeys(rotation.spec)
        for action in actions {
            switch action {
            case .createPending:
                try await createPending(rotation, name: pendingName, login: RotationPlanner.datedRole(rotation.spec, status), api)
            case .createJob(let job):
                try await ChildJobs(client: client, namespace: ns).createOrAdopt(job, logger: logger)
            case .updateTarget:
                let pending = try await api.get(pendingName).data ?? [:]
                let data = RotationValues.updatePatch(pending: pending, keys: keys, keepPrevious: rotation.spec.keepPrevious ?? true)
                _ = try await api.patch(rotation.spec.secretRef.name, .merge(["data": .object(data)]))
                logger.info("updated the target Secret", metadata: ["secret": "\(rotation.spec.secretRef.name)", "keys": "\(keys)"])
            case .restoreTarget:
                let pending = try await api.get(pendingName).data ?? [:]
                _ = try await api.patch(rotation.spec.secretRef.name, .merge(["data": .object(RotationValues.restorePatch(pending: pending, keys: keys))]))
                logger.info("restored the target Secret", metadata: ["secret": "\(rotation.spec.secretRef.name)"])
            case .restart(let ref, let at):
                logger.info("rollout restart", metadata: ["workload": "\(ref.key)", "at": "\(at.rfc3339)"])
                try await Workloads(client: client, namespace: ns).restartRollout(ref, at: at)
            case .dropPrevious:
                let drop = Dictionary(uniqueKeysWithValues: keys.map { ("\($0).previous", JSONValue.null) })
                _ = try await api.patch(rotation.spec.secretRef.name, .merge(["data": .object(drop)]))
                logger.info("dropped the previous values (keepPrevious: false)", metadata: ["secret": "\(rotation.spec.secretRef.name)"])
            case .deletePending:
                do { _ = try await api.delete(pendingName) } catch {
                    if error.kind != .notFound { throw error }
                }
            }
        }
    }

    /// The run's new values and the target's current ones, in a Secret owned by the rotation.
    /// Create-only: after a crash the existing one (the values possibly applied already) wins.
    /// `login`: the dated role's name, the new value of the username key.
    func createPending(_ rotation: SecretRotation, name: String, login: String?, _ api: ResourceClient<Secret>) async throws {
        let target = try await api.get(rotation.spec.secretRef.name).data ?? [:]
        var newValues: [String: String] = [:]
        var rng = SystemRandomNumberGenerator()
        for k in rotation.spec.keys {
            if let from = k.from {
                guard let value = try await api.get(from.name).data?[from.key] else {
                    throw RotationInputError("Secret \(from.name) has no key \(from.key)")
                }
                newValues[k.key] = value
            } else {
                newValues[k.key] = Data(RotationValues.generate(k.generate ?? GenerateSpec(), using: &rng).utf8).base64EncodedString()
            }
        }
        if let login, let key = rotation.spec.apply?.postgres?.usernameKey { newValues[key] = Data(login.utf8).base64EncodedString() }
        var meta = ObjectMeta(name: name, namespace: rotation.metadata.namespace,
                              labels: [BackstopLabels.rotation: rotation.metadata.name ?? "", BackstopLabels.managedBy: "backstop"])
        meta.ownerReferences = [ChildOwner(rotation).reference]
        do {
            _ = try await api.create(Secret(metadata: meta, data: RotationValues.pendingData(target: target, newValues: newValues), type: "Opaque"))
        } catch {
            if error.kind != .alreadyExists { throw error }
        }
    }
}

/// A Secret changed between Validate and Generate; the next reconcile's Validate names it.
struct RotationInputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
