import DynamicJSON
import Foundation

/// Starting container processes, their pid files (adoption after a simulator restart) and
/// termination messages. Runs on the kubelet's queue.
extension Kubelet {
    /// Starts `c` with its environment resolved now (a Pod sees a Secret's value as of its
    /// container's start), or leaves it waiting with the kubelet's reason and retries.
    func startContainer(_ run: PodRun, _ c: ContainerRun) {
        let env = config.environment
        var resolved: (LaunchSpec, LaunchSpec.Step)?
        store.withStateQuiet { s in
            guard let pod = s.tables[StoreState.podsGR]?[run.key], pod["metadata"]?["uid"]?.stringValue == run.uid else { return }
            var withIP = pod
            withIP[path: ["status", "podIP"]] = .string(run.ip)
            let spec = s.launchSpec(pod: withIP, dataDirectory: dataDirectory, config: config, extraEnv: env)
            let steps = c.isInit ? spec.initSteps : spec.appSteps
            if c.index < steps.count { resolved = (spec, steps[c.index]) }
        }
        guard let (spec, step) = resolved else { return }
        let fm = FileManager.default
        for dir in spec.directories { try? fm.createDirectory(at: dir, withIntermediateDirectories: true) }
        for (url, data) in spec.filesToWrite {
            try? fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? data.write(to: url)
        }
        if !fm.fileExists(atPath: step.logFile.path) { _ = fm.createFile(atPath: step.logFile.path, contents: nil) }
        podLogs.register(podUID: run.uid, container: c.name, file: step.logFile)
        try? fm.removeItem(at: step.terminationMessageFile)
        if let error = step.startError {
            wait(run, c, reason: step.waitingReason, message: error)
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
        c.generation += 1
        let generation = c.generation
        let exitFile = pidFile(run, c).deletingPathExtension().appendingPathExtension("exit")
        try? fm.removeItem(at: exitFile)
        process.terminationHandler = { [self] p in
            try? log.close()
            let code = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
            // Written even when this kubelet was detached: the next one reads it for adopted processes.
            try? Data("\(code)".utf8).write(to: exitFile)
            queue.async { self.exited(run, c, generation: generation, code: code) }
        }
        do {
            try process.run()
        } catch {
            try? log.close()
            wait(run, c, reason: "RunContainerError", message: "kube-sim: cannot start \(step.argv.first ?? ""): \(error)")
            return
        }
        // Foundation starts each child as the leader of its own process group.
        c.process = process
        c.pid = process.processIdentifier
        c.env = step.env
        c.workingDir = step.workingDir
        c.mounts = step.mounts
        c.startedAt = clock.now
        c.state = ["running": ["startedAt": .string(Timestamp.format(clock.now))]]
        c.started = c.probes[.startup] == nil
        c.ready = c.started && c.probes[.readiness] == nil && !c.isInit
        c.successes = [:]
        c.failures = [:]
        writePidFile(run, c)
        writeStatus(run)
        schedule(run, c)
    }

    /// A container that cannot start: its waiting reason in status, an Event, another try later.
    private func wait(_ run: PodRun, _ c: ContainerRun, reason: String, message: String) {
        let previous = c.state["waiting"]?["reason"]?.stringValue
        let shown = reason == "ErrImagePull" && (previous == "ErrImagePull" || previous == "ImagePullBackOff") ? "ImagePullBackOff" : reason
        c.state = ["waiting": ["reason": .string(shown), "message": .string(message)]]
        if previous != shown { recordEvent(run, type: "Warning", reason: "Failed", message: "Error: \(message)") }
        writeStatus(run)
        queue.asyncAfter(deadline: .now() + options.configRetry) { [self] in
            guard table.value[run.uid] === run, !c.running, !run.terminating, c.state["waiting"] != nil else { return }
            advance(run)
        }
    }

    func terminationMessage(_ run: PodRun, _ c: ContainerRun, exitCode: Int32) -> String? {
        let dir = dataDirectory.appendingPathComponent("pods/\(run.uid)/\(c.name)")
        var message = (try? String(contentsOf: dir.appendingPathComponent("termination-log"), encoding: .utf8)) ?? ""
        let fallback = store.read { s in
            s.tables[StoreState.podsGR]?[run.key]?[path: ["spec", c.isInit ? "initContainers" : "containers"]]?[c.index]?["terminationMessagePolicy"]?
                .stringValue == "FallbackToLogsOnError"
        }
        if message.isEmpty, exitCode != 0, fallback,
           let log = try? String(contentsOf: dataDirectory.appendingPathComponent("pods/\(run.uid)/\(c.name).log"), encoding: .utf8)
        {
            message = String(log.split(separator: "\n", omittingEmptySubsequences: false).suffix(80).joined(separator: "\n").suffix(2048))
        }
        if message.utf8.count > 4096 { message = String(decoding: message.utf8.prefix(4096), as: UTF8.self) }
        return message.isEmpty ? nil : message
    }

    /// Rewrites the files of running Pods that mount the changed Secret or ConfigMap as a volume.
    func refreshVolumes(namespace: String, source: GroupResource, name: String) {
        let field = source == StoreState.secretsGR ? "secret" : "configMap"
        let nameField = source == StoreState.secretsGR ? "secretName" : "name"
        let env = config.environment
        for run in table.value.values where run.key.namespace == namespace && !run.terminating && run.finalPhase == nil {
            var files: [(URL, Data)] = []
            store.withStateQuiet { s in
                guard let pod = s.tables[StoreState.podsGR]?[run.key],
                      (pod["spec"]?["volumes"]?.arrayValue ?? []).contains(where: { $0[field]?[nameField]?.stringValue == name })
                else { return }
                files = s.launchSpec(pod: pod, dataDirectory: dataDirectory, config: config, extraEnv: env).filesToWrite
            }
            for (url, data) in files where (try? Data(contentsOf: url)) != data {
                try? data.write(to: url, options: .atomic)
            }
        }
    }

    // MARK: - Pid files and adoption

    func pidFile(_ run: PodRun, _ c: ContainerRun) -> URL {
        dataDirectory.appendingPathComponent("pods/\(run.uid)/\(c.isInit ? "init-" : "")\(c.name).pid")
    }

    private func writePidFile(_ run: PodRun, _ c: ContainerRun) {
        let start = ProcessTable.startTime(c.pid) ?? 0
        try? Data("\(c.pid) \(start)".utf8).write(to: pidFile(run, c))
    }

    func removePidFile(_ run: PodRun, _ c: ContainerRun) {
        try? FileManager.default.removeItem(at: pidFile(run, c))
    }

    /// Takes over processes a previous kubelet on this data directory left running (same pid and
    /// start time), with the restart counts and states the Pod's status recorded.
    func adopt(_ run: PodRun, status: JSONValue) {
        for c in run.all {
            let field = c.isInit ? "initContainerStatuses" : "containerStatuses"
            let recorded = (status[field]?.arrayValue ?? []).first { $0["name"]?.stringValue == c.name }
            c.restartCount = recorded?["restartCount"]?.intValue ?? 0
            if c.isInit, recorded?["state"]?["terminated"]?["exitCode"]?.intValue == 0 {
                c.done = true
                c.state = recorded?["state"] ?? c.state
                run.nextInit = max(run.nextInit, c.index + 1)
                continue
            }
            guard let text = try? String(contentsOf: pidFile(run, c), encoding: .utf8) else { continue }
            let parts = text.split(separator: " ").compactMap { Int64($0) }
            guard parts.count == 2, let pid = Int32(exactly: parts[0]), ProcessTable.startTime(pid) == parts[1], ProcessTable.alive(pid) else {
                removePidFile(run, c)
                continue
            }
            c.pid = pid
            c.generation += 1
            c.state = recorded?["state"] ?? ["running": ["startedAt": .string(Timestamp.format(clock.now))]]
            c.startedAt = clock.now
            c.started = recorded?["started"]?.boolValue ?? true
            c.ready = recorded?["ready"]?.boolValue ?? false
            watchAdopted(run, c, generation: c.generation, startTime: parts[1])
            schedule(run, c)
        }
    }

    /// An adopted process is not our child: poll until it is gone, then read its exit file.
    private func watchAdopted(_ run: PodRun, _ c: ContainerRun, generation: Int, startTime: Int64) {
        queue.asyncAfter(deadline: .now() + 0.1) { [self] in
            guard active, table.value[run.uid] === run, c.generation == generation, c.pid != 0 else { return }
            if ProcessTable.alive(c.pid), ProcessTable.startTime(c.pid) == startTime {
                watchAdopted(run, c, generation: generation, startTime: startTime)
                return
            }
            let exitFile = pidFile(run, c).deletingPathExtension().appendingPathExtension("exit")
            let code = (try? String(contentsOf: exitFile, encoding: .utf8)).flatMap { Int32($0) }
            exited(run, c, generation: generation, code: code)
        }
    }
}

/// What `/proc` says about a process.
enum ProcessTable {
    /// Running (or sleeping), not a zombie.
    static func alive(_ pid: Int32) -> Bool {
        guard let fields = statFields(pid) else { return false }
        return fields.first != "Z" && fields.first != "X"
    }

    /// Field 22 of `/proc/<pid>/stat`: start time in clock ticks since boot (tells pid reuse apart).
    static func startTime(_ pid: Int32) -> Int64? {
        guard let fields = statFields(pid), fields.count > 19 else { return nil }
        return Int64(fields[19])
    }

    /// The fields after the command name (state first).
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
}
