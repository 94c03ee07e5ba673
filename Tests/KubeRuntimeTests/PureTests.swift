import Foundation
import KubeModel
import Synchronization
import Testing
@testable import KubeClient
@testable import KubeRuntime

@Suite struct BackoffTests {
    @Test(arguments: [(0, 0.005), (1, 0.010), (5, 0.160), (40, 1000.0)])
    func growsAndCaps(attempt: Int, base: Double) {
        let b = Backoff.workItem
        #expect(abs(b.baseDelay(attempt: attempt).inSeconds - base) < 1e-9)
        let low = b.delay(attempt: attempt, random: 0).inSeconds
        let high = b.delay(attempt: attempt, random: 1).inSeconds
        #expect(abs(low - base) < 1e-9)
        #expect(high <= 1000 + 1e-9)
        #expect(high >= low)
        if base < 900 { #expect(abs(high - base * 1.1) < 1e-9) }
    }
}

@Suite struct TokenBucketTests {
    @Test func burstThenRate() {
        let t0 = ContinuousClock.now
        var bucket = TokenBucket(qps: 10, burst: 3, now: t0)
        for _ in 0..<3 { #expect(bucket.reserve(now: t0) == t0) }
        // The 4th and 5th wait 100 ms and 200 ms.
        #expect(abs((bucket.reserve(now: t0) - t0).inSeconds - 0.1) < 1e-6)
        #expect(abs((bucket.reserve(now: t0) - t0).inSeconds - 0.2) < 1e-6)
        // After a long idle period the bucket holds at most `burst`.
        let later = t0 + .seconds(100)
        #expect(abs(bucket.available(now: later) - 3) < 1e-9)
    }

    @Test func urgentRequestsOvertakeQueuedStatusWritesAndEachPriorityIsFIFO() async throws {
        let limiter = RequestRateLimiter(qps: 50, burst: 1)
        try await limiter.acquire()  // spends the burst: everything after this queues
        final class Log: Sendable {
            let lines = Mutex<[String]>([])
            func append(_ s: String) { lines.withLock { $0.append(s) } }
            var count: Int { lines.withLock { $0.count } }
        }
        let order = Log()
        var tasks: [Task<Void, any Error>] = []
        for i in 0..<20 {
            tasks.append(Task { try await limiter.acquire(.bookkeeping); order.append("status\(i)") })
            // Enqueue one at a time so the queue order is known.
            while limiter.waiting[.bookkeeping, default: 0] + order.count < i + 1 { try await Task.sleep(for: .milliseconds(1)) }
        }
        let start = ContinuousClock.now
        try await limiter.acquire(.urgent)
        let waited = ContinuousClock.now - start
        order.append("job")
        for t in tasks { try await t.value }
        let seen = order.lines.withLock { $0 }
        let jobAt = try #require(seen.firstIndex(of: "job"))
        #expect(jobAt <= 3, "the Job went before most queued status writes: \(seen)")
        #expect(waited < .milliseconds(150), "20 queued writes at 50 QPS would have taken 400 ms; waited \(waited)")
        #expect(seen.filter { $0 != "job" } == (0..<20).map { "status\($0)" }, "FIFO within a priority")
    }

    @Test func aCancelledWaiterLeavesTheQueue() async throws {
        let limiter = RequestRateLimiter(qps: 1, burst: 1)
        try await limiter.acquire()
        let waiter = Task { try await limiter.acquire(.background) }
        while limiter.waiting[.background, default: 0] == 0 { try await Task.sleep(for: .milliseconds(1)) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(limiter.waiting.values.allSatisfy { $0 == 0 })
    }

    @Test(arguments: [
        ("create", "/apis/batch/v1/namespaces/a/jobs", RequestPriority.urgent),
        ("delete", "/apis/batch/v1/namespaces/a/jobs/j1", .urgent),
        ("list", "/apis/batch/v1/jobs", .normal),
        ("update", "/apis/backstop.dev/v1alpha1/namespaces/a/backuppolicies/p/status", .bookkeeping),
        ("create", "/api/v1/namespaces/a/events", .background),
        ("patch", "/apis/events.k8s.io/v1/namespaces/a/events/e", .background),
        ("watch", "/api/v1/events", .normal),
        ("update", "/apis/coordination.k8s.io/v1/namespaces/s/leases/backstop", .urgent),
        ("get", "/api/v1/namespaces/a/secrets/db", .normal),
    ])
    func requestPriorityFromVerbAndPath(_ verb: String, _ path: String, _ expected: RequestPriority) {
        #expect(RequestPriority.of(verb: verb, path: path) == expected)
    }

    @Test func limiterHonoursPause() async throws {
        let limiter = RequestRateLimiter(qps: 1000, burst: 10)
        limiter.pause(for: .milliseconds(150))
        let start = ContinuousClock.now
        try await limiter.acquire()
        #expect(ContinuousClock.now - start >= .milliseconds(140))
    }
}

@Suite struct SplitterTests {
    @Test func splitsAcrossChunksAndIgnoresBracesInStrings() throws {
        let text = #"{"type":"ADDED","object":{"a":"}{\"x"}}"# + "\n" + #"{"type":"BOOKMARK","object":{"b":[1,{"c":2}]}}"#
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            var s = JSONObjectSplitter()
            var out: [String] = []
            s.append(Array(bytes[..<cut]))
            while let o = try s.next() { out.append(String(decoding: o, as: UTF8.self)) }
            s.append(Array(bytes[cut...]))
            while let o = try s.next() { out.append(String(decoding: o, as: UTF8.self)) }
            #expect(out.count == 2, "cut at \(cut)")
            #expect(out.first == #"{"type":"ADDED","object":{"a":"}{\"x"}}"#)
        }
    }

    @Test func rejectsGarbageBetweenEvents() {
        var s = JSONObjectSplitter()
        s.append(Array("{} x".utf8))
        #expect(throws: JSONObjectSplitter.Malformed.self) {
            while try s.next() != nil {}
        }
    }
}

@Suite struct LeaseElectionTests {
    let t0 = ContinuousClock.now
    let wall = MicroTime(Time(seconds: 1_800_000_000))

