import DynamicJSON
import Foundation
import KubeSim
import Testing

/// The REST pipeline through the in-process store: resourceVersions, generation, status split,
/// conflicts, validation wording, finalizers, garbage collection and namespace termination.
@Suite struct StoreSemanticsTests {
    func cm(_ name: String, _ data: [String: JSONValue] = ["a": "1"], ns: String = "default") -> JSONValue {
        ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "namespace": .string(ns)], "data": .object(data)]
    }

    @Test func resourceVersionsGrowAndNoOpWritesChangeNothing() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        let created = try store.create(cm("cm1"))
        let rv1 = try #require(Int64(created["metadata"]?["resourceVersion"]?.stringValue ?? ""))
        #expect(rv1 > 1)
        #expect(created["metadata"]?["uid"]?.stringValue?.count == 36)
        #expect(created["metadata"]?["generation"] == nil)
        let same = try store.update(created)
        #expect(same["metadata"]?["resourceVersion"] == created["metadata"]?["resourceVersion"])
        #expect(store.resourceVersion == rv1)
        var changed = created
        changed["data"] = ["a": "2"]
        let updated = try store.update(changed)
        #expect(Int64(updated["metadata"]?["resourceVersion"]?.stringValue ?? "")! > rv1)
        // The first write's RV is now stale.
        let error = #expect(throws: KubeAPIError.self) { try store.update(changed) }
        #expect(error?.code == 409)
        #expect(error?.message == "Operation cannot be fulfilled on configmaps \"cm1\": the object has been modified; please apply your changes to the latest version and try again")
        let dup = #expect(throws: KubeAPIError.self) { try store.create(cm("cm1")) }
        #expect(dup?.message == "configmaps \"cm1\" already exists")
        #expect(dup?.details?["kind"] == "configmaps")
    }

    @Test func customResourcesFollowGenerationStatusSplitAndRequireResourceVersion() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        try store.create(widgetCRDJSON)
        var w = widget("w1", replicas: 2)
        w["status"] = ["replicas": 9]
        let created = try store.create(w)
        #expect(created["metadata"]?["generation"] == 1)
        #expect(created["status"] == nil, "status is dropped on create with a status subresource")
        #expect(created["spec"]?["color"] == "blue", "schema default applied")

        var withStatus = created
        withStatus["status"] = ["replicas": 2]
        let statusWritten = try store.updateStatus(withStatus)
        #expect(statusWritten["status"]?["replicas"] == 2)
        #expect(statusWritten["metadata"]?["generation"] == 1, "status writes do not bump generation")

        var mainWrite = statusWritten
        mainWrite["status"] = ["replicas": 7]
        mainWrite[path: ["spec", "replicas"]] = 3
        let afterMain = try store.update(mainWrite)
        #expect(afterMain["status"]?["replicas"] == 2, "main endpoint ignores status")
        #expect(afterMain["metadata"]?["generation"] == 2)

        var noRV = afterMain
        noRV[path: ["metadata", "resourceVersion"]] = nil
        let e = #expect(throws: KubeAPIError.self) { try store.update(noRV) }
        #expect(e?.code == 422)
        #expect(e?.message == "Widget.example.com \"w1\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")

        let bad = #expect(throws: KubeAPIError.self) { try store.create(widget("w2", replicas: 5, extra: ["color": "red"])) }
        #expect(bad?.message == "Widget.example.com \"w2\" is invalid: spec: Invalid value: \"object\": red widgets are limited to 3")
        let tooMany = #expect(throws: KubeAPIError.self) { try store.create(widget("w3", replicas: 11)) }
        #expect(tooMany?.message == "Widget.example.com \"w3\" is invalid: spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10")
        #expect(tooMany?.details?["causes"]?[0]?["field"] == "spec.replicas")
    }

    @Test func namesAndLabelsAreValidatedWithTheRealWording() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let long = String(repeating: "a", count: 254)
        let e = #expect(throws: KubeAPIError.self) { try h.sim.store.create(cm(long)) }
        #expect(e?.code == 422)
        #expect(e?.message.hasSuffix("metadata.name: Invalid value: \"\(long)\": must be no more than 253 characters") == true)
        var labelled = cm("ok")
        labelled[path: ["metadata", "labels"]] = ["bad key!": "x"]
        let l = #expect(throws: KubeAPIError.self) { try h.sim.store.create(labelled) }
        #expect(l?.details?["causes"]?[0]?["field"] == "metadata.labels")
        let missingNS = #expect(throws: KubeAPIError.self) { try h.sim.store.create(cm("x", ns: "nope")) }
        #expect(missingNS?.message == "namespaces \"nope\" not found")
    }

    @Test func finalizersHoldDeletionAndLastRemovalDeletes() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        var obj = cm("held")
        obj[path: ["metadata", "finalizers"]] = ["example.com/hold"]
        try store.create(obj)
        let pending = try #require(try store.delete("v1", "ConfigMap", name: "held"))
        #expect(pending["metadata"]?["deletionTimestamp"] != nil)
        var again = pending
        again[path: ["metadata", "finalizers"]] = ["example.com/hold", "example.com/new"]
        let e = #expect(throws: KubeAPIError.self) { try store.update(again) }
        #expect(e?.code == 422)
        var release = pending
        release[path: ["metadata", "finalizers"]] = nil
        try store.update(release)
        #expect(throws: KubeAPIError.self) { try store.get("v1", "ConfigMap", name: "held") }
        let history = try store.history("v1", "ConfigMap", name: "held")
        #expect(history.map(\.type) == [.added, .modified, .deleted])
    }

    @Test(arguments: [PropagationPolicy.background, .foreground, .orphan])
    func garbageCollectorFollowsPropagationPolicy(_ policy: PropagationPolicy) async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        let owner = try store.create(cm("owner"))
        var child = cm("child")
        child[path: ["metadata", "ownerReferences"]] = [["apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                         "uid": owner["metadata"]!["uid"]!, "blockOwnerDeletion": true]]
        try store.create(child)
        try store.delete("v1", "ConfigMap", name: "owner", propagation: policy)
        try await eventually {
            (try? store.get("v1", "ConfigMap", name: "owner")) == nil
        }
        let remaining = try store.list("v1", "ConfigMap", namespace: "default").compactMap { $0["metadata"]?["name"]?.stringValue }
        if policy == .orphan {
            #expect(remaining == ["child"])
            #expect(try store.get("v1", "ConfigMap", name: "child")["metadata"]?["ownerReferences"] == nil)
        } else {
            try await eventually { (try? store.get("v1", "ConfigMap", name: "child")) == nil }
        }
    }

    @Test func namespaceTerminationEmptiesAndRemovesTheNamespace() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        try store.create(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]])
        try store.create(cm("a", ns: "team"))
        let ns = try #require(try store.delete("v1", "Namespace", name: "team"))
        #expect(ns["status"]?["phase"] == "Terminating" || ns["metadata"]?["deletionTimestamp"] != nil)
        try await eventually { (try? store.get("v1", "Namespace", name: "team")) == nil }
        #expect(try store.list("v1", "ConfigMap", namespace: "team").isEmpty)
    }

    @Test func jobStatusRulesRejectCompleteWithoutSuccessCriteriaMet() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let job: JSONValue = ["apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": "j", "namespace": "default"],
                              "spec": ["template": ["spec": ["restartPolicy": "Never", "containers": [["name": "c", "image": "x"]]]]]]
        var created = try h.sim.store.create(job)
        #expect(created[path: ["spec", "selector", "matchLabels", "batch.kubernetes.io/controller-uid"]] == created["metadata"]?["uid"])
        created["status"] = ["startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:01:00Z",
                             "conditions": [["type": "Complete", "status": "True"]]]
        let e = #expect(throws: KubeAPIError.self) { try h.sim.store.updateStatus(created) }
        #expect(e?.message == "Job.batch \"j\" is invalid: status.conditions: Invalid value: cannot set Complete=True condition without the SuccessCriteriaMet=true condition")
    }
}

/// Polls `condition` for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    #expect(try condition(), "condition not met within \(seconds)s")
}
