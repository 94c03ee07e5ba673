import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import KubeSim
import Logging
import Synchronization

/// Log lines captured from a logger at trace level (to check what is and is not logged).
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func logger(_ label: String = "test", level: Logger.Level = .trace) -> Logger {
        let sink = LogSink { [self] line in lines.withLock { $0.append(line) } }
        var logger = Logger(label: label) { label in JSONLogHandler(label: label, level: level, format: .json, sink: sink) }
        logger.logLevel = level
        return logger
    }
}

enum Sim {
    static func start(_ configure: (inout KubeSimOptions) -> Void = { _ in }) async throws -> KubeSim {
        var options = KubeSimOptions()
        options.bookmarkInterval = 1
        configure(&options)
        return try await KubeSim.start(options)
    }

    static func config(_ sim: KubeSim, token: String? = nil) -> KubeConfig {
        KubeConfig(server: sim.url, credentials: .token(token ?? sim.adminToken),
                   certificateAuthority: sim.caPEM.map { .data(Array($0.utf8)) })
    }

    static func client(_ sim: KubeSim, qps: Double = 200, burst: Int = 200, logger: Logger? = nil,
                       config: KubeConfig? = nil) throws -> KubeClient {
        var options = KubeClientOptions(qps: qps, burst: burst)
        options.retryBackoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(200))
        return try KubeClient(config: config ?? Self.config(sim), options: options,
                              logger: logger ?? Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func configMap(_ name: String, namespace: String = "default", data: [String: String] = [:],
                          labels: [String: String]? = nil) -> ConfigMap {
        var cm = ConfigMap(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels))
        cm.data = data
        return cm
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` passes.
    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}

