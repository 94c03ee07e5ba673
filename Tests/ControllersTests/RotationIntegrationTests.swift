import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// The SecretRotation controller end to end on an in-process KubeSim: real consumer
/// processes whose readiness probe logs in with the Secret's credential, the real agent in
/// Jobs, the real PostgreSQL and Redis.
@Suite(.serialized) struct RotationIntegrationTests {
    static let oldPassword = "Old-pass-0123456789x"  // 20 characters: what a truncating client still sends whole

    func pgSetUp(_ h: ControllerHarness) async throws -> (TestServices.Postgres, String) {
        let pg = try TestServices.postgres()
        let role = try await Rotation.roleWithSecrets(h, pg, password: Self.oldPassword)
        return (pg, role)
    }

    /// An admin role (CREATEROLE, not superuser) whose every statement the server logs.
    static func loggedAdmin(_ pg: TestServices.Postgres) async throws -> (user: String, password: String) {
        let user = "rotadm_" + UUID().uuidString.prefix(8).lowercased(), password = "Admin-password-" + UUID().uuidString.prefix(8)
        let db = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await db.executeScript("CREATE ROLE \(user) LOGIN CREATEROLE PASSWORD '\(password)'; ALTER ROLE \(user) SET log_statement = 'all';")
        await db.close()
        return (user, password)
    }

    /// The server log of the test PostgreSQL (`hack/test-services.sh` writes it beside the socket directory).
    static func serverLog() -> String? {
        guard let socketDir = ProcessInfo.processInfo.environment["BACKSTOP_TEST_PG_SOCKET_DIR"] else { return nil }
        let log = URL(fileURLWithPath: socketDir).deletingLastPathComponent().appendingPathComponent("postgres.log")
        return try? String(contentsOf: log, encoding: .utf8)
    }

