import DynamicJSON
import Foundation
@testable import KubeSim
import Testing

/// Patch semantics, CEL rules and selector parsing as tables.
@Suite struct PatchAndCELTests {
    @Test func strategicMergeMergesByKeyAndHonoursDirectives() throws {
        let original: JSONValue = ["spec": ["containers": [["name": "c", "image": "a", "env": [["name": "X", "value": "1"]]],
                                                           ["name": "old", "image": "o"]],
                                            "finalizers": ["f1"]],
                                   "metadata": ["finalizers": ["a"]]]
        let patch: JSONValue = [
            "spec": [
                "$setElementOrder/containers": [["name": "side"], ["name": "c"]],
                "containers": [["name": "c", "image": "b"], ["name": "side", "image": "s"], ["name": "old", "$patch": "delete"]],
            ],
            "metadata": ["finalizers": ["b"]],
        ]
        let result = try StrategicMergePatch.apply(patch, to: original)
        let containers = result[path: ["spec", "containers"]]?.arrayValue ?? []
        #expect(containers.compactMap { $0["name"]?.stringValue } == ["side", "c"])
        #expect(containers[1]["image"] == "b")
        #expect(containers[1]["env"] == [["name": "X", "value": "1"]], "merge keeps unpatched fields")
        #expect(result[path: ["metadata", "finalizers"]] == ["a", "b"], "finalizers are unioned")
        #expect(!result.jsonString.contains("$"), "directives are never stored")
        let replaced = try StrategicMergePatch.apply(["spec": ["$patch": "replace", "x": 1]], to: original)
        #expect(replaced["spec"] == ["x": 1])
        let retained = try StrategicMergePatch.apply(["spec": ["$retainKeys": ["containers"], "containers": []]], to: original)
        #expect(retained["spec"]?["finalizers"] == nil)
    }

