import KubeSim

/// Prints the simulator's throughput: creates/s, a 10k-object list latency and watch fan-out
/// (50 watchers) events/s, measured in-process through the API layer (no sockets). Wired into
/// the bench CLI by the lead.
func runKubeSimBench(creates: Int = 2000, listObjects: Int = 10_000, watchers: Int = 50, watchEvents: Int = 1000) async throws {
    let report = try await KubeSimBenchmark.run(creates: creates, listObjects: listObjects, watchers: watchers,
                                                watchEvents: watchEvents)
    print(report, terminator: "")
}
