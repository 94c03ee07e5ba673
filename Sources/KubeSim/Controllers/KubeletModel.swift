import DynamicJSON
import Foundation
import Synchronization

/// The kubelet's runtime view of one Pod: its containers, their processes and probe counters.
/// Instances are confined to the kubelet's serial queue (see `Kubelet.queue`).
final class PodRun: @unchecked Sendable {
    let uid: String
    let key: ObjectKey
    let ip: String
    let restartPolicy: String
    var initContainers: [ContainerRun]
    var containers: [ContainerRun]
    /// Index of the init container to run next; `initContainers.count` once all succeeded.
    var nextInit = 0
    var startTime: String
    /// Set once deletion began: processes get SIGTERM, then SIGKILL after the grace period.
    var terminating = false
    /// Succeeded/Failed: every container stopped for good.
    var finalPhase: String?

    init(uid: String, key: ObjectKey, ip: String, restartPolicy: String, spec: JSONValue, startTime: String) {
        self.uid = uid
        self.key = key
        self.ip = ip
        self.restartPolicy = restartPolicy
        self.startTime = startTime
        initContainers = (spec["initContainers"]?.arrayValue ?? []).enumerated().map { ContainerRun($1, index: $0, isInit: true) }
        containers = (spec["containers"]?.arrayValue ?? []).enumerated().map { ContainerRun($1, index: $0, isInit: false) }
    }

    var initialized: Bool { nextInit >= initContainers.count }
    var all: [ContainerRun] { initContainers + containers }
    var running: [ContainerRun] { all.filter { $0.pid != 0 } }

    func container(_ name: String, isInit: Bool) -> ContainerRun? {
        (isInit ? initContainers : containers).first { $0.name == name }
    }
}

/// One container of a `PodRun`.
final class ContainerRun: @unchecked Sendable {
    let name: String
    let index: Int
    let isInit: Bool
    let image: String
    let probes: [ProbeKind: Probe]
    /// Named container ports, for probes that name their port.
    let namedPorts: [String: Int]
    var process: Process?
    /// The process (and process-group) id while running; 0 otherwise.
    var pid: Int32 = 0
    /// Bumped on every start, so timers and probe results of an earlier run are ignored.
    var generation = 0
    var restartCount: Int64 = 0
    var state: JSONValue = ["waiting": ["reason": "ContainerCreating"]]
    var lastState: JSONValue = [:]
    var ready = false
    /// The startup probe passed (or there is none).
    var started = false
    var startedAt: Date?
    var successes: [ProbeKind: Int] = [:]
    var failures: [ProbeKind: Int] = [:]
    /// The environment and directory the process got, for exec probes.
    var env: [String: String] = [:]
    var workingDir: URL?
    var mounts: [(String, String)] = []
    /// Stopped for good (init container succeeded, or no restart by policy).
    var done = false
    /// Why the kubelet stopped it (liveness, startup probe), reported as the terminated reason.
    var killReason: String?

    init(_ spec: JSONValue, index: Int, isInit: Bool) {
        name = spec["name"]?.stringValue ?? "c\(index)"
        self.index = index
        self.isInit = isInit
        image = spec["image"]?.stringValue ?? ""
        var probes: [ProbeKind: Probe] = [:]
        for kind in ProbeKind.allCases {
            if let p = spec[kind.field], let probe = Probe(p) { probes[kind] = probe }
        }
        self.probes = probes
        var ports: [String: Int] = [:]
        for port in spec["ports"]?.arrayValue ?? [] {
            if let n = port["name"]?.stringValue, let number = port["containerPort"]?.intValue { ports[n] = Int(number) }
        }
        namedPorts = ports
    }

    var running: Bool { pid != 0 }
}

enum ProbeKind: String, CaseIterable, Sendable {
    case startup, readiness, liveness
    var field: String { rawValue + "Probe" }
    var word: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// A container probe as the spec declares it (`exec`, `httpGet`, `tcpSocket`, `grpc` unsupported).
struct Probe: Sendable {
    enum Action: Sendable {
        case exec([String])
        case http(host: String?, port: PortRef, path: String, https: Bool, headers: [(String, String)])
        case tcp(host: String?, port: PortRef)
    }
    enum PortRef: Sendable {
        case number(Int)
        case name(String)
    }
    var action: Action
    var initialDelay: TimeInterval
    var period: TimeInterval
    var timeout: TimeInterval
    var successThreshold: Int
    var failureThreshold: Int

    init?(_ p: JSONValue) {
        func port(_ v: JSONValue?) -> PortRef {
            if let n = v?.intValue { return .number(Int(n)) }
            if let s = v?.stringValue { return Int(s).map(PortRef.number) ?? .name(s) }
            return .number(0)
        }
        if let command = p["exec"]?["command"]?.arrayValue {
            action = .exec(command.compactMap(\.stringValue))
        } else if let h = p["httpGet"] {
            let headers = (h["httpHeaders"]?.arrayValue ?? []).map { ($0["name"]?.stringValue ?? "", $0["value"]?.stringValue ?? "") }
            action = .http(host: h["host"]?.stringValue, port: port(h["port"]), path: h["path"]?.stringValue ?? "/",
                           https: h["scheme"]?.stringValue == "HTTPS", headers: headers)
        } else if let t = p["tcpSocket"] {
            action = .tcp(host: t["host"]?.stringValue, port: port(t["port"]))
        } else {
            return nil
        }
        initialDelay = TimeInterval(p["initialDelaySeconds"]?.intValue ?? 0)
        period = TimeInterval(max(1, p["periodSeconds"]?.intValue ?? 10))
        timeout = TimeInterval(max(1, p["timeoutSeconds"]?.intValue ?? 1))
        successThreshold = Int(max(1, p["successThreshold"]?.intValue ?? 1))
        failureThreshold = Int(max(1, p["failureThreshold"]?.intValue ?? 3))
    }
}

/// Loopback addresses for Pods: each Pod listens on its own 127.x.y.z, so replicas that bind one
/// port do not collide. Process-wide, so two simulators in one test process never share one.
enum PodNetwork {
    private static let counter = AtomicCounter()

    static func allocate() -> String {
        while true {
            let n = counter.next()
            let low = n & 0xff
            if low == 0 || low == 255 { continue }
            return "127.\(10 + (n >> 16) & 0x7f).\((n >> 8) & 0xff).\(low)"
        }
    }
}

final class AtomicCounter: Sendable {
    private let value = Mutex<Int>(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}
