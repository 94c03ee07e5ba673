/// BackstopDemo: the embedded demo — KubeSim with its Job runner, a throw-away PostgreSQL, a PVC
/// directory store, the seed examples and the operator in-process (`backstop-demo`).
import DynamicJSON
import BackstopApp
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging

public struct DemoOptions: Sendable {
    /// Stop after this long; nil runs until the calling task is cancelled (Ctrl-C).
    public var duration: Duration?
    /// The schedule given to every demo policy (`@every` allows 1m at the least); each policy
    /// also gets a run-now request at the start so the first backups do not wait for a slot.
    public var schedule = "@every 1m"
    /// Kept after the demo (artifacts, kubeconfig, logs); a fresh temp dir when nil.
    public var workDirectory: URL?
    /// The seed examples; the built-in policy when nil or empty.
    public var examples: URL? = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("docs/examples")
    /// A PostgreSQL to use (superuser login); nil starts a local one.
    public var postgres: PostgresServer?
    /// The entrypoint of the agent image: this executable (the Jobs' args start with `agent`).
    public var agentCommand: [String]
    /// Where the narration goes.
    public var output: @Sendable (String) -> Void = { print($0) }
    public var operatorLogLevel: Logger.Level = .warning

    public init(agentCommand: [String]) { self.agentCommand = agentCommand }

    /// This very executable: the image the demo's Jobs "run" (their args are `agent backup …`).
    public static func selfAgentCommand() -> [String] {
        [(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]]
    }
}

/// What the demo left behind, for the user and for tests.
public struct DemoResult: Sendable {
    public var workDirectory: URL
    public var kubeconfig: URL
    /// The policies as last read (status included).
    public var policies: [BackupPolicy]
    /// Artifact and manifest files found in the backup volumes.
    public var artifactFiles: [URL]
    /// The restore act's RestoreRequests as last read (into a new database; over the source with the writer fenced).
    public var restores: [RestoreRequest] = []
    /// The drill act's DrillRuns as last read (one per policy).
    public var drills: [DrillRun] = []
}

/// `backstop-demo`: KubeSim with its Job runner + a local PostgreSQL + a directory store, the
/// CRDs and the seed examples that fit, the operator in-process; narrates status changes, then
/// restores the first verified backup twice (`DemoRestore`), drills every policy (`DemoDrill`),
/// rotates a password (`DemoRotation`), previews and runs a cleanup (`DemoCleanup`), shows
/// `kubectl get bp` and the `backstop status` screen, lists the artifacts and cleans up what it started.
public enum Demo {
    static let agentImage = "backstop.dev/demo-agent:local"

