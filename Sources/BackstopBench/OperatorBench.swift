import ArgumentParser
import BackstopApp
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import TestSupport

/// `backstop-bench operator`: N BackupPolicies on KubeSim, the operator (`backstop run`, the
/// binary beside this one) as a separate process bound to manifests/ RBAC. Prints: the start's
/// (or, with `--prepare-qps`, a restart's) time until every policy is evaluated and its API
/// requests, the run-now reaction (policy event → Job event, one observer) and end to end
/// p50/p99, the operator's RSS, and API requests per idle policy per hour (from KubeSim's
/// request log). `--peer kopf` and `--peer floor` take the same samples against a kopf operator
/// and a minimal watch-and-POST reactor (the simulator's floor) on the same simulator.
struct OperatorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "N policies: run-now reaction and end-to-end p50/p99 (optionally beside a kopf peer), restart cost, operator RSS, idle API requests.")

    @Option(help: "BackupPolicies created (0 measures the idle operator alone).") var policies = 1000
    @Option(help: "Namespaces they are spread over.") var namespaces = 10
    @Option(help: "run-now samples (one at a time).") var samples = 200
    @Option(help: "Seconds of idle observation.") var idleSeconds = 60
    @Option(help: "Pause between run-now samples (ms). Back to back, each sample's status write and Events use the client's QPS tokens and the next sample waits for them, which measures the QPS budget instead of latency.")
    var intervalMs = 500
    @Option(help: "The operator's client QPS budget (as `backstop run --qps`).") var qps: Double = 20
    @Option(help: "The operator's client burst.") var burst = 30
    @Option(help: "Path of the backstop executable (default: beside backstop-bench).") var backstop: String?
    @Flag(help: "Start from new policies: each first runs a catalog Job (no Job runner here, so they stay pending and hold run-now back). By default policies carry an artifact summary, as after an operator restart.")
    var fresh = false
    @Option(help: "Converge the statuses first with a preparatory operator at this QPS, then measure a restart (0: measure the first start).")
    var prepareQps: Double = 0
    @Option(help: "Also measure this peer on the same simulator after Backstop (repeatable): kopf (hack/kopf-peer.sh), or floor (`backstop-bench floor-peer`, a watch and a Job POST: the simulator's own cost).")
    var peer: [String] = []
    @Option(help: "Environment variable for the operator process, NAME=VALUE (repeatable; e.g. MALLOC_ARENA_MAX=2).")
    var operatorEnv: [String] = []

    func run() async throws {
        if let unknown = peer.first(where: { $0 != "kopf" && $0 != "floor" }) { throw ValidationError("unknown peer \(unknown): kopf or floor") }
        try await OperatorBench(policies: policies, namespaces: namespaces, samples: samples, idleSeconds: idleSeconds,
                                intervalMs: intervalMs, qps: qps, burst: burst, backstop: backstop, fresh: fresh,
                                prepareQPS: prepareQps, peer: peer, operatorEnv: operatorEnv).run()
    }
}

struct OperatorBench {
    var policies: Int, namespaces: Int, samples: Int, idleSeconds: Int, intervalMs: Int, qps: Double, burst: Int
    var backstop: String?
    var fresh: Bool
    var prepareQPS: Double
    var peer: [String]
    var operatorEnv: [String]

