import DynamicJSON
import Foundation

/// The Job controller part of the runner (§Q): one Pod per needed completion, exit codes →
/// Pod phases → Job counters and the 1.32 condition sequence, `backoffLimit`,
/// `activeDeadlineSeconds`, `ttlSecondsAfterFinished`. Runs under the store lock; Pods it
/// deletes stop through the kubelet's graceful deletion.
struct JobStep: Sendable {
    /// Reconcile again after this many seconds (deadline, retry delay, TTL).
    var recheckAfter: TimeInterval?
}

extension StoreState {
    static let jobsGR = GroupResource(group: "batch", resource: "jobs")
    static let podsGR = GroupResource(group: "", resource: "pods")

    private func condition(_ job: JSONValue, _ type: String) -> Bool {
        (job["status"]?["conditions"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" }
    }

    /// The Pods a Job controls (by ownerReference uid).
    func jobPods(_ job: JSONValue) -> [JSONValue] {
        guard let uid = job["metadata"]?["uid"]?.stringValue else { return [] }
        return (dependents[uid] ?? []).filter { $0.resource == Self.podsGR }.compactMap { tables[Self.podsGR]?[$0.key] }
            .sorted { ($0["metadata"]?["creationTimestamp"]?.stringValue ?? "") < ($1["metadata"]?["creationTimestamp"]?.stringValue ?? "") }
    }

    static func isActive(_ pod: JSONValue) -> Bool {
        let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        return (phase == "Pending" || phase == "Running") && pod["metadata"]?["deletionTimestamp"] == nil
    }

    mutating func reconcileJob(_ key: ObjectKey, retryDelay: TimeInterval) -> JobStep {
        var step = JobStep()
        guard let job = tables[Self.jobsGR]?[key], job["metadata"]?["deletionTimestamp"] == nil,
              let jobType = registry.storageType(Self.jobsGR) else { return step }
        let pods = jobPods(job)
        let active = pods.filter(Self.isActive)
        let now = clock.now
        if condition(job, "Complete") || condition(job, "Failed") {
            deletePods(active, namespace: key.namespace)
            if let ttl = job["spec"]?["ttlSecondsAfterFinished"]?.intValue,
               let done = (job["status"]?["completionTime"] ?? (job["status"]?["conditions"]?.arrayValue ?? []).last?["lastTransitionTime"])?.stringValue.flatMap(Timestamp.parse)
            {
                let left = done.addingTimeInterval(TimeInterval(ttl)).timeIntervalSince(now)
                if left <= 0 {
                    _ = try? delete(jobType, namespace: key.namespace, name: key.name, options: DeleteOptions(propagation: .background))
                } else {
                    step.recheckAfter = left
                }
            }
            return step
        }
        if job["spec"]?["suspend"]?.boolValue == true { return step }

        let spec = job["spec"] ?? [:]
        let completions = spec["completions"]?.intValue ?? 1
        let parallelism = spec["parallelism"]?.intValue ?? 1
        let backoffLimit = spec["backoffLimit"]?.intValue ?? 6
        let succeeded = Int64(pods.filter { $0["status"]?["phase"]?.stringValue == "Succeeded" }.count)
        let failedPods = pods.filter { $0["status"]?["phase"]?.stringValue == "Failed" }
        let restarts = active.reduce(Int64(0)) { $0 + ($1["status"]?["containerStatuses"]?[0]?["restartCount"]?.intValue ?? 0) }
        let failed = Int64(failedPods.count)
        let ready = Int64(active.filter { $0["status"]?["phase"]?.stringValue == "Running" }.count)
        let startTime = job["status"]?["startTime"]?.stringValue.flatMap(Timestamp.parse)

        var terminal: (reason: String, message: String, success: Bool)?
        if succeeded >= completions {
            terminal = ("CompletionsReached", "Reached expected number of succeeded pods", true)
        } else if failed + restarts > backoffLimit {
            terminal = ("BackoffLimitExceeded", "Job has reached the specified backoff limit", false)
        } else if let deadline = spec["activeDeadlineSeconds"]?.intValue, let startTime {
            let left = startTime.addingTimeInterval(TimeInterval(deadline)).timeIntervalSince(now)
            if left <= 0 {
                terminal = ("DeadlineExceeded", "Job was active longer than specified deadline", false)
            } else {
                step.recheckAfter = left
            }
        }
        let time = JSONValue.string(Timestamp.format(now))
        func writeStatus(_ edit: (inout JSONValue) -> Void) {
            _ = try? update(jobType, namespace: key.namespace, name: key.name, subresource: .status,
                            options: WriteOptions(fieldManager: "job-controller")) { old in
                var o = old!
                var status = o["status"] ?? [:]
                edit(&status)
                o["status"] = status
                return o
            }
        }
        func counters(_ s: inout JSONValue, active: Int64, ready: Int64) {
            s["active"] = active > 0 ? .int(active) : nil
            s["ready"] = .int(ready)
            s["terminating"] = 0
            s["succeeded"] = succeeded > 0 ? .int(succeeded) : nil
            s["failed"] = failed > 0 ? .int(failed) : nil
            s["uncountedTerminatedPods"] = [:]
            if s["startTime"] == nil { s["startTime"] = time }
        }
        func addCondition(_ s: inout JSONValue, _ type: String, _ reason: String, _ message: String) {
            var list = s["conditions"]?.arrayValue ?? []
            list.append(["type": .string(type), "status": "True", "reason": .string(reason), "message": .string(message),
                         "lastProbeTime": time, "lastTransitionTime": time])
            s["conditions"] = .array(list)
        }
        if let terminal {
            // Stop what still runs; it no longer counts as active.
            deletePods(active, namespace: key.namespace)
            recordEvent(about: job, type: terminal.success ? "Normal" : "Warning",
                        reason: terminal.success ? "Completed" : terminal.reason,
                        message: terminal.success ? "Job completed" : terminal.message, component: "job-controller")
            if terminal.success {
                writeStatus { s in
                    counters(&s, active: 0, ready: 0)
                    addCondition(&s, "SuccessCriteriaMet", terminal.reason, terminal.message)
                }
                writeStatus { s in
                    addCondition(&s, "Complete", terminal.reason, terminal.message)
                    s["completionTime"] = time
                }
            } else {
                writeStatus { s in
                    counters(&s, active: 0, ready: 0)
                    addCondition(&s, "FailureTarget", terminal.reason, terminal.message)
                }
                writeStatus { s in addCondition(&s, "Failed", terminal.reason, terminal.message) }
            }
            if job["spec"]?["ttlSecondsAfterFinished"] != nil { step.recheckAfter = 0.05 }
            return step
        }

        var newActive = Int64(active.count)
        let want = min(parallelism, completions - succeeded) - newActive
        if want > 0 {
            let lastFailure = failedPods.compactMap { $0["status"]?["containerStatuses"]?[0]?["state"]?["terminated"]?["finishedAt"]?.stringValue.flatMap(Timestamp.parse) }.max()
            let wait = lastFailure.map { $0.addingTimeInterval(retryDelay).timeIntervalSince(now) } ?? 0
            if wait > 0 {
                step.recheckAfter = min(step.recheckAfter ?? wait, wait)
            } else {
                for _ in 0..<want {
                    if let pod = createJobPod(job) {
                        newActive += 1
                        recordEvent(about: job, type: "Normal", reason: "SuccessfulCreate",
                                    message: "Created pod: \(pod["metadata"]?["name"]?.stringValue ?? "")", component: "job-controller")
                    }
                }
            }
        }
        writeStatus { s in counters(&s, active: newActive, ready: ready) }
        return step
    }

    private mutating func deletePods(_ pods: [JSONValue], namespace: String) {
        guard let podType = registry.storageType(Self.podsGR) else { return }
        for pod in pods {
            if let name = pod["metadata"]?["name"]?.stringValue {
                _ = try? delete(podType, namespace: namespace, name: name, options: DeleteOptions())
            }
        }
    }

    private mutating func createJobPod(_ job: JSONValue) -> JSONValue? {
        guard let podType = registry.storageType(Self.podsGR) else { return nil }
        let meta = job["metadata"] ?? [:]
        let name = meta["name"]?.stringValue ?? "job"
        let template = job["spec"]?["template"] ?? [:]
        var podMeta: JSONValue = ["generateName": .string("\(name)-"), "namespace": meta["namespace"] ?? "default",
                                  "labels": template["metadata"]?["labels"] ?? [:],
                                  "ownerReferences": [["apiVersion": "batch/v1", "kind": "Job", "name": .string(name),
                                                       "uid": meta["uid"] ?? "", "controller": true, "blockOwnerDeletion": true]]]
        if let annotations = template["metadata"]?["annotations"] { podMeta["annotations"] = annotations }
        var podSpec = template["spec"] ?? [:]
        podSpec["nodeName"] = .string(Kubelet.nodeName)
        let body: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": podMeta, "spec": podSpec]
        return try? create(podType, namespace: meta["namespace"]?.stringValue, body: body,
                           options: WriteOptions(fieldManager: "job-controller")).object
    }
}

extension StoreState {
    /// Posts a core/v1 Event about `object`, as the simulated controllers' recorder.
    mutating func recordEvent(about object: JSONValue, type: String, reason: String, message: String, component: String) {
        guard let eventType = registry.lookup(group: "", version: "v1", resource: "events") else { return }
        let meta = object["metadata"] ?? [:]
        let now = JSONValue.string(Timestamp.format(clock.now))
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string("\(meta["name"]?.stringValue ?? "object").\(suffix)"), "namespace": meta["namespace"] ?? "default"],
            "involvedObject": ["apiVersion": object["apiVersion"] ?? "", "kind": object["kind"] ?? "", "name": meta["name"] ?? "",
                               "namespace": meta["namespace"] ?? "", "uid": meta["uid"] ?? "", "resourceVersion": meta["resourceVersion"] ?? ""],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": .string(component)], "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": .string(component), "reportingInstance": "",
        ]
        _ = try? create(eventType, namespace: meta["namespace"]?.stringValue, body: event, options: WriteOptions(fieldManager: component))
    }
}
