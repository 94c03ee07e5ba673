import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim
import Testing

@Suite(.serialized) struct ClientTests {
    @Test func crudPatchAndTypedErrors() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        let cms = client.resource(ConfigMap.self, namespace: "default")

        let created = try await cms.create(Sim.configMap("c1", data: ["a": "1"]))
        #expect(created.metadata.uid != nil && created.metadata.resourceVersion != nil)
        let got = try await cms.get("c1")
        #expect(got.data?["a"] == "1")

        // 404 and 409 AlreadyExists are typed and carry the server's Status.
        do { _ = try await cms.get("missing"); Issue.record("expected 404") } catch {
            #expect(error.kind == .notFound && error.code == 404)
            #expect(error.message.contains("\"missing\" not found"))
        }
        do { _ = try await cms.create(Sim.configMap("c1")); Issue.record("expected 409") } catch {
            #expect(error.kind == .alreadyExists)
        }

        // A stale resourceVersion is a conflict.
        var stale = created
        stale.data = ["a": "2"]
        _ = try await cms.update(got.with { $0.data = ["a": "fresh"] })
        do { _ = try await cms.update(stale); Issue.record("expected conflict") } catch {
            #expect(error.kind == .conflict && error.isConflict)
        }

        // Merge, JSON (with a failing test op → 422) and server-side apply.
        let merged = try await cms.patch("c1", .merge(["data": ["b": "2"]]))
        #expect(merged.data?["b"] == "2" && merged.data?["a"] == "fresh")
        let jsonPatched = try await cms.patch("c1", .json([.replace("/data/b", "3")]))
        #expect(jsonPatched.data?["b"] == "3")
        do {
            _ = try await cms.patch("c1", .json([.test("/data/b", "nope"), .replace("/data/b", "4")]))
            Issue.record("expected 422")
        } catch {
            #expect(error.kind == .invalid)
        }
        let applied = try await cms.apply(Sim.configMap("c2", data: ["x": "y"]), fieldManager: "backstop-test")
        #expect(applied.data?["x"] == "y")

        // Invalid names: 422 with causes.
        do { _ = try await cms.create(Sim.configMap("Not_Valid")); Issue.record("expected 422") } catch {
            #expect(error.kind == .invalid)
            #expect(error.causes.contains { $0.field == "metadata.name" })
        }

        // Paged list sees everything at one resourceVersion.
        for i in 0..<7 { _ = try await cms.create(Sim.configMap("page-\(i)")) }
        let page = try await cms.list(ListOptions(limit: 3))
        #expect(page.items.count == 3 && page.continueToken != nil)
        let all = try await cms.listAll(pageSize: 3)
        #expect(all.items.filter { $0.name.hasPrefix("page-") }.count == 7)
        #expect(!all.resourceVersion.isEmpty)

