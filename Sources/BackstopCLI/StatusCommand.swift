import ArgumentParser
import BackstopApp
import Dispatch
import Foundation
import KubeClient

/// `backstop status [-n ns] [--watch] [-o json]`: the incident screen — what is failing (with
/// the reason and the next action), then every BackupPolicy, running and recently failed restores
/// and drills, cleanup policies and rotations (formatting: `BackstopApp.StatusReport`; the JSON
/// document: `StatusDocument`; the watch loop: `StatusWatch`).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what is failing and why, and every Backstop resource, on one screen.",
        discussion: "Failing resources come first with their reason and the next action. -o json prints the same as one "
            + "document for scripts (see docs/incident.md); --watch draws it again whenever it changes, until Ctrl-C.")

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Option(name: [.short, .long], help: "Only this namespace (default: all namespaces).")
    var namespace: String?
    @Option(name: [.short, .long], help: "text (the screen) or json (one document; with --watch, one per line).")
    var output: OutputFormat = .text
    @Flag(name: [.short, .long], help: "Keep watching; draw again whenever the report changes. Ctrl-C ends it.")
    var watch = false
    @Option(help: "With --watch: seconds between reads.")
    var interval: Double = 2
    @Option(help: "Kubeconfig path (env KUBECONFIG; default: in-cluster service account, then ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "Kubeconfig context (default: current-context).")
    var context: String?

    func validate() throws {
        guard interval >= 0.2, interval <= 3600 else { throw ValidationError("--interval must be between 0.2 and 3600 seconds") }
    }

    func run() async throws {
        let config: KubeConfig
        do { config = try KubeConfig.load(kubeconfig: kubeconfig, context: context) } catch {
            throw ValidationError("cannot load the cluster configuration: \(error)")
        }
        let client = try KubeClient(config: config)
        let namespace = self.namespace
        guard watch else {
            let snapshot = try await StatusSnapshot.fetch(client, namespace: namespace)
            switch output {
            case .text: print(StatusReport.render(snapshot, now: Date()), terminator: "")
            case .json: print(String(decoding: try StatusDocument(snapshot, now: Date()).encoded(), as: UTF8.self))
            }
            return
        }
        let watcher = StatusWatch(output: output == .json ? .json : .text, interval: .milliseconds(Int(interval * 1000)),
                                  clearScreen: output == .text && isatty(STDOUT_FILENO) == 1)
        let task = Task {
            await watcher.run(fetch: { try await StatusSnapshot.fetch(client, namespace: namespace) },
                              write: { text in FileHandle.standardOutput.write(Data(text.utf8)) })
        }
        // Ctrl-C (or SIGTERM) ends the watch and the command returns normally, exit status 0.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        _ = await task.value
        sources.forEach { $0.cancel() }
    }
}
