import Controllers
import DynamicJSON
import Foundation
import KubeModel

/// Builders for planner tests: policies, Jobs in given states, Pods with termination messages.
enum Fx {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000) // 2026-05-28T20:26:40Z
    static let builder = AgentJobBuilder(agentImage: "backstop:test")
    static let planner = BackupPlanner(builder: builder, secretRecheck: .seconds(5), historyLimit: 3, resultGrace: 30)

    static func policy(_ name: String = "pg", schedule: String = "0 * * * *", retention: RetentionPolicy? = RetentionPolicy(keepLast: 2),
                       created: Date = t0, status: BackupPolicyStatus? = nil) -> BackupPolicy {
        var spec = BackupPolicySpec(
            schedule: schedule,
            source: BackupSource(postgres: PostgresSource(host: "db", port: 5432, database: "app", user: "backup",
                                                          passwordSecretRef: SecretKeySelector(name: "db-creds", key: "password"))),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "pg")),
            retention: retention)
        spec.timeZone = "UTC"
        var meta = ObjectMeta(name: name, namespace: "team")
        meta.uid = "uid-\(name)"
        meta.generation = 1
        meta.creationTimestamp = Time(created)
        return BackupPolicy(metadata: meta, spec: spec, status: status)
    }

    /// Status of a policy that has run before (catalog done, a slot recorded).
    static func settled(lastSlot: Date) -> BackupPolicyStatus {
        var s = BackupPolicyStatus()
        s.observedGeneration = 1
        s.lastScheduleTime = Time(lastSlot)
        s.artifacts = ArtifactSummary(count: 0, totalBytes: 0)
        return s
    }

    static let secretsOK: [String: SecretState] = ["db-creds": .present(keys: ["password"])]

    static func hour(_ h: Double) -> Date {
        // t0 rounded down to the hour, plus h hours.
        Date(timeIntervalSince1970: (t0.timeIntervalSince1970 / 3600).rounded(.down) * 3600 + h * 3600)
    }

    /// A Job as the planner would create it, in the given state.
    static func job(_ policy: BackupPolicy, _ op: BackupOperation, token: String, created: Date, finished: Bool = false,
                    succeeded: Bool = true, recorded: Bool = false, annotations: [String: String] = [:]) -> Job {
        let name = AgentJobBuilder.jobName(policy: policy.metadata.name!, operation: op, token: token)
        var job = builder.job(for: policy, operation: op, name: name, slotLabel: "x", annotations: annotations)
        job.metadata.uid = "job-uid-\(name)"
        job.metadata.creationTimestamp = Time(created)
        if recorded { job.metadata.annotations = (job.metadata.annotations ?? [:]).merging([BackstopLabels.recorded: "true"]) { $1 } }
        var status = JobStatus()
        if finished {
            status.conditions = [JobCondition(type: succeeded ? "Complete" : "Failed", status: .true)]
            status.completionTime = Time(created.addingTimeInterval(20))
            if succeeded { status.succeeded = 1 } else { status.failed = 1 }
        } else {
            status.active = 1
        }
        job.status = status
        return job
    }

    static func pod(for job: Job, exitCode: Int32, message: String) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: job.metadata.name! + "-abcde", namespace: job.metadata.namespace,
                                           labels: job.spec?.template.metadata?.labels))
        var status = PodStatus(phase: exitCode == 0 ? "Succeeded" : "Failed")
        var terminated = ContainerStateTerminated(exitCode: exitCode, reason: exitCode == 0 ? "Completed" : "Error", message: message)
        terminated.finishedAt = job.status?.completionTime
        status.containerStatuses = [ContainerStatus(name: "agent", state: ContainerState(terminated: terminated))]
        pod.status = status
        return pod
    }

    static func backupResult(id: String, size: Int64 = 4096, verified: Bool = true) -> String {
        JSONValue.object([
            "ok": true, "command": "backup", "exitCode": 0,
            "artifact": ["id": .string(id), "key": .string("pg/pg/\(id).dump"), "sizeBytes": .int(size), "sha256": "ab12cd34ef56ab12cd34",
                         "createdAt": .string(Time(rfc3339: "2026-05-28T21:00:05Z")!.rfc3339), "format": "pg_dump-custom"],
            "verification": ["passed": .bool(verified), "stage": "backup", "checks": []],
            "durations": ["totalSeconds": 2.5],
        ]).jsonString
    }

    /// `$(VAR)` expansion as the kubelet does it, for reading a built Job's spec.
    static func expandedSpec(_ job: Job) throws -> JSONValue {
        let env = job.spec!.template.spec!.containers[0].env!
        var values: [String: String] = [:]
        var spec = ""
        for e in env {
            var v = e.value ?? ""
            for (k, value) in values { v = v.replacingOccurrences(of: "$(\(k))", with: value) }
            v = v.replacingOccurrences(of: "$$", with: "$")
            values[e.name] = v
            if e.name == "BACKSTOP_SPEC" { spec = v }
        }
        return try JSONValue(parsing: spec)
    }
}