    @Test func jsonPatchOperationsAndFailures() throws {
        let doc: JSONValue = ["metadata": ["resourceVersion": "5", "labels": ["a/b": "x"]], "list": [1, 2]]
        let patched = try JSONPatch.apply([
            ["op": "test", "path": "/metadata/resourceVersion", "value": "5"],
            ["op": "add", "path": "/list/-", "value": 3],
            ["op": "replace", "path": "/metadata/labels/a~1b", "value": "y"],
            ["op": "move", "from": "/list/0", "path": "/first"],
        ], to: doc)
        #expect(patched["list"] == [2, 3])
        #expect(patched[path: ["metadata", "labels", "a/b"]] == "y")
        #expect(patched["first"] == 1)
        let failed = #expect(throws: KubeAPIError.self) {
            try JSONPatch.apply([["op": "test", "path": "/metadata/resourceVersion", "value": "4"]], to: doc)
        }
        #expect(failed?.code == 422)
        let notArray = #expect(throws: KubeAPIError.self) { try JSONPatch.apply(["op": "add"], to: doc) }
        #expect(notArray?.code == 400)
        #expect(MergePatch.apply(["a": nil, "b": ["c": 1]], to: ["a": 1, "b": ["d": 2]]) == ["b": ["c": 1, "d": 2]])
    }

    @Test(arguments: [
        ("(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) == 1", ["a": 1] as JSONValue, true),
        ("(has(self.a) ? 1 : 0) + (has(self.b) ? 1 : 0) == 1", ["a": 1, "b": 2] as JSONValue, false),
        ("[has(self.a), has(self.b)].exists_one(x, x)", ["b": 1] as JSONValue, true),
        ("!self.path.contains('..')", ["path": "a/../b"] as JSONValue, false),
        ("self.keys.exists(k, k.key == self.want)", ["keys": [["key": "p"]], "want": "p"] as JSONValue, true),
        ("size(self.items) <= 2 && self.items.all(i, i > 0)", ["items": [1, 2]] as JSONValue, true),
        ("self.name.matches('^[a-z]+$') && self.name.startsWith('ab')", ["name": "abc"] as JSONValue, true),
        ("self.n * 2 > 10 || self.s in ['x', 'y']", ["n": 3, "s": "y"] as JSONValue, true),
        ("self.?missing.orValue('d') == 'd'", [:] as JSONValue, true),
        ("int('7') + self.n == 10 && string(self.n) == '3'", ["n": 3] as JSONValue, true),
    ])
    func celRules(rule: String, value: JSONValue, expected: Bool) throws {
        let compiled = try CELRule(["rule": .string(rule)])
        let result = try CELEvaluator(vars: ["self": CELValue(value)]).eval(compiled.expr)
        #expect(result == .bool(expected))
    }

    @Test func celCompileErrorsAndTransitionRules() throws {
        #expect(throws: CELError.self) { try CELRule(["rule": "unknownFn(self)"]) }
        #expect(throws: CELError.self) { try CELRule(["rule": "self.a == other"]) }
        #expect(throws: CELError.self) { try CELRule(["rule": "self.a =="]) }
        let transition = try CELRule(["rule": "self == oldSelf", "message": "immutable"])
        #expect(transition.isTransition)
        var errors: [FieldError] = []
        let schema = Schema(["type": "object", "properties": ["spec": ["type": "object", "x-kubernetes-preserve-unknown-fields": true,
                                                                       "x-kubernetes-validations": [["rule": "self == oldSelf", "message": "spec is immutable"]]]]],
                            path: "", errors: &errors)
        #expect(errors.isEmpty)
        let old: JSONValue = ["spec": ["a": 1]]
        #expect(CELValidation.validate(["spec": ["a": 1]], old: old, schema: schema, path: "", isRoot: true).isEmpty)
        let changed = CELValidation.validate(["spec": ["a": 2]], old: old, schema: schema, path: "", isRoot: true)
        #expect(changed.map(\.message) == ["spec: Invalid value: \"object\": spec is immutable"])
        #expect(CELValidation.validate(["spec": ["a": 2]], old: nil, schema: schema, path: "", isRoot: true).isEmpty, "no oldSelf on create")
    }

    @Test func selectorsParseLikeTheServerAndRejectGarbage() throws {
        let s = try LabelSelector(parsing: "app=web,tier in (a, b),!legacy,env!=prod")
        #expect(s.matches(["app": "web", "tier": "b", "env": "dev"]))
        #expect(!s.matches(["app": "web", "tier": "c"]))
        #expect(!s.matches(["app": "web", "tier": "a", "legacy": "1"]))
        #expect(throws: KubeAPIError.self) { try LabelSelector(parsing: "app in (a") }
        #expect(throws: KubeAPIError.self) { try LabelSelector(parsing: "a b") }
        let f = try FieldSelector(parsing: "involvedObject.name=cm1,involvedObject.kind==ConfigMap,type!=Warning")
        #expect(f.requirements.count == 3)
        #expect(f.matches { ["involvedObject.name": "cm1", "involvedObject.kind": "ConfigMap", "type": "Normal"][$0] })
        #expect(Quantity.canonical("1024Mi") == "1Gi")
        #expect(Quantity.canonical("1000m") == "1")
        #expect(Quantity.canonical("1500m") == "1500m")
        #expect(Quantity.canonical("2000") == "2k")
        #expect(Quantity.canonical("0.5") == "500m")
        #expect(Timestamp.normalize("2026-01-02T03:04:05.123456+01:00", micro: true) == "2026-01-02T02:04:05.123456Z")
    }
}

@Suite struct BenchmarkSmokeTests {
    @Test func benchmarkRunsAndReportsPositiveRates() async throws {
        let r = try await KubeSimBenchmark.run(creates: 50, listObjects: 200, watchers: 5, watchEvents: 20)
        #expect(r.createsPerSecond > 0 && r.watchEventsPerSecond > 0)
        #expect(r.listBytes > 200 * 64)
        #expect(r.description.contains("creates/s"))
    }
}
