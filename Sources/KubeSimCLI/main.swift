/// kube-sim: runs the KubeSim API-server simulator on loopback and writes a kubeconfig.
import ArgumentParser
import Foundation
import KubeSim

/// Unbuffered line output, so a parent process reading the URL sees it at once.
func print(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

@main
struct KubeSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kube-sim",
        abstract: "A Kubernetes API-server simulator for tests and demos (kubectl 1.32 compatible).")

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free port).")
    var port = 0

    @Flag(help: "Serve plain HTTP instead of HTTPS (kubectl then sends no token; anonymous requests act as admin).")
    var plain = false

    @Option(help: "Where to write a kubeconfig for the admin user.")
    var kubeconfig: String?

    @Option(help: "JSON file mapping container images to local commands for the Job runner.")
    var imageMap: String?

    @Option(help: "Directory for PVC directories, emptyDirs and container logs.")
    var dataDir: String?

    @Option(help: "Comma-separated controllers to disable: gc,namespaces,workloads,pvc,jobs.")
    var disable = ""

    @Flag(help: "Workloads roll out at once without Pods (for benchmarks with thousands of workloads).")
    var instantRollouts = false

    @Option(name: .customLong("user"), help: "Extra user as NAME or NAME:GROUP1,GROUP2 (token printed); repeatable.")
    var users: [String] = []

    @Flag(help: "Run the in-process benchmark (creates/s, 10k list, 50-watcher fan-out) and exit.")
    var bench = false

    func run() async throws {
        if bench {
            print(try await KubeSimBenchmark.run().description)
            return
        }
        var options = KubeSimOptions()
        options.host = host
        options.port = port
        options.tls = !plain
        if plain { options.anonymousUser = UserInfo.admin }
        options.controllers = .all
        let off = Set(disable.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        if off.contains("gc") { options.controllers.garbageCollector = false }
        if off.contains("namespaces") { options.controllers.namespaces = false }
        if off.contains("workloads") { options.controllers.workloads = false }
        if off.contains("pvc") { options.controllers.pvcBinder = false }
        if off.contains("jobs") { options.controllers.jobRunner = false }
        options.controllers.instantRollouts = instantRollouts
        if let imageMap { options.jobRunner.imageMapFile = URL(fileURLWithPath: imageMap) }
        if let dataDir { options.dataDirectory = URL(fileURLWithPath: dataDir) }

        let sim = try await KubeSim.start(options)
        if let kubeconfig {
            try sim.writeKubeconfig(to: URL(fileURLWithPath: kubeconfig))
            print("kubeconfig: \(kubeconfig)")
        }
        for spec in users {
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let groups = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
            print("user \(parts[0]) token: \(sim.token(for: parts[0], groups: groups))")
        }
        print("data: \(sim.dataDirectory.path)")
        print(sim.url)
        // Serve until SIGINT/SIGTERM.
        let signals = AsyncStream<Void> { continuation in
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
                source.setEventHandler { continuation.yield() }
                source.resume()
                nonisolated(unsafe) let keep = source
                continuation.onTermination = { _ in keep.cancel() }
            }
        }
        for await _ in signals { break }
        await sim.shutdown()
    }
}
