import Foundation

/// The operator replicas (`backstop run`) contending for the lease. A kill is a real SIGKILL;
/// half the restarts keep the replica's identity (a container restarted in its Pod), half take
/// a new one (a Pod rescheduled), so leadership both stays and moves. A replica found dead
/// before its kill crashed by itself.
actor Replicas {
    private let world: ChaosWorld
    private let logs: URL
    private var running: [OperatorSubprocess?]
    private var identities: [String]
    private var generation = 0
    private(set) var logFiles: [URL] = []

    init(world: ChaosWorld, count: Int, logs: URL) {
        self.world = world
        self.logs = logs
        running = Array(repeating: nil, count: max(1, count))
        identities = running.indices.map { "chaos-\($0)" }
    }

    func startAll() throws {
        for i in running.indices where running[i] == nil { try start(i) }
    }

    private func start(_ i: Int) throws {
        let p = try OperatorSubprocess(kubeconfig: world.kubeconfig, agentImage: ChaosWorld.agentImage,
                                       extraArgs: ["--identity", identities[i]], logDirectory: logs, name: "replica-\(i)")
        running[i] = p
        logFiles.append(p.log)
    }

    /// Kills the leader three times in four (another replica otherwise), restarts it after a
    /// pause; returns the replicas that had exited on their own.
    func killOne(preferring leader: String?, restartAfter delayMs: ClosedRange<Int>) async -> [String] {
        let leaderIndex = leader.flatMap { l in identities.firstIndex(of: l) }
        let i = (leaderIndex != nil && Int.random(in: 0..<4) < 3) ? leaderIndex! : Int.random(in: running.indices)
        var crashed: [String] = []
        if let p = running[i] {
            if !p.isRunning { crashed.append("replica \(identities[i]) exited by itself (\(p.log.lastPathComponent))") }
            await p.kill9()
        }
        running[i] = nil
        if Bool.random() {
            generation += 1
            identities[i] = "chaos-\(i)-\(generation)"
        }
        try? await Task.sleep(for: .milliseconds(Int.random(in: delayMs)))
        do { try start(i) } catch { crashed.append("replica chaos-\(i) did not start: \(error)") }
        return crashed
    }

    /// Restarts any replica that is not running (a crash is reported).
    func ensureRunning() -> [String] {
        var crashed: [String] = []
        for i in running.indices where !(running[i]?.isRunning ?? false) {
            if running[i] != nil { crashed.append("replica chaos-\(i) exited by itself") }
            try? start(i)
        }
        return crashed
    }

    /// SIGTERM to every replica; one that had already exited crashed.
    func stopAll() async -> [String] {
        var crashed: [String] = []
        for i in running.indices {
            guard let p = running[i] else { continue }
            if !p.isRunning { crashed.append("replica chaos-\(i) exited by itself") }
            await p.terminate()
            running[i] = nil
        }
        return crashed
    }
}
