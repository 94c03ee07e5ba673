import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The RestoreRequest planner's verdicts per step, without I/O.
@Suite struct RestorePlannerTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(_ source: BackupSource = BackupSource(postgres: PostgresSource(host: "db", port: 5432, database: "app", user: "app",
                                                                                        passwordSecretRef: SecretKeySelector(name: "db", key: "password")))) -> BackupPolicy {
        BackupPolicy(metadata: Self.meta("orders", uid: "p-uid"),
                     spec: BackupPolicySpec(schedule: "@daily", source: source,
                                            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "pg"))))
    }

    static func request(target: RestoreTarget? = nil, overwrite: Bool? = nil, quiesce: [WorkloadReference] = []) -> RestoreRequest {
        var spec = RestoreRequestSpec(policyRef: LocalObjectReference(name: "orders"), target: target, allowOverwriteSource: overwrite)
        spec.quiesce = quiesce
        return RestoreRequest(metadata: Self.meta("r1", uid: "r-uid"), spec: spec)
    }

    static func meta(_ name: String, uid: String) -> ObjectMeta {
        var m = ObjectMeta(name: name, namespace: "team")
        m.uid = uid
        return m
    }

    let planner = RestorePlanner(agentImage: "backstop:test")
    let api = WorkloadReference(kind: .deployment, name: "api")

    @Test(arguments: [
        // (target database, allowOverwriteSource, expected failure reason or nil)
        (nil as String?, true as Bool?, nil as String?),
        ("app", nil, RestoreReason.overwriteNotAllowed),
        ("app", true, nil),
        ("app_copy", nil, nil),
    ])
    func validateRefusesTheLiveSourceWithoutTheOptIn(_ database: String?, _ overwrite: Bool?, _ reason: String?) {
        let target = database.map { RestoreTarget(postgres: PostgresTarget(database: $0)) }
        let o = RestoreObserved(request: Self.request(target: target, overwrite: overwrite), policy: Self.policy(), now: Self.now)
        let verdict = planner.decide(.validate, o, status: RestoreRequestStatus())
        if let reason {
            guard case .failed(_, let got, let message) = verdict else { Issue.record("expected failure, got \(verdict)"); return }
            #expect(got == reason && message.contains("allowOverwriteSource"))
        } else {
            guard case .succeeded = verdict else { Issue.record("expected success, got \(verdict)"); return }
        }
    }

    @Test func validateNamesAMissingPolicyOrWorkloadAndRefusesRedis() {
        var o = RestoreObserved(request: Self.request(overwrite: true), policy: nil, now: Self.now)
        guard case .failed(_, RestoreReason.policyNotFound, let m1) = planner.decide(.validate, o, status: .init()) else { Issue.record("policy"); return }
        #expect(m1.contains("orders"))
        o = RestoreObserved(request: Self.request(overwrite: true, quiesce: [api]), policy: Self.policy(), workloads: [:], now: Self.now)
        guard case .failed(_, RestoreReason.workloadNotFound, let m2) = planner.decide(.validate, o, status: .init()) else { Issue.record("workload"); return }
        #expect(m2.contains("Deployment/api"))
        o = RestoreObserved(request: Self.request(overwrite: true), policy: Self.policy(BackupSource(redis: RedisSource(host: "r"))), now: Self.now)
        guard case .failed(_, RestoreReason.notSupported, _) = planner.decide(.validate, o, status: .init()) else { Issue.record("redis"); return }
    }

    @Test(arguments: [
        // (replicas now, pods left) → scale to 0 asked, finished
        (3, 3, true, false),
        (0, 2, false, false),
        (0, 0, false, true),
    ])
    func quiesceScalesToZeroAndWaitsForEveryPod(_ replicas: Int, _ left: Int, _ scales: Bool, _ done: Bool) {
        let o = RestoreObserved(request: Self.request(overwrite: true, quiesce: [api]), policy: Self.policy(),
                                workloads: ["Deployment/api": WorkloadObservation(replicas: replicas, podsLeft: left)], now: Self.now)
        switch planner.decide(.quiesce, o, status: .init()) {
        case .running(let actions, _):
            #expect(!done)
            #expect(actions == (scales ? [.scale(api, replicas: 0)] : []))
        case .succeeded: #expect(done)
        case .failed: Issue.record("quiesce never fails here")
        }
    }

    @Test func resumeScalesBackToTheSavedCountNotToOne() {
        var status = RestoreRequestStatus()
        status.savedReplicas = ["Deployment/api": 5]
        var o = RestoreObserved(request: Self.request(overwrite: true, quiesce: [api]), policy: Self.policy(),
                                workloads: ["Deployment/api": WorkloadObservation(replicas: 0, resumed: .progressing("0 of 5"))], now: Self.now)
        guard case .running(let actions, _) = planner.decide(.resume, o, status: status) else { Issue.record("running"); return }
        #expect(actions == [.scale(api, replicas: 5)])
        o.workloads["Deployment/api"] = WorkloadObservation(replicas: 5, resumed: .done)
        guard case .succeeded(_, let message) = planner.decide(.resume, o, status: status) else { Issue.record("done"); return }
        #expect(message == "resumed Deployment/api=5")
    }

    @Test func agentStepsCreateTheirJobOnceAndReadItsResult() throws {
        var o = RestoreObserved(request: Self.request(overwrite: true), policy: Self.policy(), now: Self.now)
        guard case .running(let actions, _) = planner.decide(.select, o, status: .init()), case .createJob(let job)? = actions.first else {
            Issue.record("a select Job"); return
        }
        let name = try #require(planner.jobName(.select, of: o.request))
        #expect(job.metadata.name == name && job.metadata.ownerReferences?.first?.uid == "r-uid")
        #expect(planner.jobName(.select, of: o.request) == name, "deterministic")
        var finished = job
        finished.status = JobStatus()
        finished.status?.conditions = [JobCondition(type: "Failed", status: .true)]
        o.jobs[.select] = finished
        o.results[name] = AgentResult(ok: false, reason: "ChecksumMismatch", message: "sha256 differs")
        guard case .failed(let failedJob, "ChecksumMismatch", let message) = planner.decide(.select, o, status: .init()) else {
            Issue.record("failed select"); return
        }
        #expect(failedJob == name && message.contains("sha256 differs"))
    }
}
