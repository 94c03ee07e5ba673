import DynamicJSON
import Foundation
import KubeSim

/// What the simulator's store recorded about a fenced workload around one restore Job: read
/// from the history of Pods, Jobs and the workload, so a test shows the writer was stopped
/// instead of assuming it.
struct FenceHistory {
    /// The workload's Pods (by name) that still existed when the restore Job was created.
    var aliveAtRestoreStart: [String]
    /// The workload's Pods created between the restore Job's creation and its completion.
    var startedDuringRestore: [String]
    /// False when the history holds no Pod of the workload at all (the check would prove nothing).
    var sawWorkloadPods: Bool
    /// `spec.replicas` of the workload as it changed over time, e.g. `[2, 0, 2]`.
    var replicaChanges: [Int64]

    /// No Pod of the workload ran at any time while the restore Job ran.
    var absentDuringRestore: Bool { sawWorkloadPods && aliveAtRestoreStart.isEmpty && startedDuringRestore.isEmpty }

    /// `podLabel`: the label (key, value) the workload's Pods carry. `kind` is `Deployment` or `StatefulSet`.
    init(_ store: Store, restoreJob: String, kind: String = "Deployment", workload: String,
         podLabel: (key: String, value: String), namespace: String = "team") throws {
        let jobEvents = try store.history("batch/v1", "Job", namespace: namespace, name: restoreJob)
        let started = jobEvents.first { $0.type == .added }?.resourceVersion ?? 0
        // A Job that never finished counts as running to the end of the history.
        let finished = jobEvents.first { $0.object[path: ["status", "completionTime"]] != nil || Self.failed($0.object) }?.resourceVersion ?? .max
        let podEvents = try store.history("v1", "Pod", namespace: namespace, name: nil)
            .filter { $0.object[path: ["metadata", "labels", podLabel.key]]?.stringValue == podLabel.value }
        var lastBefore: [String: StoreEvent] = [:]
        for e in podEvents where e.resourceVersion <= started { lastBefore[e.object["metadata"]?["name"]?.stringValue ?? ""] = e }
        aliveAtRestoreStart = lastBefore.filter { $0.value.type != .deleted }.keys.sorted()
        startedDuringRestore = podEvents.filter { $0.type == .added && $0.resourceVersion > started && $0.resourceVersion < finished }
            .compactMap { $0.object["metadata"]?["name"]?.stringValue }
        sawWorkloadPods = !lastBefore.isEmpty && started > 0
        replicaChanges = try Self.replicaChanges(store, kind: kind, workload: workload, namespace: namespace)
    }

    static func replicaChanges(_ store: Store, kind: String = "Deployment", workload: String, namespace: String = "team") throws -> [Int64] {
        var changes: [Int64] = []
        for e in try store.history("apps/v1", kind, namespace: namespace, name: workload) {
            if let r = e.object[path: ["spec", "replicas"]]?.intValue, changes.last != r { changes.append(r) }
        }
        return changes
    }

    static func failed(_ job: JSONValue) -> Bool {
        (job[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == "Failed" && $0["status"]?.stringValue == "True"
        }
    }
}
