import ArgumentParser
import BackstopApp
import Foundation
import KubeClient

/// `backstop status [-n ns]`: every BackupPolicy's last success, last verified backup, next run
/// and failing reason, then running and recently failed restores, on one screen (formatting:
/// `BackstopApp.StatusReport`).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show every BackupPolicy's health and every running restore on one screen.")

    @Option(name: [.short, .long], help: "Only this namespace (default: all namespaces).")
    var namespace: String?
    @Option(help: "Kubeconfig path (env KUBECONFIG; default: in-cluster service account, then ~/.kube/config).")
    var kubeconfig: String?
    @Option(help: "Kubeconfig context (default: current-context).")
    var context: String?

    func run() async throws {
        let config: KubeConfig
        do { config = try KubeConfig.load(kubeconfig: kubeconfig, context: context) } catch {
            throw ValidationError("cannot load the cluster configuration: \(error)")
        }
        let client = try KubeClient(config: config)
        print(try await StatusReport.fetch(client, namespace: namespace), terminator: "")
    }
}
