import ArgumentParser
import Controllers
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim

/// `backstop-bench run-now-path`: the CPU of each step a run-now takes inside the operator,
/// in-process and without a network, so a change to one step shows in microseconds rather
/// than in the noise of a whole reaction: decode the policy's watch event, plan, build the
/// Job, encode it. The policy is the operator benchmark's, as the simulator stores it after
/// the operator wrote its status.
struct RunNowPathBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-now-path",
        abstract: "Microseconds per step of the run-now path (watch event decode, plan, Job build, Job encode), in-process.")

    @Option(help: "Iterations per step.") var iterations = 2000

    func run() async throws {
        let sim = try await KubeSim.start(KubeSimOptions())
        defer { Task { await sim.shutdown() } }
        for kind in Backstop.kinds { _ = try sim.store.create(kind.crd) }
        _ = try sim.store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "bench-0"]])
        var stored = try sim.store.create(OperatorBench.policy(0, namespaces: 1))
        let planner = BackupPlanner(builder: AgentJobBuilder(agentImage: "backstop:dev"))
        // The status the operator writes on its first evaluation (no run-now yet).
        let first = planner.plan(BackupObserved(policy: try stored.decode(BackupPolicy.self), secrets: ["db": .present(keys: ["password"])],
                                                now: Date(), catalogWhenStatusMissing: false))
        stored["status"] = try JSONValue.encode(first.status)
        stored = try sim.store.updateStatus(stored)
        var annotated = stored
        annotated["metadata"]?["annotations"] = ["backstop.dev/run-now": "bench-1"]
        annotated = try sim.store.update(annotated)
        let event = Array(JSONValue.object(["type": "MODIFIED", "object": annotated]).serialized())
        let decoder = WatchEventDecoder<BackupPolicy>()

        var policy: BackupPolicy?
        let decode = measure { policy = decoder.decodeObject(event) }
        guard let policy else { throw ValidationError("the policy's watch event did not decode") }
        let observed = BackupObserved(policy: policy, now: Date(), catalogWhenStatusMissing: false)
        var plan: BackupPlan?
        let planning = measure { plan = planner.plan(observed) }
        guard let job = plan?.createdJobs.first else { throw ValidationError("the plan creates no Job: \(String(describing: plan?.status.conditions))") }
        let build = measure { _ = planner.builder.job(for: policy, operation: .backup, name: "p-0-backup", slotLabel: "manual") }
        var bytes = 0
        let encode = measure { bytes = (try? JSONValue.encode(job).serialized().count) ?? 0 }
        let foundation = measure { _ = try? JSONEncoder().encode(job) }
        emit("run-now path, µs per step (median of \(iterations), in-process):")
        emit(String(format: "  decode the policy's watch event (%d bytes): %.1f", event.count, decode))
        emit(String(format: "  plan (the Job included): %.1f, of which building the Job %.1f", planning, build))
        emit(String(format: "  encode the Job (%d bytes): %.1f (Foundation's JSONEncoder alone: %.1f)", bytes, encode, foundation))
    }

    /// Median µs of `iterations` calls (after a warm-up of a tenth).
    func measure(_ body: () -> Void) -> Double {
        for _ in 0..<max(1, iterations / 10) { body() }
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for _ in 0..<iterations {
            let start = ContinuousClock.now
            body()
            samples.append((ContinuousClock.now - start).inSeconds * 1e6)
        }
        samples.sort()
        return samples[samples.count / 2]
    }
}
