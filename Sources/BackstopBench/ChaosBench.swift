import ArgumentParser
import BackstopChaos
import BackstopDemo
import Foundation

/// `backstop-bench chaos`: the full chaos run (≥ 200 SIGKILLs of two operator replicas with the
/// API fault mix) against a throw-away PostgreSQL; prints what ran and the invariants, and
/// exits non-zero when one is not 0.
struct ChaosBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Backups, restores, drills, rotations, cleanups while replicas are SIGKILLed and the API misbehaves; prints the invariants.")

    @Option(help: "SIGKILLs sent to operator replicas.") var kills = 200
    @Option(help: "Operator replicas (leadership moves when the leader dies).") var replicas = 2
    @Option(help: "Shortest pause between kills (ms).") var minIntervalMs = 500
    @Option(help: "Longest pause between kills (ms).") var maxIntervalMs = 4_000
    @Flag(help: "No API faults, kills only.") var noApiFaults = false
    @Option(help: "Seconds everything may take to finish after the last fault.") var convergeSeconds = 300
    @Option(help: "Path of the backstop executable (default: beside backstop-bench).") var backstop: String?
    @Option(help: "Keep logs and the backup volume here (default: a temp dir).") var workDirectory: String?

    func run() async throws {
        let exe = backstop ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("backstop").path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw ValidationError("no backstop executable at \(exe); build the backstop product too or pass --backstop")
        }
        let work = workDirectory.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("backstop-chaos-\(UUID().uuidString.prefix(8))")
        print("chaos: starting a throw-away PostgreSQL …")
        let pg = try await LocalPostgres.start(in: work.appendingPathComponent("postgres"), password: UUID().uuidString)
        var options = ChaosOptions(postgres: pg.endpoint, backstop: exe)
        options.kills = kills
        options.replicas = replicas
        options.killIntervalMs = minIntervalMs...max(minIntervalMs, maxIntervalMs)
        options.apiFaults = !noApiFaults
        options.convergeTimeout = .seconds(convergeSeconds)
        options.workDirectory = work
        let report: ChaosReport
        do { report = try await ChaosRun.run(options) } catch { await pg.stop(); throw error }
        await pg.stop()
        print(report.render())
        if !report.holds { throw ExitCode(1) }
    }
}
