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
        ("app", nil, RestoreReason.overwriteNotAllowed.rawValue),
        ("app", true, nil),
        ("app_copy", nil, nil),
    ])
    func validateRefusesTheLiveSourceWithoutTheOptIn(_ database: String?, _ overwrite: Bool?, _ reason: String?) {
        let target = database.map { RestoreTarget(postgres: PostgresTarget(database: $0)) }
        let o = RestoreObserved(request: Self.request(target: target, overwrite: overwrite), policy: Self.policy(), now: Self.now)
        let verdict = planner.decide(.validate, o, status: RestoreRequestStatus())
        if let reason {
            guard case .failed(_, let got, let message) = verdict else { Issue.record("expected failure, got \(verdict)"); return }
            #expect(got.rawValue == reason && message.contains("allowOverwriteSource"))
        } else {
            guard case .succeeded = verdict else { Issue.record("expected success, got \(verdict)"); return }
        }
    }

    @Test func validateRefusesABackupIDThatIsNoArtifactID() {
        var request = Self.request(overwrite: true)
        request.spec.backup = BackupSelector(id: "20261399T000000Z-abcd1234")
        let o = RestoreObserved(request: request, policy: Self.policy(), now: Self.now)
        guard case .failed(_, RestoreReason.invalidBackupID, let message) = planner.decide(.validate, o, status: .init()) else {
            Issue.record("expected InvalidBackupID"); return
        }
        #expect(message.contains("20261399T000000Z-abcd1234") && message.contains("yyyymmddThhmmssZ"))
        request.spec.backup = BackupSelector(id: "20261130T000000Z-abcd1234")
        guard case .succeeded = planner.decide(.validate, RestoreObserved(request: request, policy: Self.policy(), now: Self.now), status: .init()) else {
            Issue.record("a valid id passes"); return
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
        guard case .failed(_, RestoreReason.notSupported, let m3) = planner.decide(.validate, o, status: .init()) else { Issue.record("redis"); return }
        #expect(m3.contains("spec.target.redis.claimName"), "a Redis restore needs the server's claim and workload")
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
        o.jobs[name] = finished
        o.results[name] = AgentResult(ok: false, reason: "ChecksumMismatch", message: "sha256 differs")
        guard case .failed(let failedJob, "ChecksumMismatch", let message) = planner.decide(.select, o, status: .init()) else {
            Issue.record("failed select"); return
        }
        #expect(failedJob == name && message.contains("sha256 differs"))
    }

    @Test func severalStoresRunOneAfterTheOtherUnderOneFenceAndResumeInOrder() throws {
        var request = Self.request(overwrite: true, quiesce: [api, WorkloadReference(kind: .deployment, name: "worker")])
        request.spec.stores = [RestoreStore(policyRef: LocalObjectReference(name: "files"))]
        let files = BackupPolicy(metadata: Self.meta("files", uid: "f-uid"),
                                 spec: BackupPolicySpec(schedule: "@daily", source: BackupSource(volume: VolumeSource(claimName: "data")),
                                                        destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "v"))))
        var o = RestoreObserved(request: request, policy: Self.policy(), policies: ["orders": Self.policy(), "files": files],
                                workloads: ["Deployment/api": .init(replicas: 2), "Deployment/worker": .init(replicas: 1)], now: Self.now)
        guard case .succeeded(_, let validated) = planner.decide(.validate, o, status: .init()) else { Issue.record("validate"); return }
        #expect(validated == "restore PostgreSQL from policy orders, then a volume from policy files")
        // The first store's Job, then (once it succeeded) the second's: never both at once.
        guard case .running(let a1, _) = planner.decide(.restore, o, status: .init()), case .createJob(let first)? = a1.first else { Issue.record("first"); return }
        #expect(first.metadata.name == planner.jobName(.restore, of: request, entry: 0))
        var done = first
        done.status = JobStatus()
        done.status?.conditions = [JobCondition(type: "Complete", status: .true)]
        o.jobs[first.metadata.name!] = done
        o.results[first.metadata.name!] = AgentResult(ok: true, json: ["artifact": ["id": "20260101T000000Z-aaaaaaaa"]])
        guard case .running(let a2, let m2) = planner.decide(.restore, o, status: .init()), case .createJob(let second)? = a2.first else { Issue.record("second"); return }
        #expect(second.metadata.name == planner.jobName(.restore, of: request, entry: 1) && second.metadata.name != first.metadata.name)
        #expect(m2?.hasPrefix("store 2 (policy files): ") == true)
        // A failure of the second store names it.
        var failed = second
        failed.status = JobStatus()
        failed.status?.conditions = [JobCondition(type: "Failed", status: .true)]
        o.jobs[second.metadata.name!] = failed
        o.results[second.metadata.name!] = AgentResult(ok: false, reason: "TargetMissing", message: "no directory")
        guard case .failed(_, "TargetMissing", let m3) = planner.decide(.restore, o, status: .init()) else { Issue.record("failure"); return }
        #expect(m3.hasPrefix("store 2 (policy files): TargetMissing"))
        // Resume: api first (quiesce order), worker only once api is ready.
        var status = RestoreRequestStatus()
        status.savedReplicas = ["Deployment/api": 2, "Deployment/worker": 1]
        o.workloads = ["Deployment/api": .init(replicas: 0, resumed: .progressing("api: 0/2")), "Deployment/worker": .init(replicas: 0, resumed: .progressing("worker: 0/1"))]
        guard case .running(let r1, _) = planner.decide(.resume, o, status: status) else { Issue.record("resume"); return }
        #expect(r1 == [.scale(api, replicas: 2)])
        o.workloads["Deployment/api"] = .init(replicas: 2, resumed: .progressing("api: 1/2 ready"))
        guard case .running(let r2, let waiting) = planner.decide(.resume, o, status: status) else { Issue.record("waiting"); return }
        #expect(r2.isEmpty && waiting == "api: 1/2 ready", "the worker waits for the api")
        o.workloads["Deployment/api"] = .init(replicas: 2, resumed: .done)
        guard case .running(let r3, _) = planner.decide(.resume, o, status: status) else { Issue.record("worker"); return }
        #expect(r3 == [.scale(WorkloadReference(kind: .deployment, name: "worker"), replicas: 1)])
    }
}
