import DynamicJSON
import Foundation
import Synchronization

/// The simulated kubelet: runs every Pod on the simulator's node as local processes, one per
/// container, each in its own process group (so `sh -c` children stop with it). Init containers
/// run in order, then the app containers side by side; `restartPolicy` with CrashLoopBackOff;
/// startup/readiness/liveness probes; a loopback address per Pod; graceful deletion (SIGTERM,
/// grace period, SIGKILL, then the Pod leaves the store); Secret volumes refreshed on change.
///
/// All runtime state lives on one serial queue; processes report their exit through
/// `Process.terminationHandler`, probes run on a concurrent queue. Nothing blocks the
/// cooperative pool or an event loop.
final class Kubelet: Sendable {
    static let nodeName = "kube-sim"
    let store: Store
    let clock: SimClock
    let dataDirectory: URL
    let podLogs: PodLogs
    let config: JobRunnerConfig
    let options: KubeletOptions
    let queue = DispatchQueue(label: "kube-sim.kubelet")
    let probeQueue = DispatchQueue(label: "kube-sim.kubelet.probes", attributes: .concurrent)
    /// Pod uid → runtime; touched only on `queue`.
    let table = Confined<[String: PodRun]>([:])
    let stopped = Atomic<Bool>(false)

    init(store: Store, clock: SimClock, dataDirectory: URL, podLogs: PodLogs, config: JobRunnerConfig, options: KubeletOptions) {
        self.store = store
        self.clock = clock
        self.dataDirectory = dataDirectory
        self.podLogs = podLogs
        self.config = config
        self.options = options
    }

    var active: Bool { !stopped.load(ordering: .relaxed) }

    // MARK: - Events

    func resync() {
        let pods = store.read { s in s.sortedKeys(StoreState.podsGR).compactMap { s.tables[StoreState.podsGR]?[$0] } }
        queue.async { for pod in pods { self.podChanged(pod) } }
    }

    func handle(_ event: StoreEvent) {
        if event.resource == StoreState.podsGR {
            queue.async {
                if event.type == .deleted { self.podRemoved(event.object) } else if event.type != .bookmark { self.podChanged(event.object) }
            }
        } else if event.resource == StoreState.secretsGR || event.resource == StoreState.configMapsGR, event.type == .modified {
            let name = event.object["metadata"]?["name"]?.stringValue ?? ""
            queue.async { self.refreshVolumes(namespace: event.namespace, source: event.resource, name: name) }
        }
    }

