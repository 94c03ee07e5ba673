/// KubeSim: an in-process Kubernetes API-server simulator that real clients (kubectl 1.32, the python
/// client, kopf) accept, with switchable simulated controllers, a Job runner and test hooks.
/// The specification is `kube-api-contract.md`; deviations are listed in docs/kubesim.md.
///
/// Public API (kept small and stable):
/// ```swift
/// let sim = try await KubeSim.start(KubeSimOptions())   // HTTPS on 127.0.0.1, free port
/// sim.url                      // "https://127.0.0.1:PORT"
/// sim.caPEM                    // the generated CA (nil when serving plain HTTP)
/// sim.adminToken               // a `system:masters` token
/// sim.token(for: "alice", groups: ["dev"])   // a bearer token for any user
/// try sim.writeKubeconfig(to: path, user: "alice")
/// sim.store                    // direct access: create/get/list/update/updateStatus/delete as JSONValue
/// sim.faults                   // fault injection: 409/429/500/503, latency, drop watches, compact, restart
/// sim.clock                    // injectable clock (freeze/advance)
/// sim.requestLog               // every answered request
/// sim.jobRunner                // image map of the Job runner (also `KubeSimOptions.jobRunner`)
/// await sim.shutdown()
/// ```
import DynamicJSON
import Foundation
import Synchronization

public final class KubeSim: Sendable {
    public let store: Store
    public let faults: Faults
    public let clock: SimClock
    public let requestLog: RequestLog
    /// `https://127.0.0.1:PORT` (or `http://` without TLS).
    public let url: String
    public let port: Int
    /// The CA that signed the serving certificate, PEM; nil for plain HTTP.
    public let caPEM: String?
    /// A token for `kubesim-admin` in `system:masters` (RBAC does not apply).
    public let adminToken: String
    /// The Job runner's image map and settings; changes apply to Pods started afterwards.
    public let jobRunner: JobRunnerConfig
    /// Where PVC directories, emptyDirs and container logs live.
    public let dataDirectory: URL

    let auth: Authenticator
    let api: APIServer
    private let front: HTTPFront
    private let controllers: Mutex<ControllerSet>
    private let podLogs: PodLogs
    private let options: KubeSimOptions

    private init(store: Store, faults: Faults, clock: SimClock, requestLog: RequestLog, url: String, port: Int, caPEM: String?,
                 adminToken: String, jobRunner: JobRunnerConfig, dataDirectory: URL, auth: Authenticator,
                 api: APIServer, front: HTTPFront, controllers: ControllerSet, podLogs: PodLogs, options: KubeSimOptions)
    {
        self.store = store
        self.faults = faults
        self.clock = clock
        self.requestLog = requestLog
        self.url = url
        self.port = port
        self.caPEM = caPEM
        self.adminToken = adminToken
        self.jobRunner = jobRunner
        self.dataDirectory = dataDirectory
        self.auth = auth
        self.api = api
        self.front = front
        self.controllers = Mutex(controllers)
        self.podLogs = podLogs
        self.options = options
    }

    /// Starts the server and the enabled controllers.
    public static func start(_ options: KubeSimOptions = KubeSimOptions(), clock: SimClock = SimClock()) async throws -> KubeSim {
        let store = Store(clock: clock, historyCapacity: options.watchHistory)
        let faults = Faults()
        let requestLog = RequestLog(clock: clock)
        let auth = Authenticator(anonymous: options.anonymousUser, rbac: options.rbac)
        let adminToken = auth.token(for: UserInfo.admin.name, groups: ["system:masters"])
        let podLogs = PodLogs()
        let dataDirectory = options.dataDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("kube-sim-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        let api = APIServer(store: store, clock: clock, auth: auth, faults: faults, requestLog: requestLog, podLogs: podLogs,
                            watchTimeout: options.watchTimeout, bookmarkInterval: options.bookmarkInterval)
        let tls = options.tls ? try SelfSignedTLS.generate() : nil
        let front = try await HTTPFront.start(api: api, host: options.host, port: options.port, tls: try tls?.sslContext(),
                                              threads: options.eventLoopThreads)
        let scheme = options.tls ? "https" : "http"
        let url = "\(scheme)://\(options.host):\(front.port)"
        api.serverAddress = "\(options.host):\(front.port)"
        faults.install(Faults.Hooks(
            dropWatches: { store.dropAllWatches() },
            compact: { store.compactHistory() },
            restart: {
                store.dropAllWatches()
                front.dropConnections()
            }))
        let jobConfig = try JobRunnerConfig(options.jobRunner)
        let controllers = ControllerSet(store: store, clock: clock, options: options, dataDirectory: dataDirectory,
                                        podLogs: podLogs, jobConfig: jobConfig)
        controllers.start()
        return KubeSim(store: store, faults: faults, clock: clock, requestLog: requestLog, url: url, port: front.port,
                       caPEM: tls?.caPEM, adminToken: adminToken, jobRunner: jobConfig, dataDirectory: dataDirectory,
                       auth: auth, api: api, front: front, controllers: controllers, podLogs: podLogs, options: options)
    }

    /// A bearer token for `user` (created on first use with `groups`).
    public func token(for user: String, groups: [String] = []) -> String {
        auth.token(for: user, groups: groups)
    }

    /// A container's log as `kubectl logs` returns it (tests scan what agents printed); nil before it started.
    public func logs(podUID: String, container: String) -> String? { podLogs.read(podUID: podUID, container: container) }

    /// Replaces the tokens of `user`; the old ones get 401 from now on. Nil for an unknown user.
    @discardableResult
    public func rotateToken(for user: String) -> String? { auth.rotate(user) }

    /// Writes a kubeconfig (server URL, CA data, the user's token) usable by kubectl and the python client.
    public func writeKubeconfig(to path: URL, user: String = UserInfo.admin.name, groups: [String] = []) throws {
        let token = user == UserInfo.admin.name ? adminToken : self.token(for: user, groups: groups)
        var cluster: JSONValue = ["server": .string(url)]
        if let caPEM { cluster["certificate-authority-data"] = .string(Data(caPEM.utf8).base64EncodedString()) }
        let config: JSONValue = [
            "apiVersion": "v1", "kind": "Config", "current-context": "kube-sim",
            "clusters": [["name": "kube-sim", "cluster": cluster]],
            "users": [["name": .string(user), "user": ["token": .string(token)]]],
            "contexts": [["name": "kube-sim", "context": ["cluster": "kube-sim", "user": .string(user), "namespace": "default"]]],
            "preferences": [:],
        ]
        try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(config.serialized(pretty: true)).write(to: path, options: .atomic)
    }

    /// Restarts the simulated controllers on the same store and data directory, as a restart of
    /// kube-controller-manager and the kubelet: running Pod processes are adopted by the new
    /// kubelet (through their pid files), never started twice. Watches are dropped as well.
    public func restartControllers() async {
        let old = controllers.withLock { $0 }
        await old.stop(keepPods: true)
        store.dropAllWatches()
        let fresh = ControllerSet(store: store, clock: clock, options: options, dataDirectory: dataDirectory,
                                  podLogs: podLogs, jobConfig: jobRunner)
        controllers.withLock { $0 = fresh }
        fresh.start()
    }

    /// Stops controllers (killing every Pod process) and the server.
    public func shutdown() async {
        await controllers.withLock { $0 }.stop()
        await front.shutdown()
    }
}