        // Delete with a wrong uid precondition fails; the right one succeeds.
        do { try await cms.delete("c2", options: DeleteOptions(preconditionUID: "wrong")); Issue.record("expected 409") } catch {
            #expect(error.kind == .conflict)
        }
        try await cms.delete("c2", options: DeleteOptions(propagationPolicy: .background, preconditionUID: applied.metadata.uid))
        #expect(try await cms.getIfExists("c2") == nil)
    }

    @Test func statusAndScaleSubresources() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        let deployments = client.dynamic(Deployment.resourceType, namespace: "default")
        let body: JSONValue = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
            "spec": ["replicas": 1, "selector": ["matchLabels": ["app": "web"]],
                     "template": ["metadata": ["labels": ["app": "web"]],
                                  "spec": ["containers": [["name": "c", "image": "nginx:1"]]]]],
        ]
        _ = try await deployments.create(body)
        let scaled = try await deployments.scale("web", replicas: 3)
        #expect(scaled.spec.replicas == 3)
        #expect(try await deployments.get("web")["spec"]?["replicas"]?.intValue == 3)
        #expect(try await deployments.getScale("web").spec.replicas == 3)
        let withStatus = try await deployments.patch("web", .merge(["status": ["replicas": 3, "readyReplicas": 2]]),
                                                     subresource: "status")
        #expect(withStatus["status"]?["readyReplicas"]?.intValue == 2)
    }

    @Test func secretDataAndTokenNeverLogged() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let logs = CapturedLogs()
        let client = try Sim.client(sim, logger: logs.logger())
        let canary = "canary-\(UUID().uuidString)"
        let encoded = Data(canary.utf8).base64EncodedString()
        let secrets = client.resource(Secret.self, namespace: "default")
        _ = try await secrets.create(Secret(metadata: ObjectMeta(name: "s1"), data: ["password": encoded]))
        let read = try await secrets.get("s1")
        #expect(read.data?["password"] == encoded)
        _ = try await secrets.list()
        do { _ = try await secrets.create(Secret(metadata: ObjectMeta(name: "s1"), data: ["password": encoded])) } catch {}
        let lines = logs.all
        #expect(lines.count >= 3, "trace logging is on")
        for line in lines {
            #expect(!line.contains(canary) && !line.contains(encoded), "secret leaked: \(line)")
            #expect(!line.contains(sim.adminToken), "token leaked: \(line)")
            #expect(!line.lowercased().contains("bearer"))
        }
    }

    @Test func wrongCAFailsClosed() async throws {
        let sim = try await Sim.start()
        let other = try await Sim.start()
        defer { Task { await sim.shutdown(); await other.shutdown() } }
        var config = Sim.config(sim)
        config.certificateAuthority = other.caPEM.map { .data(Array($0.utf8)) }
        let client = try Sim.client(sim, config: config)
        do {
            _ = try await client.resource(ConfigMap.self, namespace: "default").list()
            Issue.record("a server with an untrusted certificate must be refused")
        } catch {
            #expect(error.kind == .transport)
            #expect(error.message.contains("TLS"))
            #expect(error.message.contains("certificate-authority"))
        }
        #expect(sim.requestLog.entries.isEmpty, "no request reached the server")
    }

    @Test func rotatedTokenFileIsPickedUpAfter401() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let token = sim.token(for: "operator", groups: ["system:masters"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)").path
        try token.write(toFile: file, atomically: true, encoding: .utf8)
        var config = Sim.config(sim)
        config.credentials = .tokenFile(file)
        let client = try Sim.client(sim, config: config)
        let cms = client.resource(ConfigMap.self, namespace: "default")
        _ = try await cms.list()
        let rotated = try #require(sim.rotateToken(for: "operator"))
        try rotated.write(toFile: file, atomically: true, encoding: .utf8)
        _ = try await cms.list()   // 401 → re-read file → retry succeeds
        #expect(sim.requestLog.entries.contains { $0.status == 401 })
    }

    @Test func throttlingAndServerErrorsAreRetried() async throws {
        let sim = try await Sim.start()
        defer { Task { await sim.shutdown() } }
        let client = try Sim.client(sim)
        let cms = client.resource(ConfigMap.self, namespace: "default")
        sim.faults.inject(.tooManyRequests(retryAfter: 1), count: 2)
        let start = ContinuousClock.now
        _ = try await cms.create(Sim.configMap("after-429"))
        #expect(ContinuousClock.now - start >= .seconds(1.8), "Retry-After honoured for a POST")
        sim.faults.inject(.serviceUnavailable, count: 2)
        _ = try await cms.get("after-429")
        sim.faults.inject(.internalError, count: 1, matching: .init(method: "POST"))
        do { _ = try await cms.create(Sim.configMap("no-retry")); Issue.record("a POST is not retried after 500") } catch {
            #expect(error.kind == .serverError)
        }
    }
}

extension ConfigMap {
    func with(_ change: (inout ConfigMap) -> Void) -> ConfigMap {
        var copy = self
        change(&copy)
        return copy
    }
}
