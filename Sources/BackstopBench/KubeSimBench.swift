import ArgumentParser
import KubeSim

/// Prints the simulator's throughput: creates/s, a 10k-object list latency and watch fan-out
/// (50 watchers) events/s, measured in-process through the API layer (no sockets).
func runKubeSimBench(creates: Int = 2000, listObjects: Int = 10_000, watchers: Int = 50, watchEvents: Int = 1000) async throws {
    let report = try await KubeSimBenchmark.run(creates: creates, listObjects: listObjects, watchers: watchers,
                                                watchEvents: watchEvents)
    print(report, terminator: "")
}

struct KubeSimBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubesim",
        abstract: "KubeSim: creates/s, a 10k-object list, watch fan-out to 50 watchers.")

    @Option(help: "Objects created one by one.") var creates = 2000
    @Option(help: "Objects in the listed collection.") var listObjects = 10_000
    @Option(help: "Concurrent watchers.") var watchers = 50
    @Option(help: "Events each watcher receives.") var watchEvents = 1000

    func run() async throws {
        try await runKubeSimBench(creates: creates, listObjects: listObjects, watchers: watchers, watchEvents: watchEvents)
    }
}
