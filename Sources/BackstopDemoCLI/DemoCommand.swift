import AgentCLI
import ArgumentParser
import BackstopApp
import BackstopDemo
import Foundation
import KubeRuntime
import Logging

/// backstop-demo: the whole system on one machine (see `BackstopDemo.Demo`). Ctrl-C or
/// `--duration` ends it; it always stops what it started. A separate executable so the shipped
/// `backstop` links no simulator; it also answers `agent …`, the command its demo Jobs run.
@main
struct DemoMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backstop-demo",
        abstract: "Run Backstop end to end on this machine: simulator, Job runner, PostgreSQL, operator.",
        subcommands: [DemoCommand.self, AgentCommand.self],
        defaultSubcommand: DemoCommand.self)
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run Backstop end to end on this machine: simulator, Job runner, PostgreSQL, operator.")

    @Option(help: "Stop after this long (e.g. 60s, 5m); default: until Ctrl-C.")
    var duration: String?
    @Option(help: "The schedule of every demo policy (each also backs up once at the start).")
    var schedule = "@every 1m"
    @Option(help: "Keep the cluster data, artifacts and kubeconfig here (default: a new temp dir).")
    var workDir: String?
    @Option(help: "Seed examples to apply.")
    var examples = "docs/examples"
    @Option(help: "Use this PostgreSQL (postgres://user:password@host:port) instead of starting one (env BACKSTOP_DEMO_POSTGRES).")
    var postgres: String?
    @Option(help: "Operator log level shown during the demo.")
    var logLevel = "warning"

    func run() async throws {
        JSONLogHandler.bootstrap(level: .warning, format: .text)
        var options = DemoOptions(agentCommand: DemoOptions.selfAgentCommand())
        if let duration {
            guard let seconds = Self.seconds(duration) else { throw ValidationError("--duration must look like 60s, 5m or 1h") }
            options.duration = .seconds(seconds)
        }
        options.schedule = schedule
        options.workDirectory = workDir.map { URL(fileURLWithPath: $0) }
        options.examples = URL(fileURLWithPath: examples)
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown --log-level") }
        options.operatorLogLevel = level
        if let url = postgres ?? ProcessInfo.processInfo.environment["BACKSTOP_DEMO_POSTGRES"] {
            guard let c = URLComponents(string: url), let host = c.host else { throw ValidationError("--postgres must be postgres://user:password@host:port") }
            options.postgres = PostgresServer(host: host, port: c.port ?? 5432, user: c.user ?? "postgres",
                                                password: c.password ?? "", bindir: await LocalPostgres.findBindir() ?? "/usr/bin")
        }
        let demo = Task { [options] in try await Demo.run(options) }
        // Ctrl-C cancels the demo task; the demo then prints its summary and cleans up.
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { demo.cancel() }
        source.resume()
        defer { source.cancel() }
        _ = try await demo.value
    }

    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        if let unit = text.last, let factor = units[unit], let n = Int(text.dropLast()) { return n * factor }
        return Int(text)
    }
}
