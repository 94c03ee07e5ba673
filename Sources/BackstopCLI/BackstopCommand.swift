/// backstop: the operator (`run`), the data-plane agent (`agent …`) and the user tools
/// (`validate`, `crds`, `status`). Each subcommand lives in its own file; the demo is the
/// separate `backstop-demo` executable, so this one links no simulator.
import AgentCLI
import ArgumentParser

@main
struct BackstopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backstop",
        abstract: "Backstop: backup, restore, drill, retention and rotation runbooks as Kubernetes resources.",
        version: backstopVersion,
        subcommands: BackstopCommand.registered
    )

    /// Subcommands in the order `--help` lists them; each file adds its own entry here.
    static let registered: [any ParsableCommand.Type] = [
        VersionCommand.self,
        RunCommand.self,
        AgentCommand.self,
        ValidateCommand.self,
        CRDsCommand.self,
        StatusCommand.self,
    ]
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the Backstop version.")
    func run() { print(backstopVersion) }
}

let backstopVersion = "0.1.0-dev"