    private func podChanged(_ pod: JSONValue) {
        guard active, let uid = pod["metadata"]?["uid"]?.stringValue else { return }
        let node = pod["spec"]?["nodeName"]?.stringValue ?? ""
        guard node.isEmpty || node == Self.nodeName else { return }
        let run = table.value[uid]
        if pod["metadata"]?["deletionTimestamp"] != nil {
            if let run {
                if !run.terminating { terminate(run, grace: TimeInterval(pod["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 30)) }
            } else if (pod["metadata"]?["deletionGracePeriodSeconds"]?.intValue ?? 0) > 0 {
                finishDeletion(StoreState.key(of: pod))
            }
            return
        }
        guard run == nil else { return }
        let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        guard phase == "Pending" || phase == "Running" else { return }
        start(pod)
    }

    private func podRemoved(_ pod: JSONValue) {
        guard let uid = pod["metadata"]?["uid"]?.stringValue, let run = table.value.removeValue(forKey: uid) else { return }
        // Force-deleted (or never graceful): nothing may keep running.
        for c in run.running { signal(c, SIGKILL) }
    }

    // MARK: - Lifecycle

    private func start(_ pod: JSONValue) {
        let meta = pod["metadata"] ?? [:]
        let uid = meta["uid"]?.stringValue ?? ""
        let ip = pod["status"]?["podIP"]?.stringValue.flatMap { $0 == "127.0.0.1" ? nil : $0 } ?? PodNetwork.allocate()
        let run = PodRun(uid: uid, key: StoreState.key(of: pod), ip: ip,
                         restartPolicy: pod["spec"]?["restartPolicy"]?.stringValue ?? "Always", spec: pod["spec"] ?? [:],
                         startTime: pod["status"]?["startTime"]?.stringValue ?? Timestamp.format(clock.now))
        table.value[uid] = run
        adopt(run, status: pod["status"] ?? [:])
        writeStatus(run)
        advance(run)
    }

    /// Starts whatever should run next: the next init container, or every app container not yet started.
    func advance(_ run: PodRun) {
        guard active, !run.terminating, run.finalPhase == nil else { return }
        if !run.initialized {
            let c = run.initContainers[run.nextInit]
            if !c.running && !c.done && c.state["waiting"]?["reason"]?.stringValue != "CrashLoopBackOff" { startContainer(run, c) }
            return
        }
        for c in run.containers where !c.running && !c.done && c.state["waiting"]?["reason"]?.stringValue != "CrashLoopBackOff" {
            startContainer(run, c)
        }
    }

    /// The container's process ended (exit code, or nil when an adopted process vanished without one).
    func exited(_ run: PodRun, _ c: ContainerRun, generation: Int, code: Int32?) {
        guard active, table.value[run.uid] === run, c.generation == generation, c.pid != 0 else { return }
        let pgid = c.pid
        c.pid = 0
        c.process = nil
        c.ready = false
        kill(-pgid, SIGKILL)  // leftovers of the group (background children of a shell)
        removePidFile(run, c)
        let now = Timestamp.format(clock.now)
        var terminated: JSONValue = ["exitCode": .int(Int64(code ?? 137)), "startedAt": .string(c.startedAt.map(Timestamp.format) ?? now),
                                     "finishedAt": .string(now), "containerID": .string("kube-sim://\(pgid)")]
        terminated["reason"] = .string(code == nil ? "ContainerStatusUnknown" : c.killReason ?? (code == 0 ? "Completed" : "Error"))
        c.killReason = nil
        if let message = terminationMessage(run, c, exitCode: code ?? 137) { terminated["message"] = .string(message) }
        if run.terminating {
            c.state = ["terminated": terminated]
            if run.running.isEmpty { finishDeletion(run.key) }
            return
        }
        let failed = code != 0
        let restart = run.restartPolicy == "Always" ? !c.isInit || failed : run.restartPolicy == "OnFailure" && failed
        if c.isInit && !failed {
            c.state = ["terminated": terminated]
            c.done = true
            run.nextInit += 1
        } else if restart {
            c.lastState = ["terminated": terminated]
            c.restartCount += 1
            c.state = ["waiting": ["reason": "CrashLoopBackOff",
                                   "message": .string("back-off restarting failed container \(c.name) in pod \(run.key.name)")]]
            let ranFor = c.startedAt.map { clock.now.timeIntervalSince($0) } ?? 0
            let delay = ranFor > 60 ? options.restartBackoff
                : min(options.maxRestartBackoff, options.restartBackoff * pow(2, Double(max(0, c.restartCount - 1))))
            let gen = c.generation
            queue.asyncAfter(deadline: .now() + delay) { [self] in
                guard table.value[run.uid] === run, c.generation == gen, !c.running, !run.terminating else { return }
                c.state = ["waiting": ["reason": "ContainerCreating"]]
                advance(run)
            }
        } else {
            c.state = ["terminated": terminated]
            c.done = true
            if c.isInit { run.finalPhase = "Failed" }
        }
        if run.finalPhase == nil, run.initialized, run.containers.allSatisfy(\.done) {
            let allZero = run.containers.allSatisfy { $0.state["terminated"]?["exitCode"]?.intValue == 0 }
            run.finalPhase = allZero ? "Succeeded" : "Failed"
        }
        if run.finalPhase != nil { for other in run.running { signal(other, SIGKILL) } }
        writeStatus(run)
        advance(run)
    }

    /// Graceful stop: SIGTERM to every container's group, SIGKILL after `grace`, then the Pod leaves the store.
    func terminate(_ run: PodRun, grace: TimeInterval) {
        guard active else { return }
        run.terminating = true
        for c in run.all { c.ready = false }
        let live = run.running
        if live.isEmpty {
            finishDeletion(run.key)
            return
        }
        writeStatus(run)
        for c in live {
            recordEvent(run, reason: "Killing", message: "Stopping container \(c.name)")
            signal(c, SIGTERM)
        }
        queue.asyncAfter(deadline: .now() + max(0, grace)) { [self] in
            for c in run.running { signal(c, SIGKILL) }
        }
    }

    func finishDeletion(_ key: ObjectKey) {
        if let uid = store.read({ $0.tables[StoreState.podsGR]?[key]?["metadata"]?["uid"]?.stringValue }), let run = table.value[uid] {
            table.value[uid] = nil
            for c in run.all { removePidFile(run, c) }
        }
        store.withStateQuiet { s in
            guard let type = s.registry.storageType(StoreState.podsGR), s.tables[StoreState.podsGR]?[key] != nil else { return }
            _ = s.finishPodDeletion(type, key)
        }
    }

    func signal(_ c: ContainerRun, _ sig: Int32) {
        if c.pid != 0 { kill(-c.pid, sig) }
    }

    /// Stops every process now (simulator shutdown): SIGKILL to each group, then waits until they are gone.
    func stopAll() {
        stopped.store(true, ordering: .relaxed)
        let groups: [Int32] = queue.sync { table.value.values.flatMap { $0.running.map(\.pid) } }
        for pgid in groups { kill(-pgid, SIGKILL) }
        let deadline = Date().addingTimeInterval(5)
        while groups.contains(where: { ProcessTable.alive($0) }), Date() < deadline { usleep(10_000) }
    }

    /// Leaves every process running for the next kubelet on the same data directory (a simulator
    /// restart that keeps the store): it adopts them through their pid files.
    func detach() {
        stopped.store(true, ordering: .relaxed)
        queue.sync {}
    }

    func recordEvent(_ run: PodRun, type: String = "Normal", reason: String, message: String) {
        store.withStateQuiet { s in
            guard let pod = s.tables[StoreState.podsGR]?[run.key] else { return }
            s.recordEvent(about: pod, type: type, reason: reason, message: message, component: "kubelet")
        }
    }
}

/// A value confined to one serial queue; the queue, not the type system, makes it safe.
final class Confined<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

extension StoreState {
    static let secretsGR = GroupResource(group: "", resource: "secrets")
    static let configMapsGR = GroupResource(group: "", resource: "configmaps")
}
