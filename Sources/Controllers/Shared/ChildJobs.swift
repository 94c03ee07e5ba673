import DynamicJSON
import KubeClient
import KubeModel
import KubeRuntime
import Logging

extension Controller {
    /// The Pods of an owner's agent Jobs wake the owner: a Pod names it by `ownerLabel` (its
    /// owner reference is the Job, not the owner), and its termination message is the result.
    func watchesAgentPods(_ pods: Informer<Pod>, ownerLabel: String) {
        watches(pods) { pod in
            guard let owner = pod.metadata.labels?[ownerLabel] else { return [] }
            return [ObjectKey(namespace: pod.metadata.namespace, name: owner)]
        }
    }
}

/// The writes every controller makes to its Jobs, each safe to repeat: create-or-adopt (a
/// deterministic name that exists already is ours: adopt it), delete with a UID precondition
/// (never a newer Job that reused the name), and the `recorded` mark.
public struct ChildJobs: Sendable {
    let api: ResourceClient<Job>

    public init(client: KubeClient, namespace: String) {
        api = client.resource(Job.self, namespace: namespace)
    }

    /// Creates `job`; AlreadyExists means this slot's or step's Job was created before
    /// (operator restart, stale cache): it is adopted. Returns true when adopted.
    @discardableResult
    public func createOrAdopt(_ job: Job, logger: Logger) async throws(KubeError) -> Bool {
        var adopted = false
        do {
            try await api.createReturningMetadata(job)
        } catch {
            if error.kind != .alreadyExists { throw error }
            adopted = true
        }
        logger.info(adopted ? "adopted existing Job" : "created Job", metadata: ["job": .string(job.metadata.name ?? "")])
        return adopted
    }

    /// Deletes the Job and (background propagation) its Pods, only if it still has `uid`.
    public func delete(_ name: String, uid: String?) async throws(KubeError) {
        let options = DeleteOptions(propagationPolicy: .background, preconditionUID: uid)
        do {
            _ = try await api.delete(name, options: options)
        } catch {
            // Gone already, or another Job now has this name: nothing of ours to delete.
            if error.kind != .notFound && error.kind != .conflict { throw error }
        }
    }

    /// Annotates a finished Job as recorded in its owner's status (after that status write).
    public func markRecorded(_ name: String) async throws(KubeError) {
        let patch: JSONValue = ["metadata": ["annotations": [BackstopLabels.recorded: "true"]]]
        do {
            _ = try await api.patch(name, .merge(patch))
        } catch {
            // Deleted meanwhile (history trimming, GC): nothing to mark.
            if error.kind != .notFound { throw error }
        }
    }
}

/// A planner's decision about one of its Jobs; `ChildJobs.perform` carries them out.
public enum ChildJobAction: Sendable, Hashable {
    /// Create the Job (AlreadyExists means it is ours already: adopt it).
    case createJob(Job)
    /// Delete a Job (history trimming, `concurrencyPolicy: Replace`), with its Pods.
    case deleteJob(name: String, uid: String?)
    /// Annotate a finished Job as recorded in status, after the status write.
    case markRecorded(name: String)
}

extension ChildJobs {
    /// Creates and deletes first, then `writeStatus`, then the `recorded` marks: a mark never
    /// lands before the result it stands for is durable in status.
    public func perform(_ actions: [ChildJobAction], logger: Logger, writeStatus: () async throws -> Void) async throws {
        for action in actions {
            switch action {
            case .createJob(let job): try await createOrAdopt(job, logger: logger)
            case .deleteJob(let name, let uid): try await delete(name, uid: uid)
            case .markRecorded: break
            }
        }
        try await writeStatus()
        for action in actions {
            if case .markRecorded(let name) = action { try await markRecorded(name) }
        }
    }
}
