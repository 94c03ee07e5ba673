import DynamicJSON
import Foundation
import Synchronization

/// Runs Jobs: the Job controller step under the store lock (`reconcileJob`), then each new Pod's
/// containers as local processes. Processes start on a dedicated dispatch queue and report
/// their exit through `Process.terminationHandler` (a Foundation thread); nothing waits on the
/// cooperative pool or an event loop.
final class JobRunner: Sendable {
    let store: Store
    let clock: SimClock
    let dataDirectory: URL
    let podLogs: PodLogs
    let config: JobRunnerConfig
    private let queue = DispatchQueue(label: "kube-sim.job-runner")
    /// Pod uid → its running process.
    private let running = Mutex<[String: ProcessBox]>([:])
    private let stopped = Atomic<Bool>(false)

    final class ProcessBox: @unchecked Sendable {
        let process: Process
        init(_ p: Process) { process = p }
    }

    init(store: Store, clock: SimClock, dataDirectory: URL, podLogs: PodLogs, config: JobRunnerConfig) {
        self.store = store
        self.clock = clock
        self.dataDirectory = dataDirectory
        self.podLogs = podLogs
        self.config = config
    }

    func resync() {
        let keys = store.read { $0.sortedKeys(StoreState.jobsGR) }
        for key in keys { reconcile(key) }
    }

    func handle(_ event: StoreEvent) {
        if event.resource == StoreState.jobsGR {
            if event.type == .deleted { return }
            reconcile(StoreState.key(of: event.object))
        } else if event.resource == StoreState.podsGR {
            let uid = event.object["metadata"]?["uid"]?.stringValue ?? ""
            if event.type == .deleted || event.object["metadata"]?["deletionTimestamp"] != nil { kill(uid) }
            for owner in event.object["metadata"]?["ownerReferences"]?.arrayValue ?? [] where owner["kind"]?.stringValue == "Job" {
                if let name = owner["name"]?.stringValue {
                    reconcile(ObjectKey(namespace: event.namespace, name: name))
                }
            }
        }
    }

    func reconcile(_ key: ObjectKey) {
        guard !stopped.load(ordering: .relaxed) else { return }
        let retryDelay = config.retryDelay
        var step = JobStep()
        var launches: [LaunchSpec] = []
        let env = config.environment
        store.withStateQuiet { s in
            step = s.reconcileJob(key, retryDelay: retryDelay)
            launches = step.launches.map { s.launchSpec(pod: $0, dataDirectory: dataDirectory, config: config, extraEnv: env) }
        }
        for uid in step.kills { kill(uid) }
        for spec in launches { queue.async { self.launch(spec, stepIndex: 0, restartCount: 0) } }
        if let after = step.recheckAfter {
            queue.asyncAfter(deadline: .now() + max(0.01, after)) { self.reconcile(key) }
        }
    }

    // MARK: - Processes

