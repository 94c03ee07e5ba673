import ArgumentParser
import BackstopApp
import Foundation
import KubeRuntime
import Logging

/// `backstop run`: the control plane in one process and one ServiceGroup (assembled by
/// `BackstopApp.OperatorProcess`, which the demo and the tests use too). Flags fall back to
/// environment variables (BACKSTOP_*), then to defaults. SIGTERM/SIGINT stop taking work, let
/// in-flight reconciles finish within `--grace-period`, then release the Lease.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the Backstop controllers against the cluster.")

    @Option(help: "Kubeconfig path (env KUBECONFIG; default: in-cluster service account, then ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "Kubeconfig context (default: current-context).")
    var context: String?
    @Option(help: "Comma-separated namespaces to watch; empty or unset watches all (env BACKSTOP_NAMESPACES).")
    var namespaces: String?
    @Option(help: "Leader election on or off: true|false (env BACKSTOP_LEADER_ELECT; default true).")
    var leaderElect: Bool?
    @Option(help: "Namespace of the leader-election Lease (env BACKSTOP_LEADER_ELECTION_NAMESPACE; default: the config's namespace).")
    var leaderElectionNamespace: String?
    @Option(help: "Name of the leader-election Lease.")
    var leaderElectionID = "backstop-controller"
    @Option(help: "This instance's identity (env BACKSTOP_IDENTITY or POD_NAME; default hostname + random).")
    var identity: String?
    @Option(help: "Health and metrics listen address host:port (env BACKSTOP_METRICS_ADDRESS; default 0.0.0.0:8080).")
    var metricsAddress: String?
    @Option(help: "Image of the agent Jobs, normally the operator's own image (env BACKSTOP_AGENT_IMAGE).")
    var agentImage: String?
    @Option(help: "trace|debug|info|notice|warning|error|critical (env BACKSTOP_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(help: "json|text (env BACKSTOP_LOG_FORMAT; default json).")
    var logFormat: String?
    @Option(help: "Client-side API budget: requests per second.")
    var qps: Double = 20
    @Option(help: "Client-side API budget: burst.")
    var burst: Int = 30
    @Option(help: "Seconds in-flight reconciles get to finish after SIGTERM.")
    var gracePeriod: Int = 30
    @Option(help: .hidden)
    var leaseDurationSeconds: Int = 15
    @Option(help: .hidden)
    var renewDeadlineSeconds: Int = 10
    @Option(help: .hidden)
    var retryPeriodMilliseconds: Int = 2000
    @Option(help: .hidden)
    var secretRecheckSeconds: Int = 30
    @Option(help: .hidden)
    var resultGraceSeconds: Int = 30
    @Option(help: "Seconds after the caches synced to page out the memory only start-up used (0: never).")
    var pageOutAfterSyncSeconds: Int = 30
    @Flag(help: .hidden)
    var testingConfigMapController = false

    func run() async throws {
        FreeMemory.tuneMalloc()
        let env = ProcessInfo.processInfo.environment
        let levelText = logLevel ?? env["BACKSTOP_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard let format = JSONLogHandler.Format(rawValue: (logFormat ?? env["BACKSTOP_LOG_FORMAT"] ?? "json").lowercased()) else {
            throw ValidationError("--log-format must be json or text")
        }
        JSONLogHandler.bootstrap(level: level, format: format)
        let logger = Logger(label: "backstop")

        var options = OperatorOptions()
        options.kubeconfig = kubeconfig
        options.context = context
        options.namespaces = namespaces.map(OperatorOptions.list) ?? []
        options.leaderElectionNamespace = leaderElectionNamespace
        options.leaderElectionID = leaderElectionID
        options.identity = identity
        options.agentImage = agentImage ?? ""
        options.applyEnvironment(env)
        if let leaderElect { options.leaderElect = leaderElect }
        if let agentImage { options.agentImage = agentImage }
        if options.agentImage.isEmpty { options.agentImage = OperatorOptions().agentImage }
        do {
            try options.setMetricsAddress(metricsAddress ?? env["BACKSTOP_METRICS_ADDRESS"] ?? "0.0.0.0:8080")
        } catch { throw ValidationError("\(error)") }
        options.qps = qps
        options.burst = burst
        options.gracePeriod = .seconds(gracePeriod)
        options.leaseDuration = .seconds(leaseDurationSeconds)
        options.renewDeadline = .seconds(renewDeadlineSeconds)
        options.retryPeriod = .milliseconds(retryPeriodMilliseconds)
        options.secretRecheckInterval = .seconds(secretRecheckSeconds)
        options.resultGracePeriod = .seconds(resultGraceSeconds)
        options.testingConfigMapController = testingConfigMapController
        options.pageOutAfterSync = pageOutAfterSyncSeconds > 0 ? .seconds(pageOutAfterSyncSeconds) : nil

        let process: OperatorProcess
        do { process = try OperatorProcess(options: options, logger: logger) } catch let error as OperatorError {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        try await process.run()
    }
}
