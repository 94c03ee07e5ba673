/// BackstopChaos: the chaos run. Backups, restores, drills, rotations and cleanups run against
/// KubeSim (Job runner, real workload Pods) and a real PostgreSQL while two operator replicas
/// (`backstop run` subprocesses bound to manifests/ RBAC) are killed with SIGKILL and the API
/// server misbehaves; then the promises are checked as invariants that must all be 0.
/// `backstop-bench chaos` runs the full profile; a CI test runs the short one.
import BackstopDemo
import Foundation

public struct ChaosOptions: Sendable {
    /// SIGKILLs sent to operator replicas (the leader three times in four).
    public var kills = 200
    /// Pause between kills, picked uniformly in this range (ms).
    public var killIntervalMs: ClosedRange<Int> = 500...4_000
    /// A killed replica comes back after a pause in this range (ms).
    public var restartDelayMs: ClosedRange<Int> = 0...1_500
    /// Operator replicas contending for the lease (leadership moves when the leader dies).
    public var replicas = 2
    /// Inject the API fault mix (5xx, 429 with Retry-After, 409, dropped watches, 410 on
    /// compaction, an API-server restart) while the kills run.
    public var apiFaults = true
    /// After the last fault: how long everything may take to finish what it started.
    public var convergeTimeout: Duration = .seconds(300)
    /// The PostgreSQL the workloads use (a superuser login).
    public var postgres: PostgresServer
    /// The `backstop` executable: the operator replicas and the agent image's entrypoint.
    public var backstop: String
    /// Logs, kubeconfigs and the backup volume; a fresh temp dir when nil.
    public var workDirectory: URL?
    public var output: @Sendable (String) -> Void = { print($0) }

    public init(postgres: PostgresServer, backstop: String) {
        self.postgres = postgres
        self.backstop = backstop
    }

    /// The short profile CI runs as a test: 20 kills, the same fault mix.
    public static func ci(postgres: PostgresServer, backstop: String) -> ChaosOptions {
        var o = ChaosOptions(postgres: postgres, backstop: backstop)
        o.kills = 20
        o.killIntervalMs = 400...2_500
        o.convergeTimeout = .seconds(240)
        return o
    }
}
