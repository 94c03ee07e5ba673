import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import TestSupport
import Testing

/// The controller against an in-process KubeSim whose Job runner executes the real
/// `backstop agent` against the real PostgreSQL of `hack/test-services.sh`.
@Suite(.serialized) struct BackupIntegrationTests {
    /// A fresh database with a table, so the agent has something to dump.
    static func database() async throws -> (TestServices.Postgres, String) {
        let pg = try TestServices.postgres()
        let name = "ctl_" + UUID().uuidString.prefix(8).lowercased()
        let admin = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("CREATE DATABASE \(name)")
        await admin.close()
        let db = try await Postgres.PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, database: name, user: pg.user,
                                                                     password: pg.password))
        _ = try await db.executeScript("CREATE TABLE entries (id int primary key, body text); INSERT INTO entries SELECT g, 'row ' || g FROM generate_series(1, 500) g;")
        await db.close()
        return (pg, name)
    }

    static func policy(_ name: String, pg: TestServices.Postgres, database: String, secret: String = "db-creds",
                       schedule: String = "@every 1h") -> BackupPolicy {
        var spec = BackupPolicySpec(
            schedule: schedule,
            source: BackupSource(postgres: PostgresSource(host: pg.host, port: pg.port, database: database, user: pg.user,
                                                          passwordSecretRef: SecretKeySelector(name: secret, key: "password"))),
            destination: BackupDestination(volume: VolumeDestination(claimName: "backups", path: "pg")),
            retention: RetentionPolicy(keepLast: 1))
        spec.source.postgres?.rowCounts = ["entries"]
        spec.verify = BackupVerification(checksum: true, listContents: true, minSizeBytes: 100)
        return BackupPolicy(metadata: ObjectMeta(name: name, namespace: "team"), spec: spec)
    }

    @Test func aPostgresPolicyToAVolumeProducesAVerifiedArtifactThenPrunes() async throws {
        let (pg, database) = try await Self.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var orders = Self.policy("orders", pg: pg, database: database)
        orders.spec.verify?.staleAfter = "26h"
        try h.create(orders)
        h.startController()
        // The new policy first catalogs its (empty) store.
        #expect(try await eventually { try await h.policy("orders").status?.artifacts?.count == 0 })
        try await h.annotate("orders", Backstop.runNowAnnotation, "first")
        // The backup, its prune and the catalog after it all land in status.
        let done = try await eventually(.seconds(90)) {
            let s = try await h.policy("orders").status
            return s?.lastBackup?.verified == true && s?.lastPrune != nil && s?.lastManualRun?.result == .succeeded
                && s?.activeJob == nil && s?.artifacts?.count == 1
        }
        let p = try await h.policy("orders")
        #expect(done, "status: \(String(describing: p.status))")
        let s = try #require(p.status)
        #expect(s.conditions?.find("Ready")?.status == .true)
        #expect(s.conditions?.find("LastBackupSucceeded")?.status == .true)
        #expect(s.conditions?.find("Verified")?.status == .true)
        #expect(s.lastSuccessfulTime != nil && s.lastVerifiedTime != nil)
        #expect((s.artifacts?.totalBytes ?? 0) > 100)
        #expect(s.observedGeneration == 1)
        #expect(s.source?.hasPrefix("postgres://") == true)
        let id = try #require(s.lastBackup?.id)
        // The artifact and its manifest are in the claim's directory.
        let dir = try #require(try h.claimDirectory("backups"))
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/pg/orders")
        #expect(files.contains { $0.hasPrefix(id) && $0.hasSuffix(".manifest.json") })
        // One Job per operation: catalog, backup, prune, catalog; all owned by the policy.
        let jobs = try h.jobs(of: "orders")
        let ops = jobs.compactMap { $0["metadata"]?["labels"]?[BackstopLabels.operation]?.stringValue }.sorted()
        #expect(ops == ["backup", "catalog", "catalog", "prune"])
        #expect(jobs.allSatisfy { $0["metadata"]?["ownerReferences"]?[0]?["uid"]?.stringValue == p.metadata.uid })
        // Events are written asynchronously, just after the status.
        let expected = ["BackupStarted", "BackupSucceeded", "PruneStarted", "Pruned", "CatalogRefreshed"]
        _ = try await eventually(.seconds(10)) { Set(expected).isSubset(of: try h.events(of: "orders").map(\.reason)) }
        let reasons = try h.events(of: "orders").map(\.reason)
        for reason in expected {
            #expect(reasons.contains(reason), "missing Event \(reason) in \(reasons)")
        }
        _ = try await eventually(.seconds(10)) { (try await h.metricsText()).contains("backstop_backup_artifacts{namespace=\"team\",policy=\"orders\"} 1") }
        let metrics = (try await h.metricsText())
        #expect(metrics.contains("backstop_backup_last_success_timestamp_seconds{namespace=\"team\",policy=\"orders\"}"))
        #expect(metrics.contains("backstop_backup_artifacts{namespace=\"team\",policy=\"orders\"} 1"))
        #expect(metrics.contains("backstop_backup_duration_seconds_count{namespace=\"team\",policy=\"orders\"} 1"))
        // The alerts' inputs: when the last verified backup was, and how old one may get.
        let verifiedLine = metrics.split(separator: "\n").first { $0.hasPrefix("backstop_backup_last_verified_timestamp_seconds{namespace=\"team\",policy=\"orders\"}") }
        let verifiedAt = try #require(verifiedLine.flatMap { Double($0.split(separator: " ").last ?? "") })
        #expect(abs(verifiedAt - (s.lastVerifiedTime?.date.timeIntervalSince1970 ?? 0)) < 1)
        #expect(metrics.contains("backstop_backup_stale_after_seconds{namespace=\"team\",policy=\"orders\"} 93600"), "staleAfter 26h")
        // Secret values never reach status or Events.
        #expect(!String(describing: s).contains(pg.password))
        #expect(try !h.events(of: "orders").contains { $0.message.contains(pg.password) })
        // A deleted policy's gauges go with it: BackupTooOld must not fire for it later.
        try await h.client.resource(BackupPolicy.self, namespace: "team").delete("orders")
        #expect(try await eventually(.seconds(20)) {
            !(try await h.metricsText()).contains("backstop_backup_last_success_timestamp_seconds{namespace=\"team\",policy=\"orders\"}")
        })
        await h.stop()
    }

    @Test func aWrongPasswordFailsWithTheAgentsReasonAndTheNextSlotStillRuns() async throws {
        let (pg, database) = try await Self.database()
        let h = try await ControllerHarness(operator: .inProcess)
        try h.secret("db-creds", ["password": "definitely-not-" + pg.password])
        try h.claim("backups")
        try h.create(Self.policy("wrongpw", pg: pg, database: database))
        h.startController()
        #expect(try await eventually { try await h.policy("wrongpw").status?.artifacts != nil })
        try await h.annotate("wrongpw", Backstop.runNowAnnotation, "try")
        let failed = try await eventually(.seconds(60)) {
            try await h.policy("wrongpw").status?.conditions?.find("LastBackupSucceeded")?.status == .false
        }
        #expect(failed)
        let s = try #require(try await h.policy("wrongpw").status)
        let last = try #require(s.conditions?.find("LastBackupSucceeded"))
        #expect(last.reason == "AuthenticationFailed", "\(last)")
        #expect(s.conditions?.find("Ready")?.status == .false)
        #expect(s.lastManualRun?.result == .failed)
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "wrongpw").contains { $0.type == "Warning" && $0.reason == "BackupFailed" }
        })
        #expect(try await eventually(.seconds(10)) {
            (try await h.metricsText()).contains("backstop_backup_failures_total{namespace=\"team\",policy=\"wrongpw\"} 1")
        })
        // The next slot (one hour later on the controller's clock) still gets its Job.
        let before = try h.jobs(of: "wrongpw").count
        h.advance(3600)
        try await h.annotate("wrongpw", "test/poke", "1")
        let scheduled = try await eventually(.seconds(60)) {
            try h.jobs(of: "wrongpw").contains { $0["metadata"]?["labels"]?[BackstopLabels.slot]?.stringValue?.hasSuffix("Z") == true }
        }
        #expect(scheduled)
        #expect(try h.jobs(of: "wrongpw").count == before + 1)
        #expect(try await eventually(.seconds(60)) {
            (try await h.metricsText()).contains("backstop_backup_failures_total{namespace=\"team\",policy=\"wrongpw\"} 2")
        })
        await h.stop()
    }

    @Test func aMissingSecretGivesReadyFalseAndNoJobUntilItExists() async throws {
        let pg = try TestServices.postgres()
        let h = try await ControllerHarness()
        try h.claim("backups")
        try h.create(Self.policy("nosecret", pg: pg, database: "postgres", secret: "later"))
        h.startController()
        let notReady = try await eventually(.seconds(30)) {
            try await h.policy("nosecret").status?.conditions?.find("Ready")?.reason == "SecretMissing"
        }
        #expect(notReady)
        let ready = try #require(try await h.policy("nosecret").status?.conditions?.find("Ready"))
        #expect(ready.status == .false && ready.message.contains("Secret later not found"))
        #expect(try await eventually(.seconds(10)) {
            try h.events(of: "nosecret").contains { $0.type == "Warning" && $0.reason == "SecretMissing" }
        })
        try await Task.sleep(for: .seconds(2))
        #expect(try h.jobs(of: "nosecret").isEmpty)
        // Creating the Secret recovers without touching the policy.
        try h.secret("later", ["password": pg.password])
        #expect(try await eventually(.seconds(30)) {
            try await h.policy("nosecret").status?.conditions?.find("Ready")?.status == .true
        })
        #expect(try await eventually(.seconds(30)) { try !h.jobs(of: "nosecret").isEmpty })
        await h.stop()
    }
}

