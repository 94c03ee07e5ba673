import ArgumentParser
import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import KubeSim

/// `backstop-bench operator`: N BackupPolicies on KubeSim, the operator (`backstop run`, the
/// binary beside this one) as a separate process bound to manifests/ RBAC. Prints: time to
/// converge, run-now annotation → backup Job created latency p50/p99, the operator's RSS, and
/// API requests per idle policy per hour (from KubeSim's request log).
struct OperatorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "1,000 policies: run-now → Job latency p50/p99, operator RSS, idle API requests per policy per hour.")

    @Option(help: "BackupPolicies created.") var policies = 1000
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

    func run() async throws {
        try await OperatorBench(policies: policies, namespaces: namespaces, samples: samples, idleSeconds: idleSeconds,
                                intervalMs: intervalMs, qps: qps, burst: burst, backstop: backstop, fresh: fresh).run()
    }
}

struct OperatorBench {
    var policies: Int, namespaces: Int, samples: Int, idleSeconds: Int, intervalMs: Int, qps: Double, burst: Int
    var backstop: String?
    var fresh: Bool

    func run() async throws {
        let exe = backstop ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("backstop").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw ValidationError("no backstop executable at \(exe); build the backstop product too or pass --backstop")
        }
        var options = KubeSimOptions()
        options.bookmarkInterval = 60
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

        sim.requestLog.clear()
        let started = Date()
        let log = work.appendingPathComponent("operator.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["run", "--kubeconfig", kubeconfig.path, "--leader-elect", "false", "--metrics-address", "127.0.0.1:0",
                       "--log-level", "warning", "--qps", String(qps), "--burst", String(burst)]
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        defer { kill(p.processIdentifier, SIGTERM) }

        // Converged: every policy has a status for its generation.
        var converged = false
        while Date().timeIntervalSince(started) < 600 {
            let items = try sim.store.list(Backstop.apiVersion, "BackupPolicy")
            if items.count == policies, items.allSatisfy({ $0["status"]?["observedGeneration"] != nil }) { converged = true; break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let convergeSeconds = Date().timeIntervalSince(started)
        let startupRequests = sim.requestLog.entries.filter { $0.user == ManifestFiles.operatorUser }.count
        let rssAfterSync = Self.rss(pid: p.processIdentifier)
        let anonAfterSync = Self.anonymous(pid: p.processIdentifier)
        emit(String(format: "operator bench: converged=%@ after %.1f s; measuring run-now latency", converged ? "yes" : "NO", convergeSeconds))
        try await Task.sleep(for: .seconds(2))

        // run-now → Job POST answered, one sample at a time.
        var latencies: [Double] = []
        var missed = 0
        for s in 0..<min(samples, policies) {
            let i = (s * 7919) % policies
            sim.requestLog.clear()
            let t0 = sim.clock.now
            _ = try sim.store.mergePatch(Backstop.apiVersion, "BackupPolicy", namespace: "bench-\(i % namespaces)", name: "p-\(i)",
                                         patch: ["metadata": ["annotations": [Backstop.runNowAnnotation: .string("bench-\(s)")]]])
            var found: Date?
            let deadline = Date().addingTimeInterval(10)
            while found == nil, Date() < deadline {
                found = sim.requestLog.entries.first { $0.method == "POST" && $0.path.hasSuffix("/jobs") && $0.status == 201 }?.time
                if found == nil { try await Task.sleep(for: .milliseconds(1)) }
            }
            if let found { latencies.append(found.timeIntervalSince(t0) * 1000) } else { missed += 1 }
            try await Task.sleep(for: .milliseconds(intervalMs))
        }
        latencies.sort()
        let rssAfterRuns = Self.rss(pid: p.processIdentifier)
        let anonAfterRuns = Self.anonymous(pid: p.processIdentifier)

        // Idle: nothing due, nothing changing.
        try await Task.sleep(for: .seconds(5))
        sim.requestLog.clear()
        try await Task.sleep(for: .seconds(idleSeconds))
        let idle = sim.requestLog.entries.filter { $0.user == ManifestFiles.operatorUser }
        var byKind: [String: Int] = [:]
        for e in idle { byKind["\(e.method) \(Self.resourceOf(e.path))\(e.query["watch"] == "true" || e.query["watch"] == "1" ? " (watch)" : "")", default: 0] += 1 }
        let perPolicyHour = Double(idle.count) / Double(policies) / Double(idleSeconds) * 3600

        func pct(_ q: Double) -> String {
            latencies.isEmpty ? "n/a" : String(format: "%.1f ms", latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))])
        }
        emit("operator bench: \(policies) BackupPolicies in \(namespaces) namespaces, operator qps \(qps) burst \(burst), RBAC from manifests/")
        emit(String(format: "  converged (status on every policy): %@ in %.1f s, %d API requests", converged ? "yes" : "NO", convergeSeconds, startupRequests))
        emit("  run-now → backup Job created: p50 \(pct(0.5)), p99 \(pct(0.99)), max \(latencies.last.map { String(format: "%.1f ms", $0) } ?? "n/a") (\(latencies.count) samples \(intervalMs) ms apart, \(missed) without a Job within 10 s)")
        emit("  operator RSS: \(rssAfterSync.rss >> 20) MiB after sync, \(rssAfterRuns.rss >> 20) MiB after the runs, peak \(rssAfterRuns.peak >> 20) MiB; of which heap (anonymous) \(anonAfterSync >> 20) / \(anonAfterRuns >> 20) MiB, the rest file-backed code and libraries")
        emit(String(format: "  idle: %d requests in %d s = %.3f requests per policy per hour", idle.count, idleSeconds, perPolicyHour))
        for (k, v) in byKind.sorted(by: { $0.value > $1.value }).prefix(8) { emit("    \(v)\t\(k)") }
        emit("  operator log: \(log.path)")
        kill(p.processIdentifier, SIGTERM)
        await sim.shutdown()
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
    static func anonymous(pid: Int32) -> Int { procBytes(pid, "smaps_rollup", "Anonymous") }

    /// VmRSS and VmHWM of `pid`, in bytes.
    static func rss(pid: Int32) -> (rss: Int, peak: Int) { (procBytes(pid, "status", "VmRSS"), procBytes(pid, "status", "VmHWM")) }

    /// A `Name:   N kB` line of `/proc/<pid>/<file>`, in bytes (0 when absent).
    static func procBytes(_ pid: Int32, _ file: String, _ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "") ?? 0) * 1024
    }
}
