import DynamicJSON
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubeSim
import Testing

/// Raw HTTP against a plain-HTTP simulator: error shapes for bad input, negotiation, dryRun,
/// streaming-list watches with bookmarks, Tables, discovery, deletecollection.
@Suite struct HTTPEdgeTests {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: JSONValue? { try? JSONValue(parsing: body) }
    }

    static func start() async throws -> KubeSim {
        var o = KubeSimOptions()
        o.tls = false
        o.anonymousUser = UserInfo.admin
        return try await KubeSim.start(o)
    }

    func call(_ sim: KubeSim, _ method: String, _ path: String, body: String? = nil,
              contentType: String = "application/json", accept: String? = nil) async throws -> Reply
    {
        var req = URLRequest(url: URL(string: sim.url + path)!)
        req.httpMethod = method
        if let body {
            req.httpBody = Data(body.utf8)
            req.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        if let accept { req.setValue(accept, forHTTPHeaderField: "Accept") }
        let (data, response) = try await URLSession.shared.data(for: req)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
        return Reply(status: http.statusCode, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    @Test func badInputGetsTheRealStatusShapes() async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        let cms = "/api/v1/namespaces/default/configmaps"
        var r = try await call(sim, "POST", cms, body: "{not json")
        #expect(r.status == 400)
        #expect(r.json?["kind"] == "Status" && r.json?["reason"] == "BadRequest")
        r = try await call(sim, "POST", cms, body: "{}", contentType: "text/plain")
        #expect(r.status == 415)
        #expect(r.json?["message"]?.stringValue?.hasPrefix("the body of the request was in an unknown format - accepted media types include:") == true)
        r = try await call(sim, "GET", cms, accept: "application/xml")
        #expect(r.status == 406)
        r = try await call(sim, "GET", "/apis/nope.example.com/v1/things")
        #expect(r.status == 404 && r.json?["message"] == "the server could not find the requested resource")
        r = try await call(sim, "PUT", cms, body: "{}")
        #expect(r.status == 405 && r.json?["reason"] == "MethodNotAllowed")
        r = try await call(sim, "GET", cms + "?labelSelector=a%20in%20(b")
        #expect(r.status == 400)
        r = try await call(sim, "GET", "/api/v1/namespaces/default/events?fieldSelector=bogus%3Dx")
        #expect(r.status == 400 && r.json?["message"] == "field label not supported: bogus")
        r = try await call(sim, "PATCH", "/api/v1/namespaces/default/configmaps/x", body: "{}", contentType: "application/json")
        #expect(r.status == 415)
        r = try await call(sim, "POST", cms, body: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"y","namespace":"other"}}"#)
        #expect(r.status == 400 && r.json?["message"] == "the namespace of the provided object does not match the namespace sent on the request")
        r = try await call(sim, "POST", cms, body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}\n", contentType: "application/yaml")
        #expect(r.status == 201)
    }

    @Test func dryRunPersistsNothing() async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        let rv = sim.store.resourceVersion
        var r = try await call(sim, "POST", "/api/v1/namespaces/default/configmaps?dryRun=All",
                               body: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"g-"}}"#)
        #expect(r.status == 201)
        #expect(r.json?["metadata"]?["name"]?.stringValue?.hasPrefix("g-") == true)
        #expect(sim.store.resourceVersion == rv)
        #expect(try sim.store.list("v1", "ConfigMap", namespace: "default").isEmpty)
        r = try await call(sim, "POST", "/api/v1/namespaces/default/configmaps?dryRun=Maybe",
                           body: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#)
        #expect(r.status == 422)
        #expect(r.json?["message"] == "CreateOptions.meta.k8s.io \"\" is invalid: dryRun: Unsupported value: \"Maybe\": supported values: \"All\"")
    }

    @Test func streamingListWatchEndsWithTheInitialEventsBookmarkAndTimesOut() async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "a", "namespace": "default"]])
        let start = Date()
        let r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=1")
        #expect(r.status == 200)
        #expect(Date().timeIntervalSince(start) >= 0.9)
        let events = r.body.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
        #expect(events.first?["type"] == "ADDED")
        #expect(events.first?[path: ["object", "metadata", "name"]] == "a")
        let bookmark = events.first { $0["type"] == "BOOKMARK" }
        #expect(bookmark?[path: ["object", "metadata", "annotations", "k8s.io/initial-events-end"]] == "true")
        let bad = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true")
        #expect(bad.status == 422)
    }

    @Test func tablesDiscoveryAndDeleteCollection() async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        for (name, tier) in [("a", "x"), ("b", "x"), ("c", "y")] {
            try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": ["name": .string(name), "namespace": "default", "labels": ["tier": .string(tier)]], "data": ["k": "v"]])
        }
        var r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps",
                               accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
        #expect(r.json?["kind"] == "Table")
        #expect(r.json?["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Data", "Age"])
        #expect(r.json?["rows"]?[0]?["cells"]?[1] == 1)
        #expect(r.json?["rows"]?[0]?[path: ["object", "kind"]] == "PartialObjectMetadata")
        r = try await call(sim, "GET", "/apis", accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json")
        #expect(r.headers["content-type"] == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
        #expect(r.json?["items"]?.arrayValue?.contains { $0[path: ["metadata", "name"]] == "apps" } == true)
        r = try await call(sim, "GET", "/api/v1")
        #expect(r.json?["groupVersion"] == "v1")
        r = try await call(sim, "DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=tier%3Dx")
        #expect(r.status == 200 && r.json?["items"]?.arrayValue?.count == 2)
        #expect(try sim.store.list("v1", "ConfigMap", namespace: "default").compactMap { $0[path: ["metadata", "name"]]?.stringValue } == ["c"])
        r = try await call(sim, "GET", "/version")
        #expect(r.json?["gitVersion"]?.stringValue?.hasPrefix("v1.32.") == true)
    }

    @Test func tableWatchesCarryColumnsOnlyOnTheFirstEventAndMetadataOnlyLists() async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        for name in ["a", "b"] {
            try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name), "namespace": "default"]])
        }
        var r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1",
                               accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
        let events = r.body.split(separator: "\n").compactMap { try? JSONValue(parsing: String($0)) }
        #expect(events.count == 2)
        #expect(events.allSatisfy { $0[path: ["object", "kind"]] == "Table" })
        #expect(events[0][path: ["object", "columnDefinitions"]]?.arrayValue?.isEmpty == false)
        #expect(events[1][path: ["object", "columnDefinitions"]] == .null)
        r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps",
                           accept: "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json")
        #expect(r.json?["kind"] == "PartialObjectMetadataList")
        #expect(r.json?["items"]?[0]?["kind"] == "PartialObjectMetadata")
        #expect(r.json?["items"]?[0]?["data"] == nil)
    }

    @Test(arguments: [false, true])
    func dropWatchesAndRestartEndStreamsButKeepTheStore(restart: Bool) async throws {
        let sim = try await Self.start()
        defer { Task { await sim.shutdown() } }
        try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "a", "namespace": "default"]])
        let rv = sim.store.resourceVersion
        let started = Date()
        let watch = Task { try? await call(sim, "GET", "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(rv)") }
        try await eventually { sim.requestLog.entries.contains { $0.query["watch"] == "1" } }
        try await Task.sleep(for: .milliseconds(200))
        if restart { sim.faults.restart() } else { sim.faults.dropAllWatches() }
        _ = await watch.value
        #expect(Date().timeIntervalSince(started) < 10, "the stream ended instead of running to its timeout")
        #expect(sim.store.resourceVersion == rv)
        let r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps")
        #expect(r.json?["items"]?.arrayValue?.count == 1)
    }

    @Test func frozenClockStampsCreationTimes() async throws {
        let clock = SimClock()
        clock.freeze(at: Date(timeIntervalSince1970: 1_767_225_600))
        var o = KubeSimOptions()
        o.tls = false
        o.anonymousUser = UserInfo.admin
        let sim = try await KubeSim.start(o, clock: clock)
        defer { Task { await sim.shutdown() } }
        let created = try sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "t", "namespace": "default"]])
        #expect(created[path: ["metadata", "creationTimestamp"]] == "2026-01-01T00:00:00Z")
        clock.advance(by: 90)
        let r = try await call(sim, "GET", "/api/v1/namespaces/default/configmaps/t",
                               accept: "application/json;as=Table;v=v1;g=meta.k8s.io")
        #expect(r.json?["rows"]?[0]?["cells"]?[2] == "90s")
    }
}
