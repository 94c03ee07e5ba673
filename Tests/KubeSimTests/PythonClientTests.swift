import DynamicJSON
import Foundation
import KubeSim
import Testing

/// The python `kubernetes` client against the simulator (watch, 410, 409, status split, paging).
@Suite(.serialized) struct PythonClientTests {
    @Test func watchFromResourceVersionSeesEveryLaterChangeInOrder() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let r = try await h.python("""
        lst = core.list_namespaced_config_map("default")
        rv = lst.metadata.resource_version
        for i in range(3):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"c{i}"}, "data": {"i": str(i)}})
        core.patch_namespaced_config_map("c1", "default", {"data": {"i": "x"}})
        core.delete_namespaced_config_map("c2", "default")
        seen = []
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=2):
            seen.append(ev["type"] + ":" + ev["object"].metadata.name)
        print(json.dumps(seen))
        """)
        #expect(r.status == 0, "\(r.stderr)")
        let seen = try JSONValue(parsing: r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(seen == ["ADDED:c0", "ADDED:c1", "ADDED:c2", "MODIFIED:c1", "DELETED:c2"])
    }

    @Test func compactedHistoryGives410AndARelistRecovers() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let store = h.sim.store
        let rvBefore = store.resourceVersion
        try store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "a", "namespace": "default"]])
        h.sim.faults.compactHistory()
        let r = try await h.python("""
        w = watch.Watch()
        try:
            for ev in w.stream(core.list_namespaced_config_map, "default", resource_version="\(rvBefore)", timeout_seconds=2):
                pass
            print("no error")
        except ApiException as e:
            print("status", e.status, e.reason)
        lst = core.list_namespaced_config_map("default")
        print("relist", [i.metadata.name for i in lst.items])
        """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("status 410 Expired: too old resource version: \(rvBefore) (\(store.resourceVersion))"), "\(r.stdout)")
        #expect(r.stdout.contains("relist ['a']"))
    }

    @Test func staleUpdateIs409AndStatusSplitOnACustomResource() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(widgetCRDJSON)
        let r = try await h.python("""
        body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"replicas": 1}}
        w = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", body)
        stale = dict(w)
        w["spec"]["replicas"] = 2
        custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1", w)
        stale["spec"] = {"replicas": 3}
        try:
            custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1", stale)
        except ApiException as e:
            print("conflict", e.status, json.loads(e.body)["reason"])
        s = custom.patch_namespaced_custom_object_status("example.com", "v1", "default", "widgets", "w1",
            {"status": {"replicas": 5}, "spec": {"replicas": 9}})
        print("status-write", s["spec"]["replicas"], s["status"]["replicas"], s["metadata"]["generation"])
        m = custom.patch_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1",
            {"status": {"replicas": 0}, "spec": {"replicas": 4}})
        print("main-write", m["spec"]["replicas"], m["status"]["replicas"], m["metadata"]["generation"])
        """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("conflict 409 Conflict"), "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("status-write 2 5 2"), "\(r.stdout)")
        #expect(r.stdout.contains("main-write 4 5 3"), "\(r.stdout)")
    }

    @Test func pagingWithLimitAndContinueKeepsOneResourceVersion() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        for i in 0..<7 {
            try h.sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("p\(i)"), "namespace": "default"]])
        }
        let r = try await h.python("""
        names, rvs, remaining = [], set(), []
        cont = None
        first = True
        while first or cont:
            first = False
            page = core.list_namespaced_config_map("default", limit=3, _continue=cont)
            names += [i.metadata.name for i in page.items]
            rvs.add(page.metadata.resource_version)
            remaining.append(page.metadata.remaining_item_count)
            cont = page.metadata._continue
            if len(names) == 3:
                core.create_namespaced_config_map("default", {"metadata": {"name": "p99"}})
        print(json.dumps({"names": names, "rvs": len(rvs), "remaining": remaining}))
        """)
        #expect(r.status == 0, "\(r.stderr)")
        let out = try JSONValue(parsing: r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(out["names"] == ["p0", "p1", "p2", "p3", "p4", "p5", "p6"])
        #expect(out["rvs"] == 1)
        #expect(out["remaining"] == [4, 1, nil])
    }
}