    @Test func acquiresFreeLeaseAndRenewsOwn() {
        var e = LeaseElection(identity: "a", leaseDuration: .seconds(15))
        guard case .write(let spec) = e.decide(current: nil, now: t0, wallNow: wall) else { Issue.record("no write"); return }
        #expect(spec.holderIdentity == "a" && spec.leaseTransitions == 0 && spec.leaseDurationSeconds == 15)
        e.wrote(spec, now: t0)
        guard case .write(let renewed) = e.decide(current: spec, now: t0 + .seconds(2), wallNow: wall) else {
            Issue.record("no renew"); return
        }
        #expect(renewed.acquireTime == spec.acquireTime && renewed.leaseTransitions == 0)
    }

    @Test func waitsForForeignLeaseToExpireFromLocalObservation() {
        var e = LeaseElection(identity: "b", leaseDuration: .seconds(15))
        var held = Lease.Spec(holderIdentity: "a", leaseDurationSeconds: 15)
        held.renewTime = wall
        held.leaseTransitions = 3
        #expect(e.decide(current: held, now: t0, wallNow: wall) == .heldBy("a"))
        // Unchanged record: still held just before 15 s after we first saw it…
        #expect(e.decide(current: held, now: t0 + .seconds(14), wallNow: wall) == .heldBy("a"))
        // …and a renewal by the holder restarts the clock.
        held.renewTime = MicroTime(Time(seconds: 1_800_000_010))
        #expect(e.decide(current: held, now: t0 + .seconds(14), wallNow: wall) == .heldBy("a"))
        #expect(e.decide(current: held, now: t0 + .seconds(28), wallNow: wall) == .heldBy("a"))
        guard case .write(let taken) = e.decide(current: held, now: t0 + .seconds(30), wallNow: wall) else {
            Issue.record("should take over"); return
        }
        #expect(taken.holderIdentity == "b" && taken.leaseTransitions == 4)
    }

