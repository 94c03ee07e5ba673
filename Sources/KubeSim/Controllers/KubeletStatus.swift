import DynamicJSON
import Foundation

/// Pod status as the kubelet reports it, and the probe loop that drives `ready`. Runs on the
/// kubelet's queue.
extension Kubelet {
    /// Writes the Pod's status derived from `run` (a no-op write when nothing changed).
    func writeStatus(_ run: PodRun) {
        let now = JSONValue.string(Timestamp.format(clock.now))
        store.withStateQuiet { s in
            guard let type = s.registry.storageType(StoreState.podsGR), let pod = s.tables[StoreState.podsGR]?[run.key],
                  pod["metadata"]?["uid"]?.stringValue == run.uid else { return }
            let status = Self.podStatus(run, old: pod["status"] ?? [:], now: now)
            guard status != pod["status"] else { return }
            _ = try? s.update(type, namespace: run.key.namespace, name: run.key.name, subresource: .status,
                              options: WriteOptions(fieldManager: "kubelet")) { old in
                var o = old!
                o["status"] = status
                return o
            }
        }
    }

    static func podStatus(_ run: PodRun, old: JSONValue, now: JSONValue) -> JSONValue {
        let containersReady = run.initialized && run.containers.allSatisfy(\.ready)
        let phase = run.finalPhase ?? (run.initialized && run.containers.contains { $0.running || $0.restartCount > 0 || $0.done }
            ? "Running" : "Pending")
        let terminal = run.finalPhase != nil
        let oldConditions = old["conditions"]?.arrayValue ?? []
        func condition(_ type: String, _ value: Bool, reason: String? = nil) -> JSONValue {
            let status: JSONValue = value ? "True" : "False"
            let previous = oldConditions.first { $0["type"]?.stringValue == type }
            var c: JSONValue = ["type": .string(type), "status": status, "lastProbeTime": .null,
                                "lastTransitionTime": previous?["status"] == status ? previous?["lastTransitionTime"] ?? now : now]
            if !value, let reason { c["reason"] = .string(reason) }
            return c
        }
        let notReady = terminal ? "PodCompleted" : "ContainersNotReady"
        var status: JSONValue = [
            "phase": .string(phase),
            "conditions": [
                condition("PodReadyToStartContainers", !terminal),
                condition("Initialized", run.initialized, reason: terminal ? "PodCompleted" : "ContainersNotInitialized"),
                condition("Ready", containersReady && !run.terminating && !terminal, reason: notReady),
                condition("ContainersReady", containersReady && !terminal, reason: notReady),
                condition("PodScheduled", true),
            ],
            "hostIP": "127.0.0.1", "hostIPs": [["ip": "127.0.0.1"]],
            "podIP": .string(run.ip), "podIPs": [["ip": .string(run.ip)]],
            "startTime": .string(run.startTime),
            "qosClass": old["qosClass"] ?? "BestEffort",
            "containerStatuses": .array(run.containers.map(containerStatus)),
        ]
        if !run.initContainers.isEmpty { status["initContainerStatuses"] = .array(run.initContainers.map(containerStatus)) }
        return status
    }

    private static func containerStatus(_ c: ContainerRun) -> JSONValue {
        var s: JSONValue = ["name": .string(c.name), "image": .string(c.image), "imageID": "", "ready": .bool(c.ready),
                            "started": .bool(c.running && c.started), "restartCount": .int(c.restartCount), "state": c.state,
                            "lastState": c.lastState]
        if c.running { s["containerID"] = .string("kube-sim://\(c.pid)") }
        return s
    }

    // MARK: - Probes

    /// Starts the probe loops of a container that just started (or was adopted).
    func schedule(_ run: PodRun, _ c: ContainerRun) {
        for (kind, probe) in c.probes {
            probeLater(run, c, kind, generation: c.generation, after: probe.initialDelay)
        }
    }

    private func probeLater(_ run: PodRun, _ c: ContainerRun, _ kind: ProbeKind, generation: Int, after delay: TimeInterval) {
        queue.asyncAfter(deadline: .now() + delay) { [self] in
            guard active, table.value[run.uid] === run, c.generation == generation, c.running, !run.terminating,
                  let probe = c.probes[kind] else { return }
            // Readiness and liveness wait for the startup probe; the startup probe stops once it passed.
            if kind == .startup ? c.started : !c.started {
                if kind != .startup { probeLater(run, c, kind, generation: generation, after: probe.period) }
                return
            }
            let (ip, ports, env, dir) = (run.ip, c.namedPorts, c.env, c.workingDir)
            var local = probe
            if case .exec(let argv) = probe.action { local.action = .exec(argv.map { StoreState.rewritePaths($0, c.mounts) }) }
            probeQueue.async { [self, local] in
                let outcome = ProbeRunner.run(local, podIP: ip, namedPorts: ports, env: env, workingDir: dir)
                queue.async { [self] in
                    guard table.value[run.uid] === run, c.generation == generation, c.running else { return }
                    apply(outcome, run, c, kind, probe)
                    probeLater(run, c, kind, generation: generation, after: probe.period)
                }
            }
        }
    }

    private func apply(_ outcome: ProbeRunner.Outcome, _ run: PodRun, _ c: ContainerRun, _ kind: ProbeKind, _ probe: Probe) {
        if outcome.success {
            c.successes[kind, default: 0] += 1
            c.failures[kind] = 0
        } else {
            c.failures[kind, default: 0] += 1
            c.successes[kind] = 0
        }
        let passed = c.successes[kind, default: 0] >= probe.successThreshold
        let failed = c.failures[kind, default: 0] >= probe.failureThreshold
        if !outcome.success && c.failures[kind] == probe.failureThreshold {
            recordEvent(run, type: "Warning", reason: "Unhealthy", message: "\(kind.word) probe failed: \(outcome.message)")
        }
        switch kind {
        case .readiness:
            if passed && !c.ready { c.ready = true; writeStatus(run) }
            if failed && c.ready { c.ready = false; writeStatus(run) }
        case .startup, .liveness:
            if kind == .startup && passed {
                c.started = true
                c.ready = c.probes[.readiness] == nil
                writeStatus(run)
            } else if failed && c.killReason == nil {
                recordEvent(run, reason: "Killing", message: "Container \(c.name) failed \(kind.rawValue) probe, will be restarted")
                c.killReason = "Error"
                c.ready = false
                writeStatus(run)
                signal(c, SIGTERM)
                let generation = c.generation
                let grace = TimeInterval(store.read { $0.tables[StoreState.podsGR]?[run.key]?[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue } ?? 30)
                queue.asyncAfter(deadline: .now() + grace) { [self] in
                    if c.generation == generation, c.running { signal(c, SIGKILL) }
                }
            }
        }
    }
}
