import Agent
import ArgumentParser

/// AgentCLI: `agent <backup|verify|restore|prune|cleanup|catalog|drill|rotate> --spec FILE`, the data plane as
/// a subcommand of `backstop` (the image's Jobs) and of `backstop-demo` (the demo's Jobs),
/// run inside the Jobs the controllers create (and on a laptop against local servers).
/// Progress goes to stderr, the result JSON to stdout and to the termination-message file.
/// Exit codes: 0 ok, 1 internal, 2 bad spec/secret, 3 unreachable or credentials rejected,
/// 4 refused before changing anything, 5 integrity check failed, 6 failed part-way (rolled back).
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run one data-plane step (backup, verify, restore, prune, cleanup, catalog, drill, rotate) from a JSON spec.",
        discussion: """
            The spec carries the relevant part of the custom resource plus the paths of mounted Secret files; \
            secrets are never passed on the command line or in the environment.
            Exit codes: 0 ok, 1 internal error, 2 bad spec or unreadable secret, 3 unreachable or credentials \
            rejected, 4 refused before changing anything, 5 integrity check failed, 6 failed part-way.
            """)

    @Argument(help: "backup | verify | restore | prune | cleanup | catalog | drill | rotate")
    var command: String

    @Option(help: "Path of the JSON spec.")
    var spec: String?

    @Option(name: .customLong("spec-env"), help: "Name of an environment variable holding the JSON spec.")
    var specEnv: String?

    @Option(name: .customLong("termination-log"), help: "Where to write the ≤ 4 KiB result (default /dev/termination-log when writable).")
    var terminationLog: String?

    @Flag(name: .customLong("dry-run"), help: "prune/cleanup: report what would be deleted, delete nothing.")
    var dryRun = false

    public init() {}

    public func run() async throws {
        let outcome = await AgentMain.run(.init(command: command, specFile: spec, specEnv: specEnv,
                                                terminationLog: terminationLog, dryRun: dryRun))
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }
}
