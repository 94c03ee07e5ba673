import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// Roll-backs that start after Apply: at Verify, where the agent's login with the new password
/// is the last check before the old one is given up, and at Restart, where a StatefulSet whose
/// pods log in cannot roll once the old password is refused.
@Suite(.serialized) struct RotationRollBackTests {
    @Test func aLoginThatFailsAtVerifyRollsTheRotationBackEverywhere() async throws {
        let h = try await ControllerHarness(workloads: true)
        let pg = try TestServices.postgres()
        let old = RotationIntegrationTests.oldPassword
        let role = try await Rotation.roleWithSecrets(h, pg, password: old)
        // A consumer that comes up whatever the password (it connects lazily), slowly: the run
        // is in Restart long enough for someone else to change the role's password meanwhile.
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGPASSWORD", "db-creds", "password")], probe: "true", delay: 4))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })
        _ = try h.sim.store.create(Rotation.resource("db", Rotation.pgSpec(pg, role: role)))
        h.startController()
        try await Rotation.runNow(h, "db", "go")
        var new: String?
        #expect(try await eventually(.seconds(60)) {
            guard try await Rotation.get(h, "db").status?.currentStep == "Restart" else { return false }
            new = try Rotation.secretValue(h, "db-creds", "password")
            return new != old
        }, "the run reaches Restart with the new value in the Secret")
        let applied = try #require(new)
        #expect(await Rotation.pgLogin(pg, role, applied), "Apply made the new password valid")
        let interloper = "Someone-else-" + UUID().uuidString.prefix(8)
        let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password))
        _ = try await admin.execute("ALTER ROLE \(role) PASSWORD '\(interloper)'")
        await admin.close()

        let done = try await Rotation.finished(h, "db", runNow: "go", within: 120)
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "RolledBack", "\(String(describing: s))")
        #expect(s.steps?.map(\.phase) == [.succeeded, .succeeded, .succeeded, .succeeded, .succeeded, .failed, .skipped, .succeeded],
                "\(String(describing: s.steps))")
        let verify = s.steps?.first { $0.name == "Verify" }
        #expect(verify?.job != nil && verify?.message?.contains(role) == true, "the Verify agent's login as \(role) failed: \(String(describing: verify))")
        #expect(s.message?.hasPrefix("Verify failed") == true && s.message?.contains("rolled back") == true, "\(s.message ?? "")")
        #expect(s.conditions?.find("RotationSucceeded")?.status == .false && s.conditions?.isTrue("Ready") == false)
        // Put back everywhere: the old password at the source, in the Secret, the consumer restarted again and ready.
        #expect(await Rotation.pgLogin(pg, role, old), "the old password works again")
        let appliedWorks = await Rotation.pgLogin(pg, role, applied), interloperWorks = await Rotation.pgLogin(pg, role, interloper)
        #expect(!appliedWorks && !interloperWorks)
        #expect(try Rotation.secretValue(h, "db-creds", "password") == old)
        #expect(try Rotation.secretValue(h, "db-creds", "password.previous") == nil)
        let restartedAt = try Rotation.restartedAt(h, "api")
        #expect(s.run?.rollbackRestartedAt != nil && restartedAt == s.run?.rollbackRestartedAt?.rfc3339, "restarted again by the roll-back")
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })
        let events = try h.events(of: "db")
        #expect(events.contains { $0.type == "Warning" && $0.reason == "VerifyFailed" }, "\(events)")
        #expect(events.contains { $0.type == "Warning" && $0.reason == "RolledBack" }, "\(events)")
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        // Canary scan: neither value, nor the interloper's, outside the Secrets (agent output included).
        let text = try Rotation.nonSecretText(h)
        #expect(text.contains("previous password set again"), "the scan includes the roll-back agent's output")
        for value in Rotation.forms(applied) + Rotation.forms(old) + Rotation.forms(interloper) {
            #expect(!text.contains(value), "a credential leaked outside the Secrets")
        }
        await h.stop()
    }

    /// What docs/rotation.md warns of: a StatefulSet (OrderedReady) replaces no unready pod, and
    /// its pod turns unready once the source refuses the old password, before its turn to restart.
    @Test func aStatefulSetWhosePodsLogInStallsOnAPasswordChangeAndTheRotationRollsBackNamingIt() async throws {
        let h = try await ControllerHarness(workloads: true)
        let pg = try TestServices.postgres()
        let old = RotationIntegrationTests.oldPassword
        let role = try await Rotation.roleWithSecrets(h, pg, password: old)
        _ = try h.sim.store.create(RotationConsumersTests.workload("StatefulSet", "stateful", probe: Rotation.pgProbe(pg, role),
                                                                   container: ["env": [["name": "PGPASSWORD", "valueFrom": ["secretKeyRef": ["name": "db-creds", "key": "password"]]]]]))
        // Restarted first, and slow: the StatefulSet's turn comes seconds after the password changed.
        _ = try h.sim.store.create(Rotation.consumer("first", env: [("PGPASSWORD", "db-creds", "password")], probe: "true", delay: 4))
        #expect(try await eventually(.seconds(30)) { try RotationConsumersTests.rolledOut(h, "StatefulSet", "stateful") && Rotation.ready(h, "first") })
        var spec = Rotation.pgSpec(pg, role: role, timeout: "8s")
        spec["consumers"] = ["workloads": [["kind": "Deployment", "name": "first"]]]
        _ = try h.sim.store.create(Rotation.resource("db", spec))
        h.startController()
        try await Rotation.runNow(h, "db", "go")
        let done = try await Rotation.finished(h, "db", runNow: "go", within: 90)
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "RolledBack", "\(String(describing: s))")
        #expect(s.conditions?.find("RotationSucceeded")?.reason == "ConsumerNotReady")
        #expect(s.message?.contains("StatefulSet/stateful was not ready within 8s") == true, "\(s.message ?? "")")
        #expect(await Rotation.pgLogin(pg, role, old), "the old password works again")
        #expect(try Rotation.secretValue(h, "db-creds", "password") == old)
        #expect(try await eventually(.seconds(30)) { try RotationConsumersTests.rolledOut(h, "StatefulSet", "stateful") }, "ready again on the old password")
        await h.stop()
    }
}