    public static func run(_ options: DemoOptions) async throws -> DemoResult {
        let say = options.output
        let work = options.workDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("backstop-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()

        var local: LocalPostgres?
        let postgres: PostgresServer
        if let configured = options.postgres {
            postgres = configured
            say("PostgreSQL: using \(configured.host):\(configured.port)")
        } else {
            say("PostgreSQL: starting a local server in \(work.appendingPathComponent("postgres").path) …")
            let started = try await LocalPostgres.start(in: work.appendingPathComponent("postgres"), password: password)
            local = started
            postgres = started.endpoint
            say("PostgreSQL: listening on 127.0.0.1:\(postgres.port)")
        }
        var sim: KubeSim?
        var operatorTask: Task<Void, any Error>?
        do {
            let seed = try DemoSeed.load(examples: options.examples, interval: options.schedule, postgresPort: postgres.port)
            for step in seed.setupSQL(password: password) { try await postgres.psql(step.sql, database: step.database) }
            say("Seeded \(seed.databases.count) demo database(s): \(seed.databases.map(\.name).joined(separator: ", "))")

            var simOptions = KubeSimOptions()
            simOptions.controllers.jobRunner = true
            simOptions.controllers.pvcBinder = true
            simOptions.controllers.workloads = true  // the restore act's writer runs as a real Pod
            simOptions.dataDirectory = work.appendingPathComponent("cluster")
            simOptions.jobRunner.images[agentImage] = options.agentCommand
            let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            simOptions.jobRunner.environment["PATH"] = "\(postgres.bindir):\(path)"
            let cluster = try await KubeSim.start(simOptions)
            sim = cluster
            let kubeconfig = work.appendingPathComponent("kubeconfig")
            try cluster.writeKubeconfig(to: kubeconfig)
            say("KubeSim: \(cluster.url) (Job runner on; agent image → \(options.agentCommand.joined(separator: " ")))")

            for kind in Backstop.kinds { _ = try cluster.store.create(kind.crd) }
            for object in seed.supportingObjects(password: password) + seed.policies.map(Self.runNow) {
                _ = try cluster.store.create(object)
            }
            say("Applied \(seed.policies.count) BackupPolicies from the seed examples, schedule \(options.schedule) "
                + "plus one run-now each, destination: PVC \(DemoSeed.claimName) (a local directory)")
            say("While the demo runs:  kubectl --kubeconfig \(kubeconfig.path) get bp -A")

            var operatorOptions = OperatorOptions()
            operatorOptions.leaderElect = false
            operatorOptions.metricsHost = "127.0.0.1"
            operatorOptions.metricsPort = 0
            operatorOptions.agentImage = agentImage
            operatorOptions.qps = 50
            operatorOptions.burst = 100
            operatorOptions.gracePeriod = .seconds(5)
            let level = options.operatorLogLevel
            let logger = Logger(label: "backstop") { JSONLogHandler(label: $0, level: level, format: .text) }
            let process = try OperatorProcess(config: KubeConfig(server: cluster.url, credentials: .token(cluster.adminToken),
                                                                 certificateAuthority: cluster.caPEM.map { .data(Array($0.utf8)) }),
                                              options: operatorOptions, logger: logger)
            operatorTask = Task { try await process.run(handleSignals: false) }
            let metricsPort = await process.metricsPort()
            say("Operator: running in-process, metrics on http://127.0.0.1:\(metricsPort)/metrics")

            let restoreAct = Task { [seed] in try await DemoRestore.run(cluster, seed: seed, postgresPort: postgres.port, say: say) }
            let drillAct = Task { try await DemoDrill.run(cluster, say: say) }
            let cleanupAct = Task { [seed] in try await DemoCleanup.run(cluster, seed: seed, examples: options.examples, postgres: postgres, say: say) }
            Task { _ = try await DemoRotation.run(cluster, postgres: postgres, say: say) }  // the rotation act (DemoRotation.swift)
            let policies = await narrate(cluster, until: options.duration.map { ContinuousClock.now + $0 }, say: say)
            restoreAct.cancel()
            drillAct.cancel()
            cleanupAct.cancel()
            let restores = (try? await restoreAct.value) ?? []
            let drills = (try? await drillAct.value) ?? []
            let cleanup = (try? await cleanupAct.value) ?? nil
            operatorTask?.cancel()
            _ = await operatorTask?.result
            operatorTask = nil

            say("")
            say(await kubectlTable(kubeconfig: kubeconfig, work: work) ?? StatusReport.render(policies, now: Date()))
            for r in restores { say("Restore \(r.metadata.namespace ?? "")/\(r.metadata.name ?? ""): \(DemoRestore.summary(r))") }
            for d in drills { say("Drill \(d.metadata.namespace ?? "")/\(d.metadata.name ?? ""): \(DemoDrill.summary(d))") }
            if let cleanup { say("Cleanup \(cleanup.metadata.namespace ?? "")/\(cleanup.metadata.name ?? ""): \(DemoCleanup.summary(cleanup))") }
            say("")
            say("$ backstop status")
            say(await statusScreen(cluster))
            let files = artifactFiles(cluster, namespaces: seed.namespaces)
            say("Artifacts (\(files.count) files):")
            for dir in Set(files.map { $0.deletingLastPathComponent().path }).sorted() { say("  \(dir)") }
            await cluster.shutdown()
            sim = nil
            if let local { await local.stop(); say("PostgreSQL: stopped") }
            say("Work directory (kept): \(work.path)")
            return DemoResult(workDirectory: work, kubeconfig: kubeconfig, policies: policies, artifactFiles: files, restores: restores,
                              drills: drills)
        } catch {
            operatorTask?.cancel()
            _ = await operatorTask?.result
            await sim?.shutdown()
            await local?.stop()
            throw error
        }
    }

    /// The policy with a `backstop.dev/run-now` request, so it backs up at once.
    static func runNow(_ policy: JSONValue) -> JSONValue {
        var p = policy
        p["metadata"]?["annotations"] = [Backstop.runNowAnnotation: "demo-start"]
        return p
    }

    /// Prints one line per policy whenever it changes; returns the last state read.
    static func narrate(_ sim: KubeSim, until deadline: ContinuousClock.Instant?, say: (String) -> Void) async -> [BackupPolicy] {
        var last: [String: String] = [:]
        var policies: [BackupPolicy] = []
        let start = ContinuousClock.now
        while deadline.map({ ContinuousClock.now < $0 }) ?? true, !Task.isCancelled {
            if let items = try? sim.store.list(Backstop.apiVersion, "BackupPolicy") {
                policies = items.compactMap { try? $0.decode(BackupPolicy.self) }
                for p in policies {
                    let key = "\(p.metadata.namespace ?? "")/\(p.metadata.name ?? "")"
                    let line = summary(p)
                    if last[key] != line {
                        last[key] = line
                        let t = Int((ContinuousClock.now - start).components.seconds)
                        say(String(format: "[%3ds] ", t) + "\(key): \(line)")
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return policies
    }

    /// One line of what matters in a policy's status.
    public static func summary(_ p: BackupPolicy) -> String {
        guard let s = p.status else { return "waiting for the operator" }
        var parts: [String] = []
        for type in ["Ready", "LastBackupSucceeded", "Verified"] {
            if let c = s.conditions?.find(type) { parts.append("\(type)=\(c.status.rawValue)") }
        }
        if let job = s.activeJob { parts.append("running \(job.name)") }
        if let b = s.lastBackup {
            parts.append("last \(b.id) \(b.sizeBytes.map { "\($0) B" } ?? "")\(b.verified == true ? " verified" : "")")
        }
        if let n = s.artifacts?.count { parts.append("\(n) artifacts") }
        if let problem = StatusReport.problem(p) { parts.append("— \(problem)") }
        return parts.isEmpty ? "no status yet" : parts.joined(separator: ", ")
    }

    /// `kubectl get bp -A` through the real kubectl when installed (printer columns by the server).
    static func kubectlTable(kubeconfig: URL, work: URL) async -> String? {
        guard let kubectl = ChildProcess.which("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", "kubectl.1.32", "kubectl") else { return nil }
        let home = work.appendingPathComponent("kubectl-home")
        guard let r = try? await ChildProcess.run(kubectl, ["--kubeconfig", kubeconfig.path, "get", "bp", "-A"],
                                                  environment: ["HOME": home.path], timeout: 30), r.succeeded else { return nil }
        return "$ kubectl get bp -A\n" + r.stdout
    }

    /// The `backstop status` screen, read through the API as the command reads it.
    static func statusScreen(_ sim: KubeSim) async -> String {
        let config = KubeConfig(server: sim.url, credentials: .token(sim.adminToken), certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) })
        do {
            let client = try KubeClient(config: config, logger: Logger(label: "demo-status", factory: { _ in SwiftLogNoOpLogHandler() }))
            return try await StatusReport.fetch(client, namespace: nil)
        } catch {
            return "backstop status: \(error)"
        }
    }

    /// Every file under the backup PVCs' local directories.
    static func artifactFiles(_ sim: KubeSim, namespaces: [String]) -> [URL] {
        var files: [URL] = []
        for ns in namespaces {
            guard let pvc = try? sim.store.get("v1", "PersistentVolumeClaim", namespace: ns, name: DemoSeed.claimName),
                  let dir = pvc["metadata"]?["annotations"]?["kube-sim.dev/local-path"]?.stringValue,
                  let walker = FileManager.default.enumerator(at: URL(fileURLWithPath: dir), includingPropertiesForKeys: [.isRegularFileKey])
            else { continue }
            for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append(url)
            }
        }
        return files.sorted { $0.path < $1.path }
    }
}
