import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import TestSupport
import Testing

/// Bad input shows while a rotation waits for its first run, not only when a run starts: a
/// missing Secret, admin Secret or listed consumer is Ready=False saying what to create, and
/// Ready=True again once it exists. Nothing runs and nothing is touched meanwhile.
@Suite(.serialized) struct RotationIdleInputTests {
    @Test func anIdleRotationWithMissingInputIsNotReadyUntilItIsFixed() async throws {
        let h = try await ControllerHarness()
        try h.secret("db-creds", ["password": "Current-password-0001"])
        let token: JSONValue = [["key": "token", "generate": ["length": 32]]]
        let password: JSONValue = [["key": "password", "generate": ["length": 32]]]
        let postgres: JSONValue = ["postgres": ["host": "db.team.svc", "role": "app", "passwordKey": "password", "adminSecretRef": ["name": "pg-admin"]]]
        let cases: [(name: String, spec: JSONValue, reason: String, message: String)] = [
            ("no-target", ["secretRef": ["name": "api-token"], "keys": token],
             "SecretNotFound", "Secret api-token not found in namespace team: create it or fix spec.secretRef"),
            ("no-admin", ["secretRef": ["name": "db-creds"], "keys": password, "apply": postgres],
             "AdminSecretNotFound", "apply.postgres.adminSecretRef: Secret pg-admin not found in namespace team"),
            ("no-consumer", ["secretRef": ["name": "db-creds"], "keys": password, "consumers": ["workloads": [["kind": "Deployment", "name": "api"]]]],
             "WorkloadNotFound", "spec.consumers.workloads names Deployment/api, which does not exist in namespace team"),
        ]
        for c in cases { _ = try h.sim.store.create(Rotation.resource(c.name, c.spec)) }
        _ = try h.sim.store.create(Rotation.resource("fine", ["secretRef": ["name": "db-creds"], "keys": password, "schedule": "@every 720h"]))
        h.startController()
        func ready(_ name: String) async throws -> Condition? { try await Rotation.get(h, name).status?.conditions?.find("Ready") }

        #expect(try await eventually(.seconds(20)) { try await ready("fine")?.status == .true })
        #expect(try await ready("fine")?.reason == "Scheduled")
        for c in cases {
            #expect(try await eventually(.seconds(20)) { try await ready(c.name)?.status == .false }, "\(c.name) is not ready")
            let condition = try await ready(c.name)
            #expect(condition?.reason == c.reason && condition?.message.contains(c.message) == true, "\(c.name): \(String(describing: condition))")
            let s = try await Rotation.get(h, c.name).status
            #expect(s?.phase?.rawValue == "Idle" && s?.run == nil, "\(c.name): no run started: \(String(describing: s))")
        }

        // Fixed, each becomes ready again without a run.
        try h.secret("api-token", ["token": "Current-token-value-0001"])
        try h.secret("pg-admin", ["username": "postgres", "password": "Admin-password-0001"])
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGPASSWORD", "db-creds", "password")], probe: "true"))
        for c in cases {
            #expect(try await eventually(.seconds(30)) { try await ready(c.name)?.status == .true }, "\(c.name) is ready once fixed")
            let condition = try await ready(c.name)
            #expect(condition?.reason == "Scheduled" && condition?.message == "rotates on demand (run-now annotation)", "\(String(describing: condition))")
            #expect(try await Rotation.get(h, c.name).status?.run == nil)
        }
        // Nothing was touched: no value changed, no pending Secret, no Job.
        #expect(try Rotation.secretValue(h, "db-creds", "password") == "Current-password-0001")
        #expect(try Rotation.secretValue(h, "api-token", "token") == "Current-token-value-0001")
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        #expect(try h.sim.store.list("batch/v1", "Job", namespace: "team").isEmpty)
        await h.stop()
    }
}