    private func launch(_ spec: LaunchSpec, stepIndex: Int, restartCount: Int64) {
        guard !stopped.load(ordering: .relaxed), stepIndex < spec.steps.count else { return }
        let fm = FileManager.default
        for dir in spec.directories { try? fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (url, data) in spec.filesToWrite {
            try? fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? data.write(to: url)
        }
        let step = spec.steps[stepIndex]
        if !fm.fileExists(atPath: step.logFile.path) { _ = fm.createFile(atPath: step.logFile.path, contents: nil) }
        podLogs.register(podUID: spec.podUID, container: step.name, file: step.logFile)
        if let error = step.startError {
            appendLog(step.logFile, "kube-sim: \(error)\n")
            finished(spec, stepIndex: stepIndex, exitCode: 128, reason: "ContainerCannotRun", message: error, restartCount: restartCount)
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = step.argv
        process.environment = step.env
        process.currentDirectoryURL = step.workingDir
        try? fm.createDirectory(at: step.workingDir, withIntermediateDirectories: true)
        guard let log = try? FileHandle(forWritingTo: step.logFile) else { return }
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        process.terminationHandler = { [self] p in
            try? log.close()
            let code = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
            running.withLock { _ = $0.removeValue(forKey: spec.podUID) }
            queue.async {
                self.finished(spec, stepIndex: stepIndex, exitCode: code, reason: code == 0 ? "Completed" : "Error",
                              message: nil, restartCount: restartCount)
            }
        }
        if stepIndex == spec.steps.count - 1 || stepIndex == 0 { markRunning(spec, step: step, restartCount: restartCount) }
        do {
            try process.run()
            running.withLock { $0[spec.podUID] = ProcessBox(process) }
        } catch {
            try? log.close()
            appendLog(step.logFile, "kube-sim: cannot start \(step.argv.first ?? ""): \(error)\n")
            finished(spec, stepIndex: stepIndex, exitCode: 127, reason: "ContainerCannotRun", message: "\(error)", restartCount: restartCount)
        }
    }

    private func appendLog(_ file: URL, _ text: String) {
        guard let h = try? FileHandle(forWritingTo: file) else { return }
        h.seekToEndOfFile()
        h.write(Data(text.utf8))
        try? h.close()
    }

    private func podStatusWrite(_ key: ObjectKey, _ edit: @escaping (inout JSONValue) -> Void) {
        store.withStateQuiet { s in
            guard let type = s.registry.storageType(StoreState.podsGR) else { return }
            _ = try? s.update(type, namespace: key.namespace, name: key.name, subresource: .status,
                              options: WriteOptions(fieldManager: "kubelet")) { old in
                var o = old!
                var status = o["status"] ?? [:]
                edit(&status)
                o["status"] = status
                return o
            }
        }
    }

    private func markRunning(_ spec: LaunchSpec, step: LaunchSpec.Step, restartCount: Int64) {
        let now = JSONValue.string(Timestamp.format(clock.now))
        podStatusWrite(spec.podKey) { s in
            s["phase"] = "Running"
            if s["startTime"] == nil { s["startTime"] = now }
            s["podIP"] = "127.0.0.1"
            s["hostIP"] = "127.0.0.1"
            s["conditions"] = .array(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
                ["type": .string($0), "status": "True", "lastProbeTime": .null, "lastTransitionTime": now]
            })
            var cs: JSONValue = ["name": .string(step.name), "ready": true, "started": true, "restartCount": .int(restartCount),
                                 "image": "", "imageID": "", "containerID": .string("kube-sim://\(spec.podUID)"),
                                 "state": ["running": ["startedAt": now]]]
            if let previous = s["containerStatuses"]?[0]?["state"]?["terminated"] { cs["lastState"] = ["terminated": previous] }
            s["containerStatuses"] = [cs]
        }
    }

    private func finished(_ spec: LaunchSpec, stepIndex: Int, exitCode: Int32, reason: String, message: String?, restartCount: Int64) {
        let step = spec.steps[stepIndex]
        if exitCode == 0, stepIndex + 1 < spec.steps.count {
            launch(spec, stepIndex: stepIndex + 1, restartCount: restartCount)
            return
        }
        var termMessage = message ?? (try? String(contentsOf: step.terminationMessageFile, encoding: .utf8)) ?? ""
        if termMessage.isEmpty, exitCode != 0, step.fallbackToLogs, let log = try? String(contentsOf: step.logFile, encoding: .utf8) {
            termMessage = String(log.split(separator: "\n", omittingEmptySubsequences: false).suffix(80).joined(separator: "\n").suffix(2048))
        }
        if termMessage.utf8.count > 4096 { termMessage = String(decoding: termMessage.utf8.prefix(4096), as: UTF8.self) }
        let now = JSONValue.string(Timestamp.format(clock.now))
        let restart = exitCode != 0 && spec.restartPolicy == "OnFailure"
        podStatusWrite(spec.podKey) { s in
            let started = s["containerStatuses"]?[0]?["state"]?["running"]?["startedAt"] ?? now
            var terminated: JSONValue = ["exitCode": .int(Int64(exitCode)), "reason": .string(reason), "startedAt": started,
                                         "finishedAt": now, "containerID": .string("kube-sim://\(spec.podUID)")]
            if !termMessage.isEmpty { terminated["message"] = .string(termMessage) }
            var cs: JSONValue = ["name": .string(step.name), "ready": false, "started": false, "image": "", "imageID": "",
                                 "containerID": .string("kube-sim://\(spec.podUID)")]
            if restart {
                cs["restartCount"] = .int(restartCount + 1)
                cs["state"] = ["waiting": ["reason": "CrashLoopBackOff", "message": "back-off restarting failed container"]]
                cs["lastState"] = ["terminated": terminated]
            } else {
                cs["restartCount"] = .int(restartCount)
                cs["state"] = ["terminated": terminated]
                s["phase"] = exitCode == 0 ? "Succeeded" : "Failed"
                s["conditions"] = .array(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
                    let ok = $0 == "PodScheduled" || $0 == "Initialized"
                    var c: JSONValue = ["type": .string($0), "status": ok ? "True" : "False", "lastProbeTime": .null, "lastTransitionTime": now]
                    if !ok { c["reason"] = "PodCompleted" }
                    return c
                })
            }
            s["containerStatuses"] = [cs]
        }
        if restart {
            queue.asyncAfter(deadline: .now() + config.retryDelay) { [self] in
                let alive = store.read { s in
                    s.tables[StoreState.podsGR]?[spec.podKey].map(StoreState.isActive) ?? false
                }
                if alive { launch(spec, stepIndex: 0, restartCount: restartCount + 1) }
            }
        }
    }

    /// Stops a Pod's process: SIGTERM, then SIGKILL after a short grace period.
    func kill(_ podUID: String) {
        guard let box = running.withLock({ $0[podUID] }) else { return }
        let p = box.process
        guard p.isRunning else { return }
        p.terminate()
        queue.asyncAfter(deadline: .now() + 2) {
            if p.isRunning { Foundation.kill(p.processIdentifier, SIGKILL) }
        }
    }

    func stopAll() {
        stopped.store(true, ordering: .relaxed)
        let all = running.withLock { Array($0.values) }
        for box in all where box.process.isRunning {
            box.process.terminate()
            Foundation.kill(box.process.processIdentifier, SIGKILL)
        }
    }
}
