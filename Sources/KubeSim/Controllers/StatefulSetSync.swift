import DynamicJSON
import Foundation

/// The StatefulSet controller step: Pods `<name>-<ordinal>` with a claim per ordinal from
/// `volumeClaimTemplates` (kept when a Pod is replaced), OrderedReady (one at a time, in order,
/// each Running and Ready before the next; scale-down from the highest ordinal) or Parallel,
/// and RollingUpdate from the highest ordinal down to `partition`, one Pod at a time.
extension StoreState {
    mutating func syncStatefulSet(_ key: ObjectKey) -> TimeInterval? {
        guard let sts = tables[Self.statefulSetsGR]?[key], sts["metadata"]?["deletionTimestamp"] == nil,
              let uid = sts["metadata"]?["uid"]?.stringValue else { return nil }
        let spec = sts["spec"] ?? [:]
        let replicas = Int(spec["replicas"]?.intValue ?? 1)
        let parallel = spec["podManagementPolicy"]?.stringValue == "Parallel"
        let updateRevision = "\(key.name)-\(Self.templateHash(spec["template"]))"
        var byOrdinal: [Int: JSONValue] = [:]
        for pod in controlled(Self.podsGR, by: uid) {
            let name = pod["metadata"]?["name"]?.stringValue ?? ""
            if let dash = name.lastIndex(of: "-"), name[..<dash] == key.name, let i = Int(name[name.index(after: dash)...]) { byOrdinal[i] = pod }
        }
        func healthy(_ pod: JSONValue) -> Bool {
            pod["metadata"]?["deletionTimestamp"] == nil && pod["status"]?["phase"]?.stringValue == "Running" && Self.podReady(pod)
        }
        func revision(_ pod: JSONValue) -> String? { pod["metadata"]?["labels"]?["controller-revision-hash"]?.stringValue }
        let terminating = byOrdinal.values.contains { $0["metadata"]?["deletionTimestamp"] != nil }

        // Create missing ordinals (and replace failed Pods) in order.
        for i in 0..<replicas {
            if let pod = byOrdinal[i] {
                if pod["status"]?["phase"]?.stringValue == "Failed", pod["metadata"]?["deletionTimestamp"] == nil {
                    deletePod(pod)
                    if !parallel { break }
                }
                if !parallel && !healthy(pod) { break }
                continue
            }
            if !parallel && terminating { break }
            for claim in Self.claimNames(sts, ordinal: i) { ensureClaim(claim.template, name: claim.name, sts: sts) }
            if let pod = createStatefulPod(sts, ordinal: i, revision: updateRevision) {
                byOrdinal[i] = pod
                recordEvent(about: sts, type: "Normal", reason: "SuccessfulCreate",
                            message: "create Pod \(key.name)-\(i) in StatefulSet \(key.name) successful", component: "statefulset-controller")
            }
            if !parallel { break }
        }
        let wanted = (0..<replicas).compactMap { byOrdinal[$0] }
        let allHealthy = wanted.count == replicas && wanted.allSatisfy(healthy)
        // Scale down from the highest ordinal.
        let condemned = byOrdinal.keys.filter { $0 >= replicas }.sorted(by: >)
        for i in condemned where byOrdinal[i]?["metadata"]?["deletionTimestamp"] == nil {
            if !parallel && (!allHealthy || terminating) { break }
            deletePod(byOrdinal[i]!)
            recordEvent(about: sts, type: "Normal", reason: "SuccessfulDelete",
                        message: "delete Pod \(key.name)-\(i) in StatefulSet \(key.name) successful", component: "statefulset-controller")
            if !parallel { break }
        }
        // Rolling update: replace the highest outdated ordinal once every Pod is healthy.
        if spec["updateStrategy"]?["type"]?.stringValue != "OnDelete", allHealthy, !terminating, condemned.isEmpty {
            let partition = Int(spec["updateStrategy"]?["rollingUpdate"]?["partition"]?.intValue ?? 0)
            if let i = (partition..<max(partition, replicas)).reversed().first(where: { revision(byOrdinal[$0]!) != updateRevision }) {
                deletePod(byOrdinal[i]!)
            }
        }
        let live = byOrdinal.values.filter { $0["metadata"]?["deletionTimestamp"] == nil }
        let minReady = spec["minReadySeconds"]?.intValue ?? 0
        let waits = live.compactMap { availableIn($0, minReady: minReady) }
        let updated = live.filter { revision($0) == updateRevision }.count
        let oldCurrent = sts["status"]?["currentRevision"]?.stringValue
        let currentRevision = updated == replicas && live.count == replicas ? updateRevision : oldCurrent ?? updateRevision
        let generation = sts["metadata"]?["generation"]?.intValue ?? 1
        writeStatus(Self.statefulSetsGR, key, manager: "kube-controller-manager") { s in
            s["observedGeneration"] = .int(generation)
            s["replicas"] = .int(Int64(live.count))
            s["readyReplicas"] = .int(Int64(live.filter(Self.podReady).count))
            s["availableReplicas"] = .int(Int64(waits.filter { $0 == 0 }.count))
            s["currentReplicas"] = .int(Int64(live.filter { revision($0) == currentRevision }.count))
            s["updatedReplicas"] = .int(Int64(updated))
            s["currentRevision"] = .string(currentRevision)
            s["updateRevision"] = .string(updateRevision)
            s["collisionCount"] = 0
        }
        return waits.filter { $0 > 0 }.min()
    }

