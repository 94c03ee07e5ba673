import Foundation

/// How to start a simulator. The defaults suit in-process tests: TLS on loopback with a free
/// port, bearer tokens required, RBAC enforced for everyone outside `system:masters`, garbage
/// collector and namespace finalization on, workload controllers and the Job runner off.
public struct KubeSimOptions: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 0
    /// Serve HTTPS with a generated CA (kubectl only sends bearer tokens over TLS).
    public var tls = true
    public var eventLoopThreads = 2
    /// The identity of requests without a token; nil answers them 401.
    public var anonymousUser: UserInfo?
    /// Evaluate stored RBAC objects for users outside `system:masters`.
    public var rbac = true
    /// Watch events kept for resuming watches; older starting points get 410 Expired.
    public var watchHistory = 10_000
    /// Server-chosen watch duration when the client sends no `timeoutSeconds`.
    public var watchTimeout: ClosedRange<TimeInterval> = 1800...3600
    /// Bookmark period for watches that allow bookmarks (0 disables periodic bookmarks).
    public var bookmarkInterval: TimeInterval = 60
    public var controllers = Controllers()
    /// Where PVC directories, emptyDirs and container logs live (a fresh temp dir when nil).
    public var dataDirectory: URL?
    public var jobRunner = JobRunnerOptions()
    public var kubelet = KubeletOptions()

    public init() {}

    /// Switches for the simulated controllers (§R).
    public struct Controllers: Sendable {
        /// Deletes dependents of deleted owners; handles Foreground and Orphan propagation.
        public var garbageCollector = true
        /// Empties terminating namespaces and removes them.
        public var namespaces = true
        /// Deployment → ReplicaSet → Pods and StatefulSet → Pods, run by the kubelet as local
        /// processes; status, rollouts and readiness follow the real Pods.
        public var workloads = false
        /// With `workloads`: the old behaviour for benchmarks that create thousands of workloads —
        /// no Pods, every spec change "rolls out" at once and status says every replica is ready.
        public var instantRollouts = false
        /// Binds each PVC to a local directory under the data directory.
        public var pvcBinder = false
        /// Runs each Job's container as a local process (see `JobRunnerOptions`).
        public var jobRunner = false
        public init() {}

        /// Everything on (the `kube-sim` executable's default).
        public static var all: Controllers {
            var c = Controllers()
            c.workloads = true
            c.pvcBinder = true
            c.jobRunner = true
            return c
        }
    }
}

/// How the simulated kubelet runs Pods (contract §R; deviations in docs/kubesim.md).
public struct KubeletOptions: Sendable {
    /// First delay before a crashed container is started again; doubles per restart
    /// (CrashLoopBackOff) up to `maxRestartBackoff`. The real kubelet uses 10 s and 5 min.
    public var restartBackoff: TimeInterval = 0.5
    public var maxRestartBackoff: TimeInterval = 10
    /// How often a waiting container (unmapped image, missing Secret) is retried.
    public var configRetry: TimeInterval = 1
    public init() {}
}

/// How the Job runner turns container images into local commands.
public struct JobRunnerOptions: Sendable {
    /// Image → command prefix. The container's `command` replaces the image entrypoint as in
    /// Kubernetes: the process run is `entrypoint + args` when `command` is absent, else
    /// `command + args`, with the executable resolved through `PATH`. An image missing from the
    /// map uses `command` as is (so `busybox` style jobs with `sh -c` run the local shell).
    public var images: [String: [String]] = [:]
    /// A JSON file with the same mapping (`{"image": ["cmd", "arg"]}`), read at start.
    public var imageMapFile: URL?
    /// Extra environment for every container process (for example PATH additions).
    public var environment: [String: String] = [:]
    /// Delay between a failed Pod and its replacement.
    public var retryDelay: TimeInterval = 0.2
    public init() {}
}
