import Foundation
import KubeClient
import KubeModel
import Logging
import Synchronization

/// The benchmark's one observer of an operator's reaction: a watch on BackupPolicies and a watch
/// on Jobs in the benchmark process. A run-now value's policy event (the first one carrying it)
/// and the ADDED event of the Job annotated with it are both timed here, so the difference is the
/// operator's own reaction, not the benchmark client's round trip.
final class ReactionObserver: Sendable {
    private struct Seen {
        var policy: [String: ContinuousClock.Instant] = [:]
        /// The same moment on the wall clock, to compare with the simulator's request log.
        var policyWall: [String: Date] = [:]
        var job: [String: ContinuousClock.Instant] = [:]
    }
    private let seen = Mutex(Seen())
    private let tasks = Mutex<[Task<Void, Never>]>([])
    let client: KubeClient

    init(client: KubeClient) { self.client = client }

    /// Opens both watches from the current state (no replay of existing objects).
    func start() async throws {
        let policies = client.resource(BackupPolicy.self)
        let jobs = client.resource(Job.self)
        let policyVersion = try await policies.list(ListOptions(limit: 1)).resourceVersion
        let jobVersion = try await jobs.list(ListOptions(limit: 1)).resourceVersion
        let policyStream = try await policies.watch(WatchOptions(resourceVersion: policyVersion, allowBookmarks: false))
        let jobStream = try await jobs.watch(WatchOptions(resourceVersion: jobVersion, allowBookmarks: false))
        let policyTask = Task { [self] in
            do {
                for try await event in policyStream {
                    let now = ContinuousClock.now, wall = Date()
                    guard let policy = event.object, let value = policy.metadata.annotations?[Backstop.runNowAnnotation] else { continue }
                    let key = Self.key(policy.metadata.namespace, value)
                    self.seen.withLock { s in
                        if s.policy[key] == nil { (s.policy[key], s.policyWall[key]) = (now, wall) }
                    }
                }
            } catch {}
        }
        let jobTask = Task { [self] in
            do {
                for try await event in jobStream {
                    let now = ContinuousClock.now
                    guard case .added(let job) = event, let value = job.metadata.annotations?[Backstop.runNowAnnotation] else { continue }
                    let key = Self.key(job.metadata.namespace, value)
                    self.seen.withLock { s in if s.job[key] == nil { s.job[key] = now } }
                }
            } catch {}
        }
        tasks.withLock { $0 += [policyTask, jobTask] }
    }

    func stop() { for task in tasks.withLock({ $0 }) { task.cancel() } }

    /// When the observer saw the policy event and the Job of `value` in `namespace`.
    func times(namespace: String, value: String) -> (policy: ContinuousClock.Instant?, job: ContinuousClock.Instant?) {
        let key = Self.key(namespace, value)
        return seen.withLock { ($0.policy[key], $0.job[key]) }
    }

    /// The wall-clock time the observer saw the policy event of `value`.
    func policyWallTime(namespace: String, value: String) -> Date? {
        seen.withLock { $0.policyWall[Self.key(namespace, value)] }
    }

    /// Waits up to `timeout` for the Job of `value`.
    func waitForJob(namespace: String, value: String, timeout: Duration) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let job = times(namespace: namespace, value: value).job { return job }
            try? await Task.sleep(for: .microseconds(200))
        }
        return nil
    }

    private static func key(_ namespace: String?, _ value: String) -> String { "\(namespace ?? "")/\(value)" }
}

/// Percentiles of millisecond samples, for the report lines.
struct Percentiles {
    var sorted: [Double]
    init(_ samples: [Double]) { sorted = samples.sorted() }
    func value(_ q: Double) -> Double? { sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
    func at(_ q: Double) -> String { value(q).map { String(format: "%.2f ms", $0) } ?? "n/a" }
    var summary: String { "p50 \(at(0.5)), p90 \(at(0.9)), p99 \(at(0.99)), max \(sorted.last.map { String(format: "%.2f ms", $0) } ?? "n/a")" }
}

/// The sum of a Prometheus counter's series (all label sets) in a `/metrics` page. Scans bytes:
/// at 10,000 policies the page is megabytes, and a Character-wise split of it every poll took
/// most of a core from the operator being measured.
func prometheusSum(_ text: String, metric: String, containing label: String) -> Double {
    var text = text
    return text.withUTF8 { page in
        let prefix = Array((metric + "{").utf8), needle = Array(label.utf8)
        var sum = 0.0, start = 0
        while start < page.count {
            var end = start
            while end < page.count, page[end] != UInt8(ascii: "\n") { end += 1 }
            let line = UnsafeBufferPointer(rebasing: page[start..<end])
            start = end + 1
            guard line.starts(with: prefix), contains(line, needle),
                  let space = line.lastIndex(of: UInt8(ascii: " ")),
                  let value = Double(String(decoding: UnsafeBufferPointer(rebasing: line[(space + 1)...]), as: UTF8.self)) else { continue }
            sum += value
        }
        return sum
    }
}

private func contains(_ line: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
    guard needle.count <= line.count else { return false }
    return (0...(line.count - needle.count)).contains { i in needle.indices.allSatisfy { line[i + $0] == needle[$0] } }
}

/// Fetches `http://address/metrics` with curl's CLI (the operator serves plain HTTP).
func fetchMetrics(_ address: String) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s", "--max-time", "2", "http://\(address)/metrics"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return p.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
}
