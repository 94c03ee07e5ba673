import BackstopApp
import BackstopChaos
import Controllers
import DynamicJSON
import Foundation
import HTTP
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

/// KubeSim in-process, its Job runner running the `backstop` binary built beside the tests,
/// the Backstop CRDs, and the operator. By default the operator is `backstop run` as a child
/// process whose token is bound to the shipped manifests/ RBAC, as an installation runs it;
/// `.inProcess` runs the controllers on a Manager in this process instead, with its own
/// Prometheus registry and a clock the test can move forward (schedule and hot-path tests).
final class ControllerHarness: Sendable {
    enum Operator { case subprocess, inProcess }

    static let image = "backstop:ctl-test"
    let sim: KubeSim
    let client: KubeClient
    let registry: PrometheusCollectorRegistry
    let objectGauges = ObjectGauges()
    let clock = TestClock()
    let mode: Operator
    /// Where the subprocess's kubeconfig and log files go.
    let work: URL
    private let run = Mutex<(group: ServiceGroup?, task: Task<Void, any Error>?)>((nil, nil))
    private let child = Mutex<(process: OperatorSubprocess?, metricsPort: Int)>((nil, 0))

    static func backstopBinary() throws -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // BACKSTOP_BINARY overrides (a binary built elsewhere while BackstopCLI does not build here).
        let candidates = [ProcessInfo.processInfo.environment["BACKSTOP_BINARY"]].compactMap { $0 } + [dir.appendingPathComponent("backstop").path,
                          dir.deletingLastPathComponent().appendingPathComponent("backstop").path]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw HarnessError("no backstop executable next to the tests (build with BACKSTOP_ONLY=ControllersTests,BackstopCLI); looked in \(candidates)")
        }
        return found
    }

    /// `workloads`: Deployments and StatefulSets run real Pods (writers a restore fences).
    init(workloads: Bool = false, operator mode: Operator = .subprocess) async throws {
        self.mode = mode
        var options = KubeSimOptions()
        options.bookmarkInterval = 1
        options.controllers.jobRunner = true
        options.controllers.pvcBinder = true
        options.controllers.workloads = workloads
        options.jobRunner.images = [Self.image: [try Self.backstopBinary()]]
        sim = try await KubeSim.start(options)
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        if mode == .subprocess {
            for object in try ManifestFiles.load() { _ = try sim.store.create(object) }
        }
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]])
        var clientOptions = KubeClientOptions(qps: 200, burst: 200)
        clientOptions.retryBackoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(200))
        client = try KubeClient(config: KubeConfig(server: sim.url, credentials: .token(sim.adminToken),
                                                   certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) }),
                                options: clientOptions, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        registry = PrometheusCollectorRegistry()
        work = FileManager.default.temporaryDirectory.appendingPathComponent("ctl-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    /// A test that fails before `stop()` must not leave its operator running.
    deinit {
        if let process = child.withLock({ $0.process }), process.isRunning { kill(process.pid, SIGKILL) }
    }

    /// Moves the in-process operator's clock; a subprocess operator runs on the wall clock.
    func advance(_ seconds: TimeInterval) {
        precondition(mode == .inProcess, "advance() needs ControllerHarness(operator: .inProcess)")
        clock.advance(seconds)
    }

    /// Starts the operator: `backstop run` bound to manifests/ RBAC, or the controllers in-process.
    func startController() {
        switch mode {
        case .subprocess: startSubprocess()
        case .inProcess: startInProcess()
        }
    }

    private func startSubprocess() {
        do {
            let kubeconfig = work.appendingPathComponent("operator.kubeconfig")
            try sim.writeKubeconfig(to: kubeconfig, user: ManifestFiles.operatorUser)
            let port = try AgentMotoServer.freePort()
            // The same identity on every start: a restarted operator takes its own Lease at once.
            let process = try OperatorSubprocess(kubeconfig: kubeconfig, agentImage: Self.image,
                                                 extraArgs: ["--identity", "ctl-operator", "--secret-recheck-seconds", "1", "--result-grace-seconds", "3"],
                                                 logDirectory: work, name: "operator", metricsAddress: "127.0.0.1:\(port)")
            child.withLock { $0 = (process, port) }
        } catch {
            Issue.record("cannot start the operator subprocess: \(error)")
        }
    }

    private func startInProcess() {
        let manager = Manager(client: client, options: ManagerOptions(component: "backstop"),
                              logger: Logger(label: "ctl", factory: { _ in SwiftLogNoOpLogHandler() }),
                              metricsFactory: PrometheusMetricsFactory(registry: registry), objectGauges: objectGauges)
        let settings = ControllerSettings(agentImage: Self.image, clock: { [clock] in clock.now },
                                          backupWorkers: 2, secretRecheckInterval: .seconds(1), resultGracePeriod: .seconds(3))
        for registration in backstopControllers(settings) { try? registration.setup(manager) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: manager.services, logger: Logger(label: "group", factory: { _ in SwiftLogNoOpLogHandler() })))
        run.withLock { $0 = (group, Task { try await group.run() }) }
    }

    /// Stops the operator only (the simulator and its running Jobs go on): SIGTERM for a subprocess.
    func stopController() async {
        if let process = child.withLock({ $0.process }) {
            let status = await process.terminate()
            #expect(status == 0, "the operator exited with \(status) on SIGTERM; its log: \(work.path)")
            child.withLock { $0.process = nil }
        }
        let (group, task) = run.withLock { $0 }
        await group?.triggerGracefulShutdown()
        _ = await task?.result
        run.withLock { $0 = (nil, nil) }
    }

    func stop() async {
        await stopController()
        await sim.shutdown()
        try? FileManager.default.removeItem(at: work)
    }

    /// The operator's Prometheus text: scraped from the subprocess's /metrics, or the in-process registry.
    func metricsText() async throws -> String {
        let port = child.withLock { $0.process == nil ? nil : $0.metricsPort }
        guard let port else {
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            objectGauges.emit(into: &buffer)
            return String(decoding: buffer, as: UTF8.self)
        }
        var body: [UInt8] = []
        _ = await eventually(.seconds(10)) {
            guard let (_, data) = try? await HTTPClient().data(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics")) else { return false }
            body = Array(data)
            return true
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// Everything the operator subprocess logged so far (all its starts).
    func operatorLog() -> String {
        let files = (try? FileManager.default.contentsOfDirectory(at: work, includingPropertiesForKeys: nil)) ?? []
        return files.filter { $0.lastPathComponent.hasPrefix("operator") && $0.pathExtension == "log" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
            .compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined(separator: "\n")
    }

    // MARK: objects

    func secret(_ name: String, _ data: [String: String]) throws {
        let encoded = data.mapValues { JSONValue.string(Data($0.utf8).base64EncodedString()) }
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": .string(name), "namespace": "team"],
                                  "data": .object(encoded)])
    }

    func claim(_ name: String) throws {
        _ = try sim.store.create(["apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                  "metadata": ["name": .string(name), "namespace": "team"],
                                  "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "1Gi"]]]])
    }

    func create(_ policy: BackupPolicy) throws {
        var json = try JSONValue.encode(policy)
        json["status"] = nil
        _ = try sim.store.create(json)
    }

    func policy(_ name: String) async throws -> BackupPolicy {
        try await client.resource(BackupPolicy.self, namespace: "team").get(name)
    }

    func annotate(_ name: String, _ key: String, _ value: String) async throws {
        _ = try await client.resource(BackupPolicy.self, namespace: "team")
            .patch(name, .merge(.object(["metadata": .object(["annotations": .object([key: .string(value)])])])))
    }

    func jobs(of policy: String) throws -> [JSONValue] {
        try sim.store.list("batch/v1", "Job", namespace: "team").filter { $0["metadata"]?["labels"]?[BackstopLabels.policy]?.stringValue == policy }
    }

    func events(of policy: String) throws -> [(type: String, reason: String, message: String)] {
        try sim.store.list("v1", "Event", namespace: "team")
            .filter { $0["involvedObject"]?["name"]?.stringValue == policy }
            .map { ($0["type"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "", $0["message"]?.stringValue ?? "") }
    }

    /// The local directory KubeSim bound the claim to.
    func claimDirectory(_ name: String) throws -> String? {
        try sim.store.get("v1", "PersistentVolumeClaim", namespace: "team", name: name)["metadata"]?["annotations"]?["kube-sim.dev/local-path"]?.stringValue
    }
}

/// Wall time plus an offset the test moves forward (to reach the next slot without waiting).
final class TestClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)
    var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
    func advance(_ seconds: TimeInterval) { offset.withLock { $0 += seconds } }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
