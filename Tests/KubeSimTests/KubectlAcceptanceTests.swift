import DynamicJSON
import Foundation
import KubeSim
import Testing

/// The "Must show" list, driven by the bundled kubectl 1.32 over TLS with bearer tokens.
@Suite(.serialized) struct KubectlAcceptanceTests {
    @Test func applyCRDAndCRThenGetWithPrinterColumnsAndWide() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: widgetCRD)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["apply", "-f", "-"], stdin: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {replicas: 2, size: big}\n")
        #expect(r.stdout.contains("widget.example.com/w1 created"), "\(r.stderr)")
        #expect(h.sim.requestLog.matching(method: "PATCH", path: "widgets").isEmpty)
        #expect(h.sim.requestLog.entries.contains { $0.method == "POST" && $0.query["fieldValidation"] == "Strict" })
        r = try await h.kubectl("get", "widgets")
        let header = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "COLOR", "REPLICAS", "READY", "AGE"])
        #expect(r.stdout.contains("w1") && r.stdout.contains("blue"))
        r = try await h.kubectl("get", "wd", "-o", "wide")
        #expect(r.stdout.contains("SIZE") && r.stdout.contains("big"))
        r = try await h.kubectl("get", "backstop")
        #expect(r.stdout.contains("w1"), "category lookup: \(r.stderr)")
        // Unknown fields are rejected under kubectl's default strict validation.
        r = try await h.kubectl(["apply", "-f", "-"], stdin: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {bogus: 1}\n")
        #expect(r.status != 0)
        #expect(r.stderr.contains("strict decoding error: unknown field \"spec.bogus\""))
        // Re-applying an unchanged CR sends no PATCH.
        r = try await h.kubectl(["apply", "-f", "-"], stdin: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {replicas: 2, size: big}\n")
        #expect(r.stdout.contains("unchanged"))
    }

    @Test func scaleRolloutRestartAndDescribeWithEvents() async throws {
        let h = try await SimHarness.start {
            $0.controllers.workloads = true
            $0.controllers.instantRollouts = true  // an unmapped image: the "instant rollout" mode needs no Pods
        }
        defer { Task { await h.shutdown() } }
        let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d1}
        spec:
          replicas: 1
          selector: {matchLabels: {app: d1}}
          template:
            metadata: {labels: {app: d1}}
            spec: {containers: [{name: c, image: "nginx:1.25"}]}
        """
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: deployment)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl("scale", "deploy", "d1", "--replicas=3")
        #expect(r.stdout.contains("scaled"), "\(r.stderr)")
        #expect(try h.sim.store.get("apps/v1", "Deployment", name: "d1")[path: ["spec", "replicas"]] == 3)
        r = try await h.kubectl("rollout", "restart", "deploy", "d1")
        #expect(r.stdout.contains("restarted"), "\(r.stderr)")
        let d = try h.sim.store.get("apps/v1", "Deployment", name: "d1")
        #expect(d[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] != nil)
        #expect(d["metadata"]?["generation"] == 3)
        r = try await h.kubectl("rollout", "status", "deploy", "d1", "--timeout=10s")
        #expect(r.stdout.contains("successfully rolled out"), "\(r.stderr)")

        let uid = d["metadata"]!["uid"]!
        try h.sim.store.create([
            "apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ["name": "d1.1", "namespace": "default"],
            "eventTime": "2026-01-02T03:04:05.123456+00:00", "reportingController": "backstop.dev/controller",
            "reportingInstance": "backstop-1", "action": "Reconcile", "reason": "BackupStarted", "type": "Normal",
            "note": "Started backup job", "regarding": ["apiVersion": "apps/v1", "kind": "Deployment", "name": "d1", "namespace": "default", "uid": uid],
        ])
        r = try await h.kubectl("describe", "deploy", "d1")
        #expect(r.stdout.contains("BackupStarted") && r.stdout.contains("Started backup job"), "\(r.stdout)\(r.stderr)")
    }

    @Test func deleteWaitsForAFinalizer() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(["apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": ["name": "held", "namespace": "default", "finalizers": ["example.com/hold"]]])
        let kubectlDelete = Task { try await h.kubectl("delete", "cm", "held", "--timeout=30s") }
        try await eventually {
            (try? h.sim.store.get("v1", "ConfigMap", name: "held"))?["metadata"]?["deletionTimestamp"] != nil
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(h.sim.requestLog.matching(method: "GET", path: "configmaps").contains { $0.query["watch"] == "true" })
        try h.sim.store.mergePatch("v1", "ConfigMap", name: "held", patch: ["metadata": ["finalizers": nil]])
        let r = try await kubectlDelete.value
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("configmap \"held\" deleted"))
    }

    @Test func jobRunnerCompletesAndKubectlWaitsAndShowsLogs() async throws {
        let h = try await SimHarness.start { $0.controllers.jobRunner = true }
        defer { Task { await h.shutdown() } }
        let job = """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j1}
        spec:
          template:
            spec:
              restartPolicy: Never
              volumes: [{name: data, emptyDir: {}}]
              containers:
              - name: main
                image: busybox
                command: [sh, -c, 'echo "hello $GREETING"; echo saved > /data/out; cat /data/out; echo "result=ok" > /dev/termination-log']
                env: [{name: GREETING, value: world}]
                volumeMounts: [{name: data, mountPath: /data}]
        """
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: job)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl("wait", "--for=condition=Complete", "job/j1", "--timeout=30s")
        #expect(r.stdout.contains("condition met"), "\(r.stderr)")
        r = try await h.kubectl("logs", "job/j1")
        #expect(r.stdout == "hello world\nsaved\n", "\(r.stderr)")
        let pods = try h.sim.store.list("v1", "Pod", namespace: "default")
        #expect(pods.first?[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "terminated", "message"]] == "result=ok\n")
        let conditions = try h.sim.store.get("batch/v1", "Job", name: "j1")[path: ["status", "conditions"]]?.arrayValue ?? []
        #expect(conditions.compactMap { $0["type"]?.stringValue } == ["SuccessCriteriaMet", "Complete"])
    }

    @Test func forbiddenIsWordedAsTheRealServerWordsIt() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        try h.sim.store.create(["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                "metadata": ["name": "cm-reader", "namespace": "default"],
                                "rules": [["apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]]]])
        try h.sim.store.create(["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                "metadata": ["name": "alice-reads", "namespace": "default"],
                                "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"],
                                "subjects": [["kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"]]])
        let alice = h.dir.appendingPathComponent("alice.kubeconfig")
        try h.sim.writeKubeconfig(to: alice, user: "alice")
        var r = try await h.kubectl(["get", "cm"], kubeconfig: alice)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["delete", "cm", "x"], kubeconfig: alice)
        #expect(r.stderr.contains("Error from server (Forbidden): configmaps \"x\" is forbidden: User \"alice\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"default\""), "\(r.stderr)")
        r = try await h.kubectl(["get", "secrets", "-n", "kube-system"], kubeconfig: alice)
        #expect(r.stderr.contains("secrets is forbidden: User \"alice\" cannot list resource \"secrets\" in API group \"\" in the namespace \"kube-system\""), "\(r.stderr)")
        h.sim.rotateToken(for: "alice")
        r = try await h.kubectl(["get", "cm"], kubeconfig: alice)
        #expect(r.stderr.contains("You must be logged in to the server"), "\(r.stderr)")
    }

    @Test func throttlingWithRetryAfterIsRetriedByKubectl() async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        var r = try await h.kubectl("get", "ns")
        #expect(r.status == 0)
        h.sim.faults.inject(.tooManyRequests(retryAfter: 1), count: 2, matching: Faults.Match(method: "GET", pathContains: "/configmaps"))
        let start = Date()
        r = try await h.kubectl("get", "cm")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Date().timeIntervalSince(start) >= 1.5)
        #expect(h.sim.requestLog.matching(path: "/configmaps").filter { $0.status == 429 }.count == 2)
    }

    @Test(arguments: ["foreground", "orphan"])
    func cascadeOptionsReachTheGarbageCollector(_ cascade: String) async throws {
        let h = try await SimHarness.start()
        defer { Task { await h.shutdown() } }
        let owner = try h.sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "owner", "namespace": "default"]])
        try h.sim.store.create(["apiVersion": "v1", "kind": "ConfigMap", "metadata": [
            "name": "dep", "namespace": "default",
            "ownerReferences": [["apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]!["uid"]!,
                                 "blockOwnerDeletion": true]]]])
        let r = try await h.kubectl("delete", "cm", "owner", "--cascade=\(cascade)", "--timeout=20s")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(h.sim.requestLog.matching(method: "DELETE", path: "/configmaps/owner").count == 1)
        try await eventually { (try? h.sim.store.get("v1", "ConfigMap", name: "owner")) == nil }
        let dep = try? h.sim.store.get("v1", "ConfigMap", name: "dep")
        if cascade == "orphan" {
            #expect(dep != nil && dep?["metadata"]?["ownerReferences"] == nil)
        } else {
            #expect(dep == nil)
        }
    }
}
