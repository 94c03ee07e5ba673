import ArgumentParser
import DynamicJSON
import Foundation
import HTTP
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging

/// `backstop-bench runtime`: KubeClient/KubeRuntime figures against an in-process KubeSim.
struct RuntimeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime",
        abstract: "List+cache time, watch events/s, idle API requests, and idle RSS of `backstop run` with 0/1k/10k objects.")

    @Option(help: "Path of the backstop executable for the RSS figures (default: next to this program).")
    var backstop: String?
    @Option(help: "Seconds to observe an idle `backstop run` per object count.")
    var idleSeconds = 20

    func run() async throws {
        try await runRuntimeBenchmark(backstopPath: backstop, idleSeconds: idleSeconds)
    }
}

func runRuntimeBenchmark(backstopPath: String?, idleSeconds: Int) async throws {
    let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    var options = KubeSimOptions()
    options.watchHistory = 50_000
    let sim = try await KubeSim.start(options)
    defer { Task { await sim.shutdown() } }
    // `backstop run` also starts the Backstop controllers: their kinds must exist, or their
    // informers keep retrying LISTs and the idle figures measure that instead.
    for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
    let config = KubeConfig(server: sim.url, credentials: .token(sim.adminToken),
                            certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) })
    let client = try KubeClient(config: config, options: KubeClientOptions(qps: 1000, burst: 1000), logger: quiet)

    func seed(_ count: Int, from: Int) throws {
        for i in from..<count {
            var cm = ConfigMap(metadata: ObjectMeta(name: "bench-\(i)", namespace: "default",
                                                    labels: ["backstop.dev/test": "true"]))
            cm.data = ["index": "\(i)", "payload": String(repeating: "x", count: 200)]
            _ = try sim.store.create(JSONValue.encode(cm))
        }
    }

    // 1. Cold list + cache of 10k objects.
    try seed(10_000, from: 0)
    let informer = Informer<ConfigMap>(client: client, namespaces: ["default"], logger: quiet)
    let counter = EventCounter()
    informer.addHandler { _ in counter.increment() }
    let start = ContinuousClock.now
    let run = Task { try await informer.run() }
    await informer.waitUntilSynced()
    let coldSync = ContinuousClock.now - start
    emit("list+cache 10k ConfigMaps: \(format(coldSync)) (\(informer.cache.count) cached)")

    // 2. Watch events decoded and dispatched per second.
    counter.reset()
    let events = 5_000
    let writeStart = ContinuousClock.now
    for i in 0..<events {
        _ = try sim.store.mergePatch("v1", "ConfigMap", namespace: "default", name: "bench-\(i)",
                                     patch: ["data": ["index": .string("w\(i)")]])
    }
    while counter.value < events { try await Task.sleep(for: .milliseconds(5)) }
    let watchTime = ContinuousClock.now - writeStart
    emit("watch: \(events) MODIFIED events decoded and dispatched in \(format(watchTime)) = \(Int(Double(events) / watchTime.inSecondsValue)) events/s (includes the simulator's write time)")
    run.cancel()

    // 3. Idle `backstop run` with 0 / 1k / 10k watched objects: RSS and API requests.
    let exe = backstopPath ?? (URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path + "/backstop")
    guard FileManager.default.isExecutableFile(atPath: exe) else {
        emit("idle RSS: skipped, no backstop executable at \(exe) (build the `backstop` product)")
        return
    }
    let kubeconfig = FileManager.default.temporaryDirectory.appendingPathComponent("bench-kubeconfig-\(getpid())")
    let childLog = FileManager.default.temporaryDirectory.appendingPathComponent("bench-backstop-run-\(getpid()).log")
    try sim.writeKubeconfig(to: kubeconfig)
    let http = HTTPClient()
    defer { try? FileManager.default.removeItem(at: kubeconfig) }
    for count in [0, 1_000, 10_000] {
        let items = try sim.store.list("v1", "ConfigMap", namespace: "default")
        for item in items { _ = try? sim.store.delete("v1", "ConfigMap", namespace: "default", name: item["metadata"]?["name"]?.stringValue ?? "") }
        try seed(count, from: 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        let port = try freeLoopbackPort()
        // A generous API budget: the test-only controller patches every object once, and the
        // default 20 QPS would measure the rate limiter rather than the runtime.
        process.arguments = ["run", "--kubeconfig", kubeconfig.path, "--namespaces", "default", "--leader-elect", "false",
                             "--metrics-address", "127.0.0.1:\(port)", "--log-level", "warning", "--log-format", "text",
                             "--qps", "5000", "--burst", "5000", "--testing-config-map-controller"]
        _ = FileManager.default.createFile(atPath: childLog.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: childLog)
        process.standardOutput = logHandle
        process.standardError = logHandle
        let launched = ContinuousClock.now
        try process.run()
        // Synced when the test-only controller has stamped every object; a child that dies or
        // never gets there is reported instead of waited on forever.
        let deadline = launched + .seconds(300)
        var ready: Duration?
        var stamped = false
        while !(stamped && ready != nil), process.isRunning, ContinuousClock.now < deadline {
            // /readyz: every informer synced (and leadership known).
            if ready == nil, let (head, _) = try? await http.data(HTTPRequest(url: "http://127.0.0.1:\(port)/readyz")), head.status == 200 {
                ready = ContinuousClock.now - launched
            }
            let listed = try sim.store.list("v1", "ConfigMap", namespace: "default")
            stamped = listed.allSatisfy { $0["metadata"]?["annotations"]?["backstop.dev/reconciled-by"] != nil }
            if !stamped { try await Task.sleep(for: .milliseconds(200)) }
        }
        guard stamped, let ready, process.isRunning else {
            if process.isRunning { process.terminate() }
            let output = (try? String(contentsOf: childLog, encoding: .utf8)) ?? ""
            emit("backstop run, \(count) objects: did not sync (\(process.isRunning ? "timeout" : "exited")); its output:\n\(output.suffix(3000))")
            return
        }
        let synced = ContinuousClock.now - launched
        try await Task.sleep(for: .seconds(2))
        sim.requestLog.clear()
        try await Task.sleep(for: .seconds(idleSeconds))
        // Every request while idle counts (watch re-establishment included): the controller
        // requeues every second but answers from its cache, so it adds none.
        let requests = sim.requestLog.entries
        let rss = Double(OperatorBench.rss(pid: process.processIdentifier).rss) / 1_048_576
        let heap = Double(OperatorBench.anonymous(pid: process.processIdentifier)) / 1_048_576
        process.terminate()
        while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        try? logHandle.close()
        let perHour = Double(requests.count) * 3600 / Double(idleSeconds)
        let perObjectHour = count == 0 ? 0 : perHour / Double(count)
        let kinds = Dictionary(grouping: requests) { "\($0.method) \($0.query["watch"] == "true" ? "watch" : "other")" }
            .map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")
        emit("backstop run, \(count) objects: ready (caches synced) in \(format(ready)), all reconciled in \(format(synced)), idle RSS \(String(format: "%.1f", rss)) MiB (heap \(String(format: "%.1f", heap)) MiB), "
              + "\(requests.count) API requests in \(idleSeconds) s idle [\(kinds)] = \(Int(perHour))/hour, "
              + "\(String(format: "%.4f", perObjectHour)) per object per hour")
    }
    try? FileManager.default.removeItem(at: childLog)
}

private final class EventCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    func reset() { lock.lock(); n = 0; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// A port nobody listens on now (bound to 0 and released).
private func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ValidationError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw ValidationError("bind() failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Unbuffered output: figures reach a pipe or file at once, also when a timeout kills the program.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

private func format(_ d: Duration) -> String { String(format: "%.2f s", d.inSecondsValue) }

extension Duration {
    fileprivate var inSecondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
