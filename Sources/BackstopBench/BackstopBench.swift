/// backstop-bench: benchmark programs that print figures (not tests). Each area adds a
/// subcommand here and keeps its benchmark function in its own file (HTTPBench.swift …).
import ArgumentParser

@main
struct BackstopBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backstop-bench",
        abstract: "Benchmarks that print figures (not tests).",
        subcommands: [HTTPBenchCommand.self, KubeSimBenchCommand.self, AgentBenchCommand.self, RuntimeBenchCommand.self, OperatorBenchCommand.self,
                      PodsBenchCommand.self, ChaosBenchCommand.self, FloorPeerCommand.self, RunNowPathBenchCommand.self])
}

struct HTTPBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http",
        abstract: "Small GETs over one connection and a streamed download, next to the curl CLI; peak RSS.")

    @Option(help: "Sequential small GETs.")
    var requests = 10_000

    @Option(name: .customLong("download-mib"), help: "Size of the streamed download in MiB.")
    var downloadMiB = 1024

    func run() async throws {
        try await runHTTPBenchmark(requests: requests, downloadBytes: downloadMiB << 20)
    }
}
