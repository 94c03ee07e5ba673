import Controllers
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Postgres
import TestSupport
import Testing

/// Staged values copied in (a vendor token, a registry pull secret) and bad input: each
/// mistake is a clear condition, and nothing changes anywhere.
@Suite(.serialized) struct RotationInputTests {
    @Test func aStagedTokenAndADockerConfigAreCopiedInAndOnlyTheListedWorkloadsRestart() async throws {
        let h = try await ControllerHarness(workloads: true)
        try h.secret("vendor-token", ["token": "tok-OLD-4f1c2a"])
        try h.secret("vendor-token-next", ["token": "tok-NEW-9b7e33"])
        let oldConfig = #"{"auths":{"registry.example":{"auth":"b2xkOm9sZA=="}}}"#
        let newConfig = #"{"auths":{"registry.example":{"auth":"bmV3Om5ldw=="}}}"#
        let olderConfig = #"{"auths":{"registry.example":{"auth":"b2xkZXI6b2xkZXI="}}}"#
        for (name, config) in [("regcred", oldConfig), ("regcred-next", newConfig)] {
            var data: JSONValue = [".dockerconfigjson": .string(Data(config.utf8).base64EncodedString())]
            // An earlier rotation, made while keepPrevious was true, left its old value beside it.
            if name == "regcred" { data[".dockerconfigjson.previous"] = .string(Data(olderConfig.utf8).base64EncodedString()) }
            _ = try h.sim.store.create(["apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                                        "metadata": ["name": .string(name), "namespace": "team"], "data": data])
        }
        let tokenProbe = "case \"$TOKEN\" in tok-*) exit 0;; *) exit 1;; esac"
        _ = try h.sim.store.create(Rotation.consumer("api-client", env: [("TOKEN", "vendor-token", "token")], probe: tokenProbe))
        _ = try h.sim.store.create(Rotation.consumer("bystander", env: [("TOKEN", "vendor-token", "token")], probe: tokenProbe))
        var puller = Rotation.consumer("puller", env: [], probe: "true")
        puller[path: ["spec", "template", "spec", "imagePullSecrets"]] = [["name": "regcred"]]
        _ = try h.sim.store.create(puller)
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api-client") && Rotation.ready(h, "bystander") && Rotation.ready(h, "puller") })
        _ = try h.sim.store.create(Rotation.resource("token", [
            "secretRef": ["name": "vendor-token"], "keys": [["key": "token", "from": ["name": "vendor-token-next", "key": "token"]]],
            "consumers": ["discover": false, "workloads": [["kind": "Deployment", "name": "api-client"]]],
        ]))
        _ = try h.sim.store.create(Rotation.resource("registry", [
            "secretRef": ["name": "regcred"], "keys": [["key": ".dockerconfigjson", "from": ["name": "regcred-next", "key": ".dockerconfigjson"]]],
            "consumers": ["discover": false, "workloads": [["kind": "Deployment", "name": "puller"]]], "keepPrevious": false,
        ]))
        h.startController()
        try await Rotation.runNow(h, "token", "now")
        try await Rotation.runNow(h, "registry", "now")
        let token = try await Rotation.finished(h, "token", runNow: "now")
        let registry = try await Rotation.finished(h, "registry", runNow: "now")
        #expect(token.status?.phase?.rawValue == "Succeeded", "\(String(describing: token.status))")
        #expect(registry.status?.phase?.rawValue == "Succeeded", "\(String(describing: registry.status))")
        #expect(try Rotation.secretValue(h, "vendor-token", "token") == "tok-NEW-9b7e33")
        #expect(try Rotation.secretValue(h, "vendor-token", "token.previous") == "tok-OLD-4f1c2a")
        #expect(try Rotation.secretValue(h, "regcred", ".dockerconfigjson") == newConfig)
        #expect(try Rotation.secretValue(h, "regcred", ".dockerconfigjson.previous") == nil, "keepPrevious: false drops an earlier run's .previous")
        #expect(try h.sim.store.get("v1", "Secret", namespace: "team", name: "regcred")["type"] == "kubernetes.io/dockerconfigjson")
        // Only the listed workloads restarted; the bystander uses the token too but was not listed.
        #expect(try Rotation.restartedAt(h, "api-client") != nil)
        #expect(try Rotation.restartedAt(h, "puller") != nil)
        #expect(try Rotation.restartedAt(h, "bystander") == nil)
        #expect(token.status?.consumers?.map(\.key) == ["Deployment/api-client"] && token.status?.consumersReady == "1/1")
        // Without a source there is no agent Job.
        #expect(try h.sim.store.list("batch/v1", "Job", namespace: "team").isEmpty)
        await h.stop()
    }

    @Test func badInputFailsWithAClearConditionAndChangesNothing() async throws {
        let pg = try TestServices.postgres()
        let old = RotationIntegrationTests.oldPassword
        let role = try await Rotation.role(pg, password: old)
        // An admin that can log in but may not change another role's password.
        let weak = try await Rotation.role(pg, password: "Weak-admin-password-1")
        let h = try await ControllerHarness(workloads: true)
        try h.secret("db-creds", ["password": old])
        try h.secret("pg-admin", ["username": pg.user, "password": pg.password])
        try h.secret("weak-admin", ["username": weak, "password": "Weak-admin-password-1"])
        _ = try h.sim.store.create(Rotation.consumer("api", env: [("PGPASSWORD", "db-creds", "password")], probe: Rotation.pgProbe(pg, role)))
        #expect(try await eventually(.seconds(30)) { try Rotation.ready(h, "api") })

        var noTarget = Rotation.pgSpec(pg, role: role)
        noTarget["secretRef"] = ["name": "missing-creds"]
        var noStaged = Rotation.pgSpec(pg, role: role)
        noStaged["keys"] = [["key": "password", "from": ["name": "next-creds", "key": "password"]]]
        var noConsumer = Rotation.pgSpec(pg, role: role)
        noConsumer["consumers"] = ["workloads": [["kind": "Deployment", "name": "ghost"]]]
        // The dated-role strategy switches the login name too: the Secret must hold one.
        var noUsername = Rotation.pgSpec(pg, role: role)
        noUsername[path: ["apply", "postgres", "strategy"]] = "DatedRole"
        // Without the key that holds it, the schema refuses the rotation before it is stored.
        #expect(throws: (any Error).self) { _ = try h.sim.store.create(Rotation.resource("no-username", noUsername)) }
        noUsername[path: ["apply", "postgres", "usernameKey"]] = "username"
        let cases: [(String, JSONValue, String, String)] = [
            ("no-target", noTarget, "SecretNotFound", "Secret missing-creds not found"),
            ("no-staged", noStaged, "StagedSecretNotFound", "Secret next-creds not found"),
            ("no-admin", Rotation.pgSpec(pg, role: role, admin: "nope"), "AdminSecretNotFound", "Secret nope not found"),
            ("weak-admin", Rotation.pgSpec(pg, role: role, admin: "weak-admin"), "PermissionDenied", "may not change the password of role \(role)"),
            ("no-consumer", noConsumer, "WorkloadNotFound", "Deployment/ghost"),
            ("dated-no-username", noUsername, "SecretNotFound", "has no key username"),
        ]
        for (name, spec, _, _) in cases { _ = try h.sim.store.create(Rotation.resource(name, spec)) }
        // A length that cannot be generated is refused by the schema before it is stored.
        var short = Rotation.pgSpec(pg, role: role)
        short["keys"] = [["key": "password", "generate": ["length": 8]]]
        #expect(throws: (any Error).self) { _ = try h.sim.store.create(Rotation.resource("too-short", short)) }
        h.startController()
        for (name, _, _, _) in cases { try await Rotation.runNow(h, name, "go") }
        for (name, _, reason, text) in cases {
            let r = try await Rotation.finished(h, name, runNow: "go", within: 60)
            let s = try #require(r.status)
            #expect(s.phase?.rawValue == "Failed", "\(name): \(String(describing: s))")
            let condition = s.conditions?.find("RotationSucceeded")
            #expect(condition?.status == .false && condition?.reason == reason, "\(name): \(String(describing: condition))")
            #expect(s.message?.contains(text) == true && s.message?.contains("nothing was changed") == true, "\(name): \(s.message ?? "")")
            #expect(s.conditions?.isTrue("Ready") == false)
        }
        // Nothing changed anywhere: the source, the Secret, the consumer; no pending Secret left.
        #expect(await Rotation.pgLogin(pg, role, old))
        #expect(try Rotation.secretValue(h, "db-creds", "password") == old)
        #expect(try Rotation.secretValue(h, "db-creds", "password.previous") == nil)
        #expect(try Rotation.restartedAt(h, "api") == nil)
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        // Only the weak admin's Apply ran an agent Job.
        let jobs = try h.sim.store.list("batch/v1", "Job", namespace: "team")
        #expect(jobs.compactMap { $0[path: ["metadata", "labels", "backstop.dev/rotation"]]?.stringValue } == ["weak-admin"],
                "\(jobs.map { ($0[path: ["metadata", "name"]]?.stringValue ?? "", $0[path: ["metadata", "labels"]].map { String(decoding: $0.serialized(), as: UTF8.self) } ?? "") })")
        #expect((try await h.metricsText()).contains("result=\"failed\""))
        await h.stop()
    }

    @Test func aRedisAdminWithoutTheACLPrivilegeFailsAtApplyAndChangesNothing() async throws {
        let redis = try TestServices.redis()
        let h = try await ControllerHarness(workloads: true)
        let user = "app_" + UUID().uuidString.prefix(8).lowercased(), weak = "weak_" + UUID().uuidString.prefix(8).lowercased()
        let old = RotationIntegrationTests.oldPassword
        try await Rotation.redisAdmin(redis, ["ACL", "SETUSER", user, "on", ">\(old)", "~*", "+@all"])
        // Can log in and read, may not run ACL commands: Redis answers NOPERM.
        try await Rotation.redisAdmin(redis, ["ACL", "SETUSER", weak, "on", ">Weak-admin-password-1", "~*", "+@read", "+ping"])
        try h.secret("cache-creds", ["password": old])
        try h.secret("redis-admin", ["username": weak, "password": "Weak-admin-password-1"])
        _ = try h.sim.store.create(Rotation.resource("cache", [
            "secretRef": ["name": "cache-creds"], "keys": [["key": "password", "generate": ["length": 24]]],
            "apply": ["redis": ["host": .string(redis.host), "port": .int(Int64(redis.port)), "user": .string(user), "passwordKey": "password",
                                "adminSecretRef": ["name": "redis-admin"]]],
        ]))
        h.startController()
        try await Rotation.runNow(h, "cache", "go")
        let done = try await Rotation.finished(h, "cache", runNow: "go", within: 60)
        let s = try #require(done.status)
        #expect(s.phase?.rawValue == "Failed", "\(String(describing: s))")
        #expect(s.conditions?.find("RotationSucceeded")?.reason == "PermissionDenied", "\(String(describing: s.conditions))")
        #expect(s.message?.contains("may not run ACL commands: grant it +acl") == true && s.message?.contains("nothing was changed") == true,
                "\(s.message ?? "")")
        #expect(Rotation.redisLogin(redis, user: user, password: old), "the old password still works")
        #expect(try Rotation.secretValue(h, "cache-creds", "password") == old)
        #expect(try h.sim.store.list("v1", "Secret", namespace: "team").allSatisfy { $0[path: ["metadata", "labels", "backstop.dev/rotation"]] == nil })
        await h.stop()
    }
}