    @Test func releasedLeaseIsTakenAtOnce() {
        var e = LeaseElection(identity: "b", leaseDuration: .seconds(15))
        var released = Lease.Spec(holderIdentity: nil, leaseDurationSeconds: 1)
        released.leaseTransitions = 2
        guard case .write(let spec) = e.decide(current: released, now: t0, wallNow: wall) else {
            Issue.record("should acquire"); return
        }
        #expect(spec.holderIdentity == "b" && spec.leaseTransitions == 2)
    }
}

@Suite struct EventAggregatorTests {
    @Test func repeatsBumpCountAndKeepName() {
        var agg = EventAggregator(capacity: 2)
        let key = EventAggregator.Key(uid: "u1", kind: "ConfigMap", namespace: "ns", name: "cm", type: "Normal",
                                      reason: "Synced", message: "ok")
        let t = Time(seconds: 100)
        #expect(agg.record(key, now: t) { "cm.1" } == .create(name: "cm.1", namespace: "ns"))
        #expect(agg.record(key, now: Time(seconds: 200)) { "cm.2" } == .bump(name: "cm.1", namespace: "ns", count: 2, firstTimestamp: t))
        var other = key
        other.message = "different"
        #expect(agg.record(other, now: t) { "cm.3" } == .create(name: "cm.3", namespace: "ns"))
        // Capacity 2: a third distinct key evicts the oldest.
        var third = key
        third.reason = "Other"
        _ = agg.record(third, now: t) { "cm.4" }
        #expect(agg.record(key, now: t) { "cm.5" } == .create(name: "cm.5", namespace: "ns"))
    }
}

@Suite struct KubeconfigTests {
    let yaml = """
    apiVersion: v1
    kind: Config
    current-context: dev
    clusters:
    - name: c1
      cluster:
        server: https://10.0.0.1:6443/
        certificate-authority: ca.pem
    - name: c2
      cluster:
        server: https://10.0.0.2:6443
        insecure-skip-tls-verify: true
    users:
    - name: u1
      user:
        token: sekret-token
    - name: u2
      user:
        client-certificate-data: Q0VSVA==
        client-key-data: S0VZ
    contexts:
    - name: dev
      context: {cluster: c1, user: u1, namespace: team-a}
    - name: ops
      context: {cluster: c2, user: u2}
    """

    @Test func currentContextWithTokenAndRelativeCAFile() throws {
        let config = try KubeConfig.fromKubeconfig(text: yaml, baseDirectory: "/etc/kube")
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.namespace == "team-a")
        #expect(config.certificateAuthority == .file("/etc/kube/ca.pem"))
        #expect(config.insecureSkipTLSVerify == false)
        guard case .token(let token) = config.credentials else { Issue.record("no token"); return }
        #expect(token == "sekret-token")
        #expect(!config.description.contains("sekret"))
    }

    @Test func namedContextWithClientCertificateData() throws {
        let config = try KubeConfig.fromKubeconfig(text: yaml, context: "ops")
        #expect(config.insecureSkipTLSVerify)
        #expect(config.clientCertificate == .data(Array("CERT".utf8)))
        #expect(config.clientKey == .data(Array("KEY".utf8)))
        #expect(config.namespace == "default")
    }

    @Test func unknownContextIsAClearError() {
        do {
            _ = try KubeConfig.fromKubeconfig(text: yaml, context: "nope")
            Issue.record("should fail")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.message.contains("no context \"nope\""))
        }
    }

    @Test func inClusterReadsServiceAccountFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "tok\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "PEM".write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
        try "backstop-system".write(toFile: dir + "/namespace", atomically: true, encoding: .utf8)
        let config = try KubeConfig.inCluster(directory: dir, environment: [
            "KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"])
        #expect(config.server == "https://[fd00::1]:443")
        #expect(config.namespace == "backstop-system")
        guard case .tokenFile(let path) = config.credentials else { Issue.record("no token file"); return }
        #expect(path == dir + "/token")
        #expect(throws: KubeError.self) { try KubeConfig.inCluster(directory: dir, environment: [:]) }
    }
}

@Suite struct FreeMemoryTests {
    @Test func pageOutGivesBackTheFileBackedPagesThisProcessAloneMaps() {
        // Read a file-backed mapping of our own (on disk: tmpfs pages would be shared memory).
        let path = FileManager.default.currentDirectoryPath + "/.build/pageout-test-\(getpid())"
        let size = 8 << 20
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: size))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)!
        defer { munmap(mapping, size) }
        var sum = 0
        for page in stride(from: 0, to: size, by: 4096) { sum += Int(mapping.load(fromByteOffset: page, as: UInt8.self)) }
        #expect(sum == 7 * size / 4096)
        let before = FreeMemory.residentBytes()
        let advised = FreeMemory.pageOutFileMappings()
        let after = FreeMemory.residentBytes()
        #expect(advised >= size)
        #expect(before.file - after.file >= size, "file-backed RSS \(before.file >> 10) → \(after.file >> 10) KiB")
    }
}