    @Test func aPostgresRotationAppliesTheNewPasswordRestartsTheConsumersAndLeavesNoTrace() async throws {
        let h = try await ControllerHarness(workloads: true)
        let pg = try TestServices.postgres()
        let role = try await Rotation.role(pg, password: Self.oldPassword)
        let admin = try await Self.loggedAdmin(pg)
        try h.secret("db-creds", ["password": Self.oldPassword])
        try h.secret("pg-admin", ["username": admin.user, "password": admin.password])
        // Two consumers found by discovery (env secretKeyRef), one more found through a projected volume.
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGPASSWORD", "db-creds", "password")], probe: Rotation.pgProbe(pg, role)))
        _ = try h.sim.store.create(Rotation.consumer("worker", env: [("PGPASSWORD", "db-creds", "password")], probe: Rotation.pgProbe(pg, role)))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") && Rotation.ready(h, "worker") }, "consumers ready on the old password")
        _ = try h.sim.store.create(Rotation.resource("db", Rotation.pgSpec(pg, role: role)))
        h.startController()
        #expect(try await eventually(.seconds(20)) { try await Rotation.get(h, "db").status?.phase?.rawValue == "Idle" })
        try await Rotation.runNow(h, "db", "first")
        let done = try await Rotation.finished(h, "db", runNow: "first")
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "Succeeded", "\(String(describing: s))")
        #expect(s.steps?.map(\.phase) == Array(repeating: StepPhase.succeeded, count: 8), "\(String(describing: s.steps))")
        #expect(s.steps?.last?.message == "nothing to roll back")
        let newPassword = try #require(try Rotation.secretValue(h, "db-creds", "password"))
        #expect(newPassword.count == 32 && newPassword.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(try Rotation.secretValue(h, "db-creds", "password.previous") == Self.oldPassword, "keepPrevious defaults to true")
        // Real logins: the old password is refused, the new one works.
        #expect(await Rotation.pgLogin(pg, role, newPassword))
        #expect(!(await Rotation.pgLogin(pg, role, Self.oldPassword)))
        // Every consumer was restarted (rollout-restart annotation) and is ready on the new password.
        #expect(s.consumers?.map(\.key).sorted() == ["Deployment/api", "Deployment/worker"])
        #expect(s.consumers?.allSatisfy { $0.ready == true && $0.restartedAt != nil } == true)
        #expect(s.consumersReady == "2/2")
        #expect(try Rotation.restartedAt(h, "api") != nil)
        #expect(try Rotation.ready(h, "api"))
        #expect(try Rotation.ready(h, "worker"))
        #expect(s.lastRotationTime != nil && s.conditions?.isTrue("RotationSucceeded") == true && s.conditions?.isTrue("Ready") == true)
        // The pending Secret is gone.
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy {
            $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil
        })
        let reasons = try h.events(of: "db").map(\.reason)
        for reason in ["RotationStarted", "GenerateSucceeded", "ApplySucceeded", "UpdateSucceeded", "RestartStarted", "RestartSucceeded",
                       "VerifySucceeded", "FinalizeSucceeded", "Rotated"] {
            #expect(reasons.contains(reason), "missing Event \(reason) in \(reasons)")
        }
        let metrics = (try await h.metricsText())
        #expect(metrics.contains("backstop_rotation_total{namespace=\"team\",result=\"succeeded\",rotation=\"db\"} 1")
                || metrics.contains("backstop_rotation_total{namespace=\"team\",rotation=\"db\",result=\"succeeded\"} 1"), "\(metrics)")
        #expect(metrics.contains("backstop_rotation_last_success_timestamp_seconds"))

        // The server logged the admin's ALTER ROLE with a SCRAM verifier, never the password itself.
        if let log = Self.serverLog() {
            #expect(log.contains("ALTER ROLE \"\(role)\" PASSWORD 'SCRAM-SHA-256$"), "the statement log holds the ALTER ROLE")
            #expect(!log.contains(newPassword), "the plain new password reached the server log")
        } else {
            Issue.record("no server log (BACKSTOP_TEST_PG_SOCKET_DIR not set): run under hack/test-services.sh")
        }
        // Canary scan: neither value appears in status, an Event, a Job or Pod (spec, termination message).
        let text = try Rotation.nonSecretText(h)
        #expect(text.contains("ApplySucceeded"), "the scan sees the Events")
        for value in Rotation.forms(newPassword) + Rotation.forms(Self.oldPassword) {
            #expect(!text.contains(value), "a credential leaked outside the Secrets")
        }

        // A second rotation starts from the first one's result (the old password is now the first new one).
        try await Rotation.runNow(h, "db", "second")
        let again = try await Rotation.finished(h, "db", runNow: "second")
        #expect(again.status?.phase?.rawValue == "Succeeded", "\(String(describing: again.status))")
        let third = try #require(try Rotation.secretValue(h, "db-creds", "password"))
        // Job history: only the last run's agent Jobs are kept.
        let firstJobs = Set(s.steps?.compactMap(\.job) ?? [])
        let jobsNow = Set(try h.sim.store.list("batch/v1", "Job", namespace: "team").compactMap { $0[path: ["metadata", "name"]]?.stringValue })
        #expect(firstJobs.count == 2 && firstJobs.isDisjoint(with: jobsNow) && jobsNow.count == 2, "\(firstJobs) \(jobsNow)")
        let thirdWorks = await Rotation.pgLogin(pg, role, third)
        let secondWorks = await Rotation.pgLogin(pg, role, newPassword)
        #expect(third != newPassword && thirdWorks && !secondWorks)
        await h.stop()
    }

    @Test func theDatedRoleStrategySwitchesLoginAndPasswordTogetherAndDropsTheOlderRolesLater() async throws {
        let h = try await ControllerHarness(workloads: true)
        let (pg, role) = try await pgSetUp(h)
        _ = try h.sim.store.mergePatch("v1", "Secret", namespace: "team", name: "db-creds",
                                       patch: ["data": ["username": .string(Data(role.utf8).base64EncodedString())]])
        let probe = "\(pg.bindir)/psql -h \(pg.host) -p \(pg.port) -U \"$PGUSER\" -d postgres -tAc 'select 1' >/dev/null 2>&1"
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGUSER", "db-creds", "username"), ("PGPASSWORD", "db-creds", "password")], probe: probe))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })
        var spec = Rotation.pgSpec(pg, role: role)
        spec[path: ["apply", "postgres", "strategy"]] = "DatedRole"
        spec[path: ["apply", "postgres", "usernameKey"]] = "username"
        _ = try h.sim.store.create(Rotation.resource("db", spec))
        h.startController()
        var logins: [(user: String, password: String)] = [(role, Self.oldPassword)]
        for round in 1...3 {
            try await Rotation.runNow(h, "db", "r\(round)")
            let done = try await Rotation.finished(h, "db", runNow: "r\(round)")
            #expect(done.status?.phase?.rawValue == "Succeeded", "round \(round): \(String(describing: done.status))")
            let user = try #require(try Rotation.secretValue(h, "db-creds", "username"))
            let password = try #require(try Rotation.secretValue(h, "db-creds", "password"))
            #expect(user.hasPrefix(role + "_") && user.count == role.count + 15, "a dated login role: \(user)")
            #expect(!logins.contains { $0.user == user }, "a new login role every rotation")
            logins.append((user, password))
            #expect(await Rotation.pgLogin(pg, user, password), "round \(round): the new login works")
            // Zero downtime: the previous login still works until the next successful rotation drops it.
            #expect(await Rotation.pgLogin(pg, logins[logins.count - 2].user, logins[logins.count - 2].password), "round \(round): the previous login still works")
            #expect(try Rotation.ready(h, "api") && done.status?.consumersReady == "1/1")
            try await Task.sleep(for: .seconds(1))  // the next dated name is a second later
        }
        // The first dated login was dropped by the third rotation; the original role is never dropped.
        #expect(!(await Rotation.pgLogin(pg, logins[1].user, logins[1].password)), "the oldest dated login role is gone")
        #expect(await Rotation.pgLogin(pg, role, Self.oldPassword), "the application role itself is left alone")
        let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        let members = try await admin.query("SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member JOIN pg_roles r ON r.oid = a.roleid WHERE r.rolname = $1 ORDER BY 1", [role])
            .map { try $0[0, as: String.self] }
        await admin.close()
        #expect(members == [logins[2].user, logins[3].user], "members of \(role): \(members)")
        // Canary scan: no password of any round in status, Events, Jobs, Pods or the agents' output
        // (login names are not secret: they are in status and Events on purpose).
        let text = try Rotation.nonSecretText(h)
        #expect(text.contains("rotate finalize:"), "the scan sees the last run's agents' output")
        #expect(text.contains("became leader"), "the scan sees the operator's own log")
        for login in logins {
            for value in Rotation.forms(login.password) { #expect(!text.contains(value), "a password leaked outside the Secrets") }
        }
        await h.stop()
    }

    @Test func aConsumerThatCannotBecomeReadyOnTheNewPasswordRollsTheRotationBack() async throws {
        let h = try await ControllerHarness(workloads: true)
        let (pg, role) = try await pgSetUp(h)
        // A client that sends only the first 20 characters of its password: fine with the old
        // one, refused with any 32-character one.
        _ = try h.sim.store.create(Rotation.consumer("legacy", env: [("PGPASSWORD", "db-creds", "password")],
                                                     probe: Rotation.pgProbe(pg, role, truncateTo: 20)))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "legacy") })
        let receiver = try await HTTPTestServer.start()
        defer { receiver.stop() }
        try h.secret("chat", ["url": receiver.url("/webhook/rotation")])
        var spec = Rotation.pgSpec(pg, role: role, timeout: "8s")
        spec["notify"] = [["webhook": ["urlSecretRef": ["name": "chat", "key": "url"]], "events": ["RotationRolledBack", "RotationFailed"]]]
        _ = try h.sim.store.create(Rotation.resource("db", spec))
        h.startController()
        try await Rotation.runNow(h, "db", "try")
        // The new value, caught while the consumer restarts on it: the scan looks for it too.
        var rejected: String?
        _ = try await eventually(.seconds(60)) {
            rejected = try Rotation.secretValue(h, "db-creds", "password").flatMap { $0 == Self.oldPassword ? nil : $0 }
            return rejected != nil
        }
        let done = try await Rotation.finished(h, "db", runNow: "try", within: 120)
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "RolledBack", "\(String(describing: s))")
        #expect(s.message?.contains("Deployment/legacy") == true, "\(s.message ?? "")")
        #expect(s.conditions?.find("RotationSucceeded")?.reason == "ConsumerNotReady")
        #expect(s.steps?.map(\.phase) == [.succeeded, .succeeded, .succeeded, .succeeded, .failed, .skipped, .skipped, .succeeded],
                "\(String(describing: s.steps))")
        // The old password works again at the source, the Secret holds it, the consumer is ready.
        #expect(await Rotation.pgLogin(pg, role, Self.oldPassword))
        #expect(try Rotation.secretValue(h, "db-creds", "password") == Self.oldPassword)
        #expect(try Rotation.secretValue(h, "db-creds", "password.previous") == nil)
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "legacy") })
        let events = try h.events(of: "db")
        #expect(events.contains { $0.type == "Warning" && $0.reason == "RolledBack" && $0.message.contains("Deployment/legacy") }, "\(events)")
        #expect((try await h.metricsText()).contains("result=\"rolled_back\""))
        let text = try Rotation.nonSecretText(h)
        #expect(text.contains("previous password set again"), "the scan includes the roll-back agent's output")
        let new = try #require(rejected, "the new value reached the Secret before the roll-back")
        for value in Rotation.forms(Self.oldPassword) + Rotation.forms(new) {
            #expect(!text.contains(value), "a credential leaked outside the Secrets")
        }
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        // One message: rolled back, naming the consumer; no password in it.
        #expect(try await eventually(.seconds(20)) { try await Rotation.get(h, "db").status?.notifications?.lastDelivery != nil })
        let messages = try await NotificationIntegrationTests.received(receiver, "rotation")
        #expect(messages.compactMap { $0.json?["event"]?.stringValue } == ["RotationRolledBack"], "\(messages.map(\.body))")
        #expect(messages.first?.json?["reason"]?.stringValue == "ConsumerNotReady")
        #expect(messages.first?.json?["text"]?.stringValue?.contains("secret rotation rolled back") == true)
        #expect(messages.allSatisfy { !$0.body.contains(Self.oldPassword) && !$0.body.contains(Data(Self.oldPassword.utf8).base64EncodedString()) })
        await h.stop()
    }

    @Test func aRedisRotationKeepsBothPasswordsDuringTheRolloutAndOnlyTheNewOneAfter() async throws {
        let redis = try TestServices.redis()
        let h = try await ControllerHarness(workloads: true)
        let user = "app_" + UUID().uuidString.prefix(8).lowercased()
        try await Rotation.redisAdmin(redis, ["ACL", "SETUSER", user, "on", ">\(Self.oldPassword)", "~*", "+@all"])
        try h.secret("cache-creds", ["password": Self.oldPassword])
        try h.secret("redis-admin", ["password": redis.password])
        let probe = "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli -h \(redis.host) -p \(redis.port) --user \(user) --no-auth-warning PING | grep -q PONG"
        // Slow to become ready (5 s), so the rollout is long enough to look at.
        _ = try h.sim.store.create(Rotation.consumer("cache-client", env: [("REDIS_PASSWORD", "cache-creds", "password")], probe: probe, delay: 5))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "cache-client") })
        _ = try h.sim.store.create(Rotation.resource("cache", [
            "secretRef": ["name": "cache-creds"], "keys": [["key": "password", "generate": ["length": 24, "charset": "Hex"]]],
            "apply": ["redis": ["host": .string(redis.host), "port": .int(Int64(redis.port)), "user": .string(user), "passwordKey": "password",
                                "adminSecretRef": ["name": "redis-admin"]]],
            "keepPrevious": false,
        ]))
        h.startController()
        try await Rotation.runNow(h, "cache", "go")
        var bothDuringRollout = false
        _ = try await eventually(.seconds(60)) {
            guard try await Rotation.get(h, "cache").status?.currentStep == "Restart",
                  let new = try Rotation.secretValue(h, "cache-creds", "password"), new != Self.oldPassword else { return false }
            bothDuringRollout = Rotation.redisLogin(redis, user: user, password: new) && Rotation.redisLogin(redis, user: user, password: Self.oldPassword)
            return true
        }
        #expect(bothDuringRollout, "both passwords work while the consumers restart")
        let done = try await Rotation.finished(h, "cache", runNow: "go")
        #expect(done.status?.phase?.rawValue == "Succeeded", "\(String(describing: done.status))")
        let new = try #require(try Rotation.secretValue(h, "cache-creds", "password"))
        #expect(new.count == 24 && new.allSatisfy(\.isHexDigit))
        #expect(Rotation.redisLogin(redis, user: user, password: new))
        #expect(!Rotation.redisLogin(redis, user: user, password: Self.oldPassword), "the old password is removed at Finalize")
        #expect(try Rotation.secretValue(h, "cache-creds", "password.previous") == nil, "keepPrevious: false")
        #expect(done.status?.consumers?.map(\.key) == ["Deployment/cache-client"])
        #expect(try Rotation.ready(h, "cache-client"))
        // Canary scan: neither value in status, Events, Jobs, Pods or the agents' output.
        let text = try Rotation.nonSecretText(h)
        #expect(text.contains("ApplySucceeded") && text.contains("rotate apply:"), "the scan sees the Events and the agents' output")
        for value in Rotation.forms(new) + Rotation.forms(Self.oldPassword) {
            #expect(!text.contains(value), "a credential leaked outside the Secrets")
        }
        await h.stop()
    }
}

extension ConsumerStatus {
    var key: String { "\(kind)/\(name)" }
}
