import Synchronization
import Testing
@testable import KubeClient
@testable import KubeRuntime

@Suite struct WorkQueueTests {
    @Test func dedupesWaitingKeys() async {
        let q = WorkQueue<String>(name: "t-dedupe")
        q.add("a"); q.add("b"); q.add("a")
        #expect(q.depth == 2)
        #expect(await q.get() == "a")
        #expect(await q.get() == "b")
        q.shutDown()
        #expect(await q.get() == nil)
    }

    @Test func keyReaddedWhileProcessingWaitsForDone() async throws {
        let q = WorkQueue<String>(name: "t-processing")
        q.add("a")
        let first = await q.get()
        #expect(first == "a")
        q.add("a")
        #expect(q.depth == 0, "a key being processed is not handed out again")
        // A second worker must not get it while the first holds it.
        let second = Task { await q.get() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(q.isProcessing("a"))
        q.done("a")
        #expect(await second.value == "a")
        q.done("a")
        #expect(q.processingCount == 0)
    }

    @Test func delayedAddKeepsEarliestDeadline() async {
        let q = WorkQueue<String>(name: "t-delay")
        let start = ContinuousClock.now
        q.add("late", after: .seconds(30))
        q.add("x", after: .milliseconds(300))
        q.add("x", after: .milliseconds(80))
        q.add("x", after: .seconds(5))
        #expect(q.depth == 0)
        #expect(await q.get() == "x")
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(75) && waited < .milliseconds(280))
        q.done("x")
        #expect(q.delayedCount == 1)
        q.shutDown()
    }

    @Test func rateLimitedBackoffGrowsAndForgetResets() async {
        let q = WorkQueue<String>(name: "t-backoff")
        var waits: [Duration] = []
        for _ in 0..<5 {
            let start = ContinuousClock.now
            q.addRateLimited("k")
            #expect(await q.get() == "k")
            waits.append(ContinuousClock.now - start)
            q.done("k")
        }
        #expect(q.failures("k") == 5)
        // 5, 10, 20, 40, 80 ms (+ up to 10 % jitter): the last waits far longer than the first.
        #expect(waits[4] >= .milliseconds(78))
        #expect(waits[4] > waits[0])
        q.forget("k")
        #expect(q.failures("k") == 0)
        q.shutDown()
    }

    @Test func shutDownReleasesWaitersAndIdleWaitsForInFlight() async throws {
        let q = WorkQueue<Int>(name: "t-shutdown")
        let waiter = Task { await q.get() }
        q.add(1)
        #expect(await waiter.value == 1)
        let idle = Task { await q.waitUntilIdle(); return ContinuousClock.now }
        let blocked = Task { await q.get() }
        try await Task.sleep(for: .milliseconds(30))
        q.shutDown()
        #expect(await blocked.value == nil)
        q.add(2)
        #expect(q.depth == 0, "no adds after shutdown")
        let doneAt = ContinuousClock.now
        q.done(1)
        #expect(await idle.value >= doneAt)
    }

    @Test func neverTwoWorkersOnOneKey() async {
        let q = WorkQueue<Int>(name: "t-exclusive")
        let active = Locked<Set<Int>>([])
        let violations = Locked(0)
        let processed = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while let key = await q.get() {
                        if !active.withLock({ $0.insert(key).inserted }) { violations.withLock { $0 += 1 } }
                        try? await Task.sleep(for: .microseconds(200))
                        active.withLock { _ = $0.remove(key) }
                        processed.withLock { $0 += 1 }
                        q.done(key)
                    }
                }
            }
            for round in 0..<200 { q.add(round % 5); if round % 20 == 0 { try? await Task.sleep(for: .milliseconds(1)) } }
            try? await Task.sleep(for: .milliseconds(300))
            q.shutDown()
        }
        #expect(violations.withLock { $0 } == 0)
        #expect(processed.withLock { $0 } >= 5)
    }
}