    /// `<template>-<statefulset>-<ordinal>` for each volume claim template.
    static func claimNames(_ sts: JSONValue, ordinal: Int) -> [(template: JSONValue, name: String)] {
        let name = sts["metadata"]?["name"]?.stringValue ?? ""
        return (sts["spec"]?["volumeClaimTemplates"]?.arrayValue ?? []).map {
            ($0, "\($0["metadata"]?["name"]?.stringValue ?? "data")-\(name)-\(ordinal)")
        }
    }

    private mutating func ensureClaim(_ template: JSONValue, name: String, sts: JSONValue) {
        let ns = sts["metadata"]?["namespace"]?.stringValue ?? ""
        guard tables[Self.pvcGR]?[ObjectKey(namespace: ns, name: name)] == nil, let type = registry.storageType(Self.pvcGR) else { return }
        var labels = template["metadata"]?["labels"]?.objectValue ?? [:]
        for (k, v) in sts["spec"]?["selector"]?["matchLabels"]?.objectValue ?? [:] { labels[k] = v }
        let body: JSONValue = ["apiVersion": "v1", "kind": "PersistentVolumeClaim",
                               "metadata": ["name": .string(name), "namespace": .string(ns), "labels": .object(labels)],
                               "spec": template["spec"] ?? [:]]
        if (try? create(type, namespace: ns, body: body, options: WriteOptions(fieldManager: "kube-controller-manager"))) != nil {
            let stsName = sts["metadata"]?["name"]?.stringValue ?? ""
            recordEvent(about: sts, type: "Normal", reason: "SuccessfulCreate",
                        message: "create Claim \(name) Pod \(stsName)-\(name.split(separator: "-").last ?? "") in StatefulSet \(stsName) success",
                        component: "statefulset-controller")
        }
    }

    private mutating func createStatefulPod(_ sts: JSONValue, ordinal: Int, revision: String) -> JSONValue? {
        let name = sts["metadata"]?["name"]?.stringValue ?? ""
        let podName = "\(name)-\(ordinal)"
        let claims = Self.claimNames(sts, ordinal: ordinal)
        return createPod(from: sts["spec"]?["template"] ?? [:], namespace: sts["metadata"]?["namespace"]?.stringValue ?? "",
                         name: podName, generateName: nil,
                         extraLabels: ["controller-revision-hash": .string(revision), "statefulset.kubernetes.io/pod-name": .string(podName),
                                       "apps.kubernetes.io/pod-index": .string(String(ordinal))],
                         owner: sts, ownerKind: "StatefulSet") { pod in
            pod[path: ["spec", "hostname"]] = .string(podName)
            if let service = sts["spec"]?["serviceName"]?.stringValue, !service.isEmpty { pod[path: ["spec", "subdomain"]] = .string(service) }
            var volumes = pod["spec"]?["volumes"]?.arrayValue ?? []
            for claim in claims {
                let volume = claim.template["metadata"]?["name"]?.stringValue ?? "data"
                volumes.removeAll { $0["name"]?.stringValue == volume }
                volumes.append(["name": .string(volume), "persistentVolumeClaim": ["claimName": .string(claim.name)]])
            }
            if !volumes.isEmpty { pod[path: ["spec", "volumes"]] = .array(volumes) }
        }
    }
}
