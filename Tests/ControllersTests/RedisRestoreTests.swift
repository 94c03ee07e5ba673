import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import TestSupport
import Testing

/// Restores beyond one SQL database. A Redis restore through a RestoreRequest, as the runbooks do it by hand: the Redis server
/// (a real `redis-server` Pod in KubeSim, its data on a claim) is stopped, `dump.rdb` replaced
/// in its claim, the server started again and its key count checked before the writers resume.
/// And several stores under one fence, as the disaster-recovery checklist restores them.
@Suite(.serialized) struct RedisRestoreTests {
    func cli(_ port: Int, _ args: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["redis-cli", "-p", String(port), "--no-auth-warning", "-a", "pw-redis"] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aRedisRestoreStopsTheServerReplacesDumpRdbAndChecksItsKeysAfterTheRestart() async throws {
        let port = try AgentMotoServer.freePort()
        let h = try await ControllerHarness(workloads: true)
        try h.claim("backups")
        try h.claim("redis-data")
        try h.secret("redis-creds", ["password": "pw-redis"])
        _ = try h.sim.store.create([
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "redis", "namespace": "team"],
            "spec": ["replicas": 1, "serviceName": "redis", "selector": ["matchLabels": ["app": "redis"]],
                     "template": ["metadata": ["labels": ["app": "redis"]], "spec": [
                        "terminationGracePeriodSeconds": 5,
                        "volumes": [["name": "data", "persistentVolumeClaim": ["claimName": "redis-data"]]],
                        "containers": [["name": "redis", "image": "redis:7", "volumeMounts": [["name": "data", "mountPath": "/data"]],
                                        "command": ["sh", "-c", .string("exec redis-server --bind 127.0.0.1 --port \(port) --requirepass pw-redis --dir /data --dbfilename dump.rdb --appendonly no")],
                                        "readinessProbe": ["exec": ["command": ["redis-cli", "-p", .string(String(port)), "-a", "pw-redis", "--no-auth-warning", "ping"]],
                                                           "periodSeconds": 1]]]]]],
        ])
        #expect(try await eventually(.seconds(30)) { try cli(port, ["PING"]) == "PONG" }, "the Redis Pod serves")
        for i in 0..<50 { _ = try cli(port, ["SET", "key:\(i)", "value \(i)"]) }
        var policy = BackupPolicy(metadata: ObjectMeta(name: "cache", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@every 1h",
            source: BackupSource(redis: RedisSource(host: "127.0.0.1", port: port, passwordSecretRef: SecretKeySelector(name: "redis-creds", key: "password"))),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "redis"))))
        policy.metadata.annotations = [Backstop.runNowAnnotation: "base"]
        try h.create(policy)
        h.startController()
        #expect(try await eventually(.seconds(60)) { try await h.policy("cache").status?.lastBackup?.verified == true })
        // The data changes: keys lost, others added.
        _ = try cli(port, ["FLUSHALL"])
        for i in 0..<7 { _ = try cli(port, ["SET", "other:\(i)", "x"]) }
        #expect(try cli(port, ["DBSIZE"]) == "7")

        // Without the claim and the workload the request is refused, nothing touched.
        _ = try h.sim.store.create(RestoreIntegrationTests.restore("bare", ["policyRef": ["name": "cache"], "allowOverwriteSource": true]))
        let bare = try await RestoreIntegrationTests().finished(h, "bare")
        #expect(bare.status?.phase == .failed && bare.status?.message?.contains("spec.target.redis.claimName") == true, "\(String(describing: bare.status?.message))")
        #expect(try cli(port, ["DBSIZE"]) == "7")

        _ = try h.sim.store.create(RestoreIntegrationTests.restore("cache-back", [
            "policyRef": ["name": "cache"], "allowOverwriteSource": true,
            "target": ["redis": ["claimName": "redis-data", "workload": ["kind": "StatefulSet", "name": "redis"]]],
        ]))
        let done = try await RestoreIntegrationTests().finished(h, "cache-back", within: 120)
        let s = try #require(done.status)
        #expect(s.phase == .succeeded, "\(String(describing: s))")
        #expect(s.savedReplicas == ["StatefulSet/redis": 1])
        let verify = s.steps?.first { $0.name == "Verify" }
        #expect(verify?.message?.hasSuffix("checks passed") == true && verify?.job != nil, "\(String(describing: verify))")
        // The server runs again on the restored snapshot: the 50 keys, not the 7.
        #expect(try await eventually(.seconds(30)) { try cli(port, ["DBSIZE"]) == "50" })
        #expect(try cli(port, ["GET", "key:42"]) == "value 42")
        #expect(try cli(port, ["EXISTS", "other:1"]) == "0")
        // Redis was down while its file was replaced (the Pod was gone when the restore Job ran).
        let restoreJob = try #require(s.steps?.first { $0.name == "Restore" }?.job)
        let fence = try FenceHistory(h.sim.store, restoreJob: restoreJob, kind: "StatefulSet", workload: "redis", podLabel: ("app", "redis"))
        #expect(fence.absentDuringRestore, "no Redis Pod may run while the restore Job runs: \(fence)")
        #expect(fence.replicaChanges == [1, 0, 1], "\(fence.replicaChanges)")
        _ = try? cli(port, ["SHUTDOWN", "NOSAVE"])
        await h.stop()
    }

    @Test func aDisasterRecoveryRestoreOfADatabaseAndAVolumeRunsUnderOneFence() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.claim("data")
        _ = try await eventually { try h.claimDirectory("data") != nil }
        let data = try #require(try h.claimDirectory("data"))
        for i in 0..<5 { try Data("skill \(i)\n".utf8).write(to: URL(fileURLWithPath: "\(data)/skill-\(i).md")) }
        try h.create(BackupIntegrationTests.policy("orders", pg: pg, database: database))
        try h.create(BackupPolicy(metadata: ObjectMeta(name: "skills", namespace: "team"), spec: BackupPolicySpec(
            schedule: "@every 1h", source: BackupSource(volume: VolumeSource(claimName: "data")),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "skills")))))
        h.startController()
        try await h.annotate("orders", Backstop.runNowAnnotation, "base")
        try await h.annotate("skills", Backstop.runNowAnnotation, "base")
        #expect(try await eventually(.seconds(90)) {
            let orders = try await h.policy("orders").status?.lastBackup?.verified == true
            let skills = try await h.policy("skills").status?.lastBackup?.verified == true
            return orders && skills
        })
        // The gateway writes to both stores; the disaster: rows and a file gone.
        _ = try h.sim.store.create(RestoreIntegrationTests.writer(pg, database: database, replicas: 2))
        #expect(try await eventually(.seconds(30)) { try await RestoreIntegrationTests.count(pg, database) > 500 })
        try FileManager.default.removeItem(atPath: "\(data)/skill-3.md")

        _ = try h.sim.store.create(RestoreIntegrationTests.restore("dr", [
            "policyRef": ["name": "orders"], "allowOverwriteSource": true,
            "quiesce": [["kind": "Deployment", "name": "writer"]],
            "stores": [["policyRef": ["name": "skills"]]],
        ]))
        let done = try await RestoreIntegrationTests().finished(h, "dr", within: 120)
        let s = try #require(done.status)
        #expect(s.phase == .succeeded, "\(String(describing: s))")
        #expect(s.backups?.count == 2 && s.backups?.first?.id == s.backup?.id, "\(String(describing: s.backups))")
        #expect(s.message?.contains(s.backups?.last?.id ?? "?") == true)
        // One fence: the writer stopped once and came back once, after both stores were restored.
        let changes = try FenceHistory.replicaChanges(h.sim.store, workload: "writer")
        #expect(changes == [2, 0, 2], "stopped once, started once: \(changes)")
        let restoreJobs = try h.sim.store.list("batch/v1", "Job", namespace: "team", labelSelector: "backstop.dev/restore=dr")
        #expect(restoreJobs.count == 6, "select, restore and verify per store: \(restoreJobs.count)")
        #expect(FileManager.default.fileExists(atPath: "\(data)/skill-3.md"), "the file is back")
        #expect(try await eventually(.seconds(30)) {
            try h.sim.store.get("apps/v1", "Deployment", namespace: "team", name: "writer")[path: ["status", "readyReplicas"]] == 2
        })
        await h.stop()
    }
}