    func run() async throws {
        let exe = backstop ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("backstop").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw ValidationError("no backstop executable at \(exe); build the backstop product too or pass --backstop")
        }
        var options = KubeSimOptions()
        options.bookmarkInterval = 60
        options.watchHistory = max(10_000, policies * 3)
        let sim = try await KubeSim.start(options)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("operator-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        for object in try ManifestFiles.load() { _ = try sim.store.create(object) }
        for n in 0..<namespaces {
            let ns = "bench-\(n)"
            _ = try sim.store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
            _ = try sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "db", "namespace": .string(ns)],
                                      "data": ["password": .string(Data("pw".utf8).base64EncodedString())]])
        }
        for i in 0..<policies {
            var created = try sim.store.create(Self.policy(i, namespaces: namespaces))
            if !fresh {
                // As after the first catalog: the store was read, so no catalog Job is due.
                created["status"] = ["artifacts": ["count": 0, "totalBytes": 0]]
                _ = try sim.store.updateStatus(created)
            }
        }
        emit("operator bench: \(policies) policies created (\(fresh ? "fresh" : "cataloged")); starting backstop run")
        let kubeconfig = work.appendingPathComponent("kubeconfig")
        try sim.writeKubeconfig(to: kubeconfig, user: ManifestFiles.operatorUser)
        let adminConfig = work.appendingPathComponent("admin-kubeconfig")
        try sim.writeKubeconfig(to: adminConfig)
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let admin = try KubeClient(config: KubeConfig(server: sim.url, credentials: .token(sim.adminToken),
                                                      certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) }),
                                   options: KubeClientOptions(qps: 10_000, burst: 10_000), logger: quiet)
        let log = work.appendingPathComponent("operator.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)

        if prepareQPS > 0 {
            let prep = try startOperator(exe, kubeconfig: kubeconfig, log: log, qps: prepareQPS, burst: Int(prepareQPS), metrics: "127.0.0.1:0")
            let ok = try await waitConverged(sim, timeout: 900)
            stop(prep)
            emit("operator bench: statuses converged by a preparatory operator (qps \(prepareQPS)): \(ok ? "yes" : "NO"); measuring a restart")
        }

        // The measured start: a first install, or a restart over current statuses.
        sim.requestLog.clear()
        let metricsAddress = "127.0.0.1:\(try AgentMotoServer.freePort())"
        let started = Date()
        let p = try startOperator(exe, kubeconfig: kubeconfig, log: log, qps: qps, burst: burst, metrics: metricsAddress)
        defer { kill(p.processIdentifier, SIGTERM) }
        // Evaluated: the controller finished one reconcile per policy (its own metric).
        // Polled every 250 ms: each poll has the operator render its whole /metrics page (three
        // series per policy), work the measured start would otherwise share its CPU with.
        var evaluatedSeconds: Double?
        var metricsPageBytes = 0
        while Date().timeIntervalSince(started) < 600 {
            let page = fetchMetrics(metricsAddress)
            let reconciles = page.map { prometheusSum($0, metric: "backstop_reconcile_total", containing: "controller=\"backuppolicy\"") } ?? 0
            if let page, reconciles >= Double(policies) {
                evaluatedSeconds = Date().timeIntervalSince(started)
                metricsPageBytes = page.utf8.count
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let operatorRequests = { sim.requestLog.entries.filter { $0.user == ManifestFiles.operatorUser } }
        let requestsWhenEvaluated = operatorRequests().count
        let converged = try await waitConverged(sim, timeout: 600)
        let convergeSeconds = Date().timeIntervalSince(started)
        try await Task.sleep(for: .seconds(3))
        let startup = operatorRequests()
        let rssAfterSync = Self.rss(pid: p.processIdentifier)
        let anonAfterSync = Self.anonymous(pid: p.processIdentifier)
        emit(String(format: "operator bench: converged=%@ after %.1f s; measuring run-now reaction", converged ? "yes" : "NO", convergeSeconds))

        let observer = ReactionObserver(client: admin)
        try await observer.start()
        let backstopRun = try await sample(sim, admin: admin, observer: observer, label: "backstop")
        let rssAfterRuns = Self.rss(pid: p.processIdentifier)
        let anonAfterRuns = Self.anonymous(pid: p.processIdentifier)

        // Idle: nothing due, nothing changing.
        try await Task.sleep(for: .seconds(5))
        sim.requestLog.clear()
        try await Task.sleep(for: .seconds(idleSeconds))
        let idle = operatorRequests()
        let rssIdle = Self.rss(pid: p.processIdentifier)
        var byKind: [String: Int] = [:]
        for e in idle { byKind[Self.describe(e), default: 0] += 1 }
        var startupByKind: [String: Int] = [:]
        for e in startup { startupByKind[Self.describe(e), default: 0] += 1 }
        let perPolicyHour = policies == 0 ? 0 : Double(idle.count) / Double(policies) / Double(idleSeconds) * 3600

        emit("operator bench: \(policies) BackupPolicies in \(namespaces) namespaces, operator qps \(qps) burst \(burst), RBAC from manifests/")
        emit(String(format: "  %@: every policy evaluated in %@, %d API requests by then; converged (status on every policy) %@ in %.1f s, %d requests by 3 s later",
                    prepareQPS > 0 ? "restart over current statuses" : "first start",
                    evaluatedSeconds.map { String(format: "%.2f s", $0) } ?? "NOT within 600 s", requestsWhenEvaluated,
                    converged ? "yes" : "NO", convergeSeconds, startup.count))
        for (k, v) in startupByKind.sorted(by: { $0.value > $1.value }).prefix(10) { emit("    \(v)\t\(k)") }
        emit("  (evaluated: polled every 250 ms from /metrics, a \(metricsPageBytes >> 10) KiB page by then)")
        backstopRun.report()
        emit("  operator RSS: \(rssAfterSync.rss >> 20) MiB after sync, \(rssAfterRuns.rss >> 20) MiB after the runs, \(rssIdle.rss >> 20) MiB after \(idleSeconds) s idle, peak \(rssIdle.peak >> 20) MiB; of which heap (anonymous) \(anonAfterSync >> 20) / \(anonAfterRuns >> 20) MiB, the rest file-backed code and libraries")
        emit(String(format: "  idle: %d requests in %d s = %.3f requests per policy per hour", idle.count, idleSeconds, perPolicyHour))
        for (k, v) in byKind.sorted(by: { $0.value > $1.value }).prefix(8) { emit("    \(v)\t\(k)") }
        emit("  operator log: \(log.path)")
        stop(p)

        var peers: [SampleRun] = []
        for name in peer {
            peers.append(try await measurePeer(name, sim, admin: admin, observer: observer, adminConfig: adminConfig, work: work))
        }
        if !peers.isEmpty { Self.compare(backstop: backstopRun, peers: peers) }
        observer.stop()
        await sim.shutdown()
    }

    /// The same run-now samples against a peer (Backstop stopped): kopf (hack/kopf-peer.sh) or
    /// the floor peer (this executable's `floor-peer`).
    func measurePeer(_ name: String, _ sim: KubeSim, admin: KubeClient, observer: ReactionObserver, adminConfig: URL,
                     work: URL) async throws -> SampleRun {
        let p = Process()
        if name == "kopf" {
            p.executableURL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("hack/kopf-peer.sh")
            p.environment = ProcessInfo.processInfo.environment.merging(["KUBECONFIG": adminConfig.path]) { _, new in new }
        } else {
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            p.arguments = ["floor-peer", "--kubeconfig", adminConfig.path]
        }
        let log = work.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        // kopf waits on its watches after SIGTERM when the simulator is gone: end it for sure.
        defer { stop(p, killAfter: .seconds(3)) }
        // Ready once it answers a run-now (kopf lists every policy first).
        let warmStarted = Date()
        var ready = false
        for attempt in 0..<240 where !ready {
            _ = try await admin.resource(BackupPolicy.self, namespace: "bench-0")
                .patch("p-0", .merge(["metadata": ["annotations": [Backstop.runNowAnnotation: .string("\(name)-warmup-\(attempt)")]]]))
            ready = await observer.waitForJob(namespace: "bench-0", value: "\(name)-warmup-\(attempt)", timeout: .seconds(1)) != nil
        }
        guard ready else { throw ValidationError("the \(name) peer never created a Job (log: \(log.path))") }
        emit(String(format: "operator bench: %@ peer answering after %.1f s; measuring run-now reaction", name, Date().timeIntervalSince(warmStarted)))
        try await Task.sleep(for: .seconds(2))
        let run = try await sample(sim, admin: admin, observer: observer, label: name)
        let rss = Self.rss(pid: Self.childPid(of: p.processIdentifier) ?? p.processIdentifier)
        run.report()
        emit("  \(name) RSS: \(rss.rss >> 20) MiB after the runs, peak \(rss.peak >> 20) MiB (log: \(log.path))")
        return run
    }

    /// Reaction ratios, and with a floor peer, each operator's own share (its reaction minus the floor's).
    static func compare(backstop: SampleRun, peers: [SampleRun]) {
        let floor = peers.first { $0.label == "floor" }
        for q in [0.5, 0.99] {
            guard let b = backstop.reaction.value(q) else { continue }
            var line = String(format: "  reaction p%02.0f: backstop %.2f ms", q * 100, b)
            for peer in peers {
                guard let v = peer.reaction.value(q) else { continue }
                line += String(format: ", %@ %.2f ms (%.1f× backstop)", peer.label, v, v / b)
            }
            if let f = floor?.reaction.value(q) {
                let own = { (v: Double) in max(v - f, 0.001) }
                line += String(format: "; above the floor: backstop %.2f ms", own(b))
                for peer in peers where peer.label != "floor" {
                    if let v = peer.reaction.value(q) { line += String(format: ", %@ %.2f ms (%.1f× backstop)", peer.label, own(v), own(v) / own(b)) }
                }
            }
            emit(line)
        }
    }

    /// One run of run-now samples: PATCH the annotation (admin client), then wait for the Job.
    func sample(_ sim: KubeSim, admin: KubeClient, observer: ReactionObserver, label: String) async throws -> SampleRun {
        var run = SampleRun(label: label)
        for s in 0..<min(samples, policies) {
            let i = (s * 7919) % policies
            let namespace = "bench-\(i % namespaces)"
            let value = "\(label)-\(s)"
            let sent = ContinuousClock.now
            _ = try await admin.resource(BackupPolicy.self, namespace: namespace)
                .patch("p-\(i)", .merge(["metadata": ["annotations": [Backstop.runNowAnnotation: .string(value)]]]))
            if let job = await observer.waitForJob(namespace: namespace, value: value, timeout: .seconds(10)),
               let policy = observer.times(namespace: namespace, value: value).policy {
                run.reactions.append((job - policy).inSeconds * 1000)
                run.endToEnd.append((job - sent).inSeconds * 1000)
                // The split: the operator's part ends when the simulator has answered its Job POST.
                if let wall = observer.policyWallTime(namespace: namespace, value: value),
                   let post = sim.requestLog.entries.last(where: { $0.method == "POST" && $0.path.hasSuffix("/namespaces/\(namespace)/jobs") && $0.time >= wall }) {
                    run.untilPost.append(post.time.timeIntervalSince(wall) * 1000)
                }
            } else {
                run.missed += 1
                let seen = observer.times(namespace: namespace, value: value)
                let stored = (try? sim.store.list("batch/v1", "Job", namespace: namespace))?
                    .contains { $0["metadata"]?["annotations"]?[Backstop.runNowAnnotation]?.stringValue == value } ?? false
                emit("  missed \(namespace)/p-\(i) \(value): policy event seen \(seen.policy != nil), Job in the store \(stored)")
            }
            try await Task.sleep(for: .milliseconds(intervalMs))
        }
        return run
    }

    struct SampleRun {
        var label: String
        var reactions: [Double] = []
        var endToEnd: [Double] = []
        /// Policy event seen → the simulator logged the Job POST (answered): the reactor's share.
        var untilPost: [Double] = []
        var missed = 0
        var reaction: Percentiles { Percentiles(reactions) }
        func report() {
            emit("  \(label) reaction (policy event seen → Job ADDED seen, one observer): \(Percentiles(reactions).summary)")
            emit("  \(label) end to end (PATCH sent → Job ADDED seen): \(Percentiles(endToEnd).summary) (\(reactions.count) samples, \(missed) without a Job within 10 s)")
            emit("  \(label) split: policy event seen → Job POST answered (the reactor and its POST) \(Percentiles(untilPost).summary)")
        }
    }

    func startOperator(_ exe: String, kubeconfig: URL, log: URL, qps: Double, burst: Int, metrics: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["run", "--kubeconfig", kubeconfig.path, "--leader-elect", "false", "--metrics-address", metrics,
                       "--log-level", "warning", "--qps", String(qps), "--burst", String(burst)]
        var environment = ProcessInfo.processInfo.environment
        for pair in operatorEnv {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { environment[parts[0]] = parts[1] }
        }
        p.environment = environment
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    func stop(_ p: Process, killAfter: Duration = .seconds(30)) {
        kill(p.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + killAfter
        while p.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Every policy has a status for its generation.
    func waitConverged(_ sim: KubeSim, timeout: TimeInterval) async throws -> Bool {
        let started = Date()
        while Date().timeIntervalSince(started) < timeout {
            let items = try sim.store.list(Backstop.apiVersion, "BackupPolicy")
            if items.count == policies, items.allSatisfy({ $0["status"]?["observedGeneration"] != nil }) { return true }
            try await Task.sleep(for: .seconds(1))
        }
        return false
    }

    /// `GET jobs (watch)`, `PUT backuppolicies/status`…
    static func describe(_ e: RequestLog.Entry) -> String {
        let sub = e.path.hasSuffix("/status") ? "/status" : ""
        return "\(e.method) \(resourceOf(e.path))\(sub)\(e.query["watch"] == "true" || e.query["watch"] == "1" ? " (watch)" : "")"
    }

    /// The kopf process itself when `pid` is the wrapper shell (exec makes them the same).
    static func childPid(of pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Int32($0) }
    }

    static func policy(_ i: Int, namespaces: Int) -> JSONValue {
        ["apiVersion": .string(Backstop.apiVersion), "kind": "BackupPolicy",
         "metadata": ["name": .string("p-\(i)"), "namespace": .string("bench-\(i % namespaces)")],
         "spec": [
            // Once a year: nothing falls due while the benchmark runs.
            "schedule": "0 3 1 1 *",
            "source": ["postgres": ["host": "db", "database": .string("app\(i)"), "user": "app",
                                    "passwordSecretRef": ["name": "db", "key": "password"]]],
            "destination": ["volume": ["claimName": "backups"]],
            "retention": ["keepLast": 3],
         ]]
    }

    /// `/apis/batch/v1/namespaces/x/jobs/y` → `jobs`.
    static func resourceOf(_ path: String) -> String {
        let parts = path.split(separator: "/")
        if let i = parts.firstIndex(of: "namespaces"), parts.count > i + 2 { return String(parts[i + 2]) }
        return parts.last.map(String.init) ?? path
    }

    /// Anonymous (heap) memory of `pid` in bytes; the rest of its RSS is file-backed code and data.
    static func anonymous(pid: Int32) -> Int { FreeMemory.procBytes(pid: pid, file: "smaps_rollup", field: "Anonymous") }

    /// VmRSS and VmHWM of `pid`, in bytes.
    static func rss(pid: Int32) -> (rss: Int, peak: Int) {
        (FreeMemory.procBytes(pid: pid, file: "status", field: "VmRSS"), FreeMemory.procBytes(pid: pid, file: "status", field: "VmHWM"))
    }
}