/// Adoption against the server: a Job that already exists under the planned name (a restart
/// between create and status write) is used, never duplicated.
@Suite(.serialized) struct AdoptionIntegrationTests {
    @Test func anExistingRunNowJobIsAdoptedNotDuplicated() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        var policy = BackupIntegrationTests.policy("adopt", pg: pg, database: database)
        policy.metadata.annotations = [Backstop.runNowAnnotation: "pre"]
        try h.create(policy)
        let live = try await h.policy("adopt")
        // What the controller would have created before it was killed (it also lost its catalog run).
        let name = AgentJobBuilder.jobName(policy: "adopt", operation: .backup, token: "manual/pre")
        let job = AgentJobBuilder(agentImage: ControllerHarness.image)
            .job(for: live, operation: .backup, name: name, slotLabel: "manual", annotations: [Backstop.runNowAnnotation: "pre"])
        _ = try await h.client.resource(Job.self, namespace: "team").create(job)
        h.startController()
        let done = try await eventually(.seconds(90)) {
            try await h.policy("adopt").status?.lastManualRun?.result == .succeeded
        }
        #expect(done)
        let s = try #require(try await h.policy("adopt").status)
        #expect(s.lastManualRun?.job == name)
        #expect(s.lastBackup?.job == name)
        let backups = try h.jobs(of: "adopt").filter { $0["metadata"]?["labels"]?[BackstopLabels.operation] == "backup" }
        #expect(backups.count == 1)
        #expect(try !h.events(of: "adopt").contains { $0.reason == "BackupStarted" })
        await h.stop()
    }

    @Test func aBackupThatFinishesWhileTheOperatorIsDownIsRecordedAfterTheRestart() async throws {
        let (pg, database) = try await BackupIntegrationTests.database()
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": pg.password])
        try h.claim("backups")
        try h.create(BackupIntegrationTests.policy("restart", pg: pg, database: database))
        h.startController()
        #expect(try await eventually { try await h.policy("restart").status?.artifacts != nil })
        try await h.annotate("restart", Backstop.runNowAnnotation, "r1")
        let started = try await eventually(.seconds(30)) {
            try h.jobs(of: "restart").contains { $0["metadata"]?["labels"]?[BackstopLabels.operation] == "backup" }
        }
        #expect(started)
        await h.stopController()
        // The Job finishes while nobody watches.
        let finished = try await eventually(.seconds(60)) {
            try h.jobs(of: "restart").contains {
                $0["metadata"]?["labels"]?[BackstopLabels.operation] == "backup" && $0["status"]?["succeeded"]?.intValue == 1
            }
        }
        #expect(finished)
        h.startController()
        let done = try await eventually(.seconds(90)) {
            let s = try await h.policy("restart").status
            return s?.lastManualRun?.result == .succeeded && s?.lastPrune != nil && s?.activeJob == nil
        }
        #expect(done)
        let backups = try h.jobs(of: "restart").filter { $0["metadata"]?["labels"]?[BackstopLabels.operation] == "backup" }
        #expect(backups.count == 1)
        #expect(try await h.policy("restart").status?.lastBackup?.verified == true)
        await h.stop()
    }
}
