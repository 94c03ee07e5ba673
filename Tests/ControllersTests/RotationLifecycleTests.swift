import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// When rotations run (schedule, suspend, run-now) and what deleting one mid-run does.
@Suite(.serialized) struct RotationLifecycleTests {
    func poke(_ h: ControllerHarness, _ name: String, _ value: String) async throws {
        _ = try await h.client.resource(SecretRotation.self, namespace: "team")
            .patch(name, .merge(["metadata": ["annotations": .object(["test/poke": .string(value)])]]))
    }

    @Test func aScheduledRotationRunsAtItsSlotSuspendStopsTheScheduleAndRunNowStillRuns() async throws {
        let h = try await ControllerHarness(operator: .inProcess)
        try h.secret("api-token", ["token": "first-token-value-0001"])
        _ = try h.sim.store.create(Rotation.resource("token", [
            "secretRef": ["name": "api-token"], "schedule": "@every 1h",
            "keys": [["key": "token", "generate": ["length": 40, "charset": "Base64URL"]]],
        ]))
        h.startController()
        #expect(try await eventually(.seconds(20)) { try await Rotation.get(h, "token").status?.nextRotationTime != nil })
        var s = try #require(try await Rotation.get(h, "token").status)
        #expect(s.phase?.rawValue == "Idle" && s.run == nil && s.conditions?.isTrue("Ready") == true, "\(s)")
        let next = try #require(s.nextRotationTime?.date)
        #expect(next > Date() && next <= Date().addingTimeInterval(3601))

        // The slot comes: one run, by the schedule.
        h.advance(3601)
        try await poke(h, "token", "slot")
        #expect(try await eventually(.seconds(30)) { try await Rotation.get(h, "token").status?.phase?.rawValue == "Succeeded" })
        s = try #require(try await Rotation.get(h, "token").status)
        #expect(s.run?.trigger == "schedule" && s.lastScheduleTime != nil && s.lastRotationTime != nil)
        let rotated = try #require(try Rotation.secretValue(h, "api-token", "token"))
        #expect(rotated.count == 40 && rotated != "first-token-value-0001")
        #expect(s.nextRotationTime.map { $0.date > next } == true, "the next slot moved on")

        // Suspended: the next slot passes without a run, and no next time is shown.
        _ = try await h.client.resource(SecretRotation.self, namespace: "team").patch("token", .merge(["spec": ["suspend": true]]))
        h.advance(3601)
        try await poke(h, "token", "suspended")
        #expect(try await eventually(.seconds(10)) { try await Rotation.get(h, "token").status?.nextRotationTime == nil })
        try await Task.sleep(for: .seconds(2))
        #expect(try await Rotation.get(h, "token").status?.run?.id == s.run?.id, "no run while suspended")
        #expect(try Rotation.secretValue(h, "api-token", "token") == rotated)

        // run-now is not stopped by suspend: an operator can still rotate by hand.
        try await Rotation.runNow(h, "token", "by-hand")
        let manual = try await Rotation.finished(h, "token", runNow: "by-hand", within: 30)
        #expect(manual.status?.phase?.rawValue == "Succeeded" && manual.status?.run?.trigger == "manual")
        #expect(try Rotation.secretValue(h, "api-token", "token") != rotated)
        await h.stop()
    }

    @Test func deletingARotationMidRunRollsItBackBeforeItGoes() async throws {
        let h = try await ControllerHarness(workloads: true)
        let pg = try TestServices.postgres()
        let old = RotationIntegrationTests.oldPassword
        let role = try await Rotation.roleWithSecrets(h, pg, password: old)
        // Slow to become ready, so the run is still restarting it when the rotation is deleted.
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGPASSWORD", "db-creds", "password")], probe: Rotation.pgProbe(pg, role), delay: 4))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })
        _ = try h.sim.store.create(Rotation.resource("db", Rotation.pgSpec(pg, role: role)))
        h.startController()
        try await Rotation.runNow(h, "db", "go")
        #expect(try await eventually(.seconds(30)) { try await Rotation.get(h, "db").status?.currentStep == "Restart" })
        #expect(try await Rotation.get(h, "db").metadata.finalizers == [SecretRotationController.finalizer])
        _ = try await h.client.resource(SecretRotation.self, namespace: "team").delete("db")
        // Held by the finalizer until the roll-back is done, then gone.
        #expect(try await eventually(.seconds(60)) {
            (try? h.sim.store.get(Backstop.apiVersion, "SecretRotation", namespace: "team", name: "db")) == nil
        }, "the rotation goes once rolled back")
        #expect(await Rotation.pgLogin(pg, role, old), "the old password is valid again")
        #expect(try Rotation.secretValue(h, "db-creds", "password") == old)
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        let reasons = try h.events(of: "db").map(\.reason)
        #expect(reasons.contains("RollBackSucceeded"), "\(reasons)")
        await h.stop()
    }

    @Test func twoRotationsOfOneSecretStartedTogetherNeverRunAtOnce() async throws {
        let h = try await ControllerHarness()
        try h.secret("shared-token", ["token": "first-token-value-0001"])
        for name in ["first", "second"] {
            _ = try h.sim.store.create([
                "apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation",
                "metadata": ["name": .string(name), "namespace": "team", "annotations": .object([Backstop.runNowAnnotation: "together"])],
                "spec": ["secretRef": ["name": "shared-token"], "keys": [["key": "token", "generate": ["length": 32, "charset": "Alphanumeric"]]]],
            ])
        }
        // Both runs start in the operator's first moments, within the informers' lag of each other.
        h.startController()
        for name in ["first", "second"] {
            let done = try await Rotation.finished(h, name, runNow: "together", within: 60)
            #expect(done.status?.phase?.rawValue == "Succeeded", "\(name): \(String(describing: done.status?.message))")
        }
        // From the API server's history: at no point were both past Validate with their run open.
        var past: [String: Bool] = [:]
        var overlap = false
        for event in try h.sim.store.history("backstop.dev/v1alpha1", "SecretRotation", namespace: "team", name: nil) {
            let name = event.object["metadata"]?["name"]?.stringValue ?? ""
            let steps = event.object[path: ["status", "steps"]]?.arrayValue ?? []
            let validated = steps.contains { $0["name"] == "Validate" && $0["phase"] == "Succeeded" }
            let open = event.object[path: ["status", "run"]] != nil && event.object[path: ["status", "run", "finishedAt"]] == nil
            past[name] = validated && open
            if past.values.filter({ $0 }).count > 1 { overlap = true }
        }
        #expect(!overlap, "both rotations ran at once")
        let waited = try h.events(of: "first").map(\.message) + h.events(of: "second").map(\.message)
        #expect(waited.contains { $0.contains("which rotates the same Secret") }, "one of them waited for the other: \(waited)")
        await h.stop()
    }
}
