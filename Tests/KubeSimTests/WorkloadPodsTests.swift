import DynamicJSON
import Foundation
import KubeSim
import Testing

/// Deployments and StatefulSets run real Pods as local processes: readiness from probes, crash
/// restarts, rollouts that stall and undo, scale to zero by PID, adoption after a controller
/// restart, and no orphan processes — driven by kubectl 1.32 and the python client.
@Suite(.serialized) struct WorkloadPodsTests {
    /// Serves its working directory on the Pod's own address; `index.html` holds $TOKEN.
    static let webServer = ["sh", "-c", "echo \"$TOKEN\" > index.html; exec python3 -m http.server --bind \"$POD_IP\" 8080"]

    static func start() async throws -> SimHarness {
        let h = try await SimHarness.start {
            $0.controllers.workloads = true
            $0.controllers.pvcBinder = true
            $0.kubelet.restartBackoff = 0.5
        }
        h.sim.jobRunner.setImage("web-server", command: webServer)
        return h
    }

    static func deployment(_ name: String, replicas: Int, readinessPort: Int = 8080, extraSpec: String = "") -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name)}
        spec:
          replicas: \(replicas)
          progressDeadlineSeconds: 4
          selector: {matchLabels: {app: \(name)}}
        \(extraSpec)
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: web
                image: web-server:1.0
                ports: [{name: http, containerPort: 8080}]
                env:
                - {name: TOKEN, valueFrom: {secretKeyRef: {name: web-token, key: token}}}
                - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                readinessProbe: {httpGet: {path: /index.html, port: \(readinessPort)}, periodSeconds: 1, failureThreshold: 1}
                livenessProbe: {tcpSocket: {port: http}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 3}
        """
    }

    static func createToken(_ h: SimHarness, _ value: String) throws {
        try h.sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "web-token", "namespace": "default"],
                                "stringData": ["token": .string(value)]])
    }

    static func podsOf(_ h: SimHarness, _ app: String) throws -> [JSONValue] {
        try h.sim.store.list("v1", "Pod", namespace: "default").filter { $0[path: ["metadata", "labels", "app"]]?.stringValue == app }
    }

    /// The process id of each running Pod's first container (`containerID` is `kube-sim://<pid>`).
    static func pids(_ pods: [JSONValue]) -> [Int32] {
        pods.compactMap { $0[path: ["status", "containerStatuses"]]?[0]?["containerID"]?.stringValue }
            .compactMap { Int32($0.replacingOccurrences(of: "kube-sim://", with: "")) }
    }

    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    static func get(_ url: String) async throws -> String {
        try await runProcess("/usr/bin/curl", ["-s", "--max-time", "3", url]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func shutdownLeavesNoProcess(_ h: SimHarness, _ pids: [Int32]) async {
        await h.shutdown()
        #expect(!pids.isEmpty)
        #expect(pids.filter(alive).isEmpty, "processes left after shutdown: \(pids.filter(alive))")
    }

    @Test func threeReplicasBecomeReadyByProbeRestartAfterAKillAndRollOutANewSecretValue() async throws {
        let h = try await Self.start()
        var seen: [Int32] = []
        try Self.createToken(h, "v1")
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: Self.deployment("web", replicas: 3))
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "deploy/web", "--timeout=60s"], timeout: 90)
        #expect(r.stdout.contains("successfully rolled out"), "\(r.stdout) \(r.stderr)")
        let first = try Self.podsOf(h, "web")
        let pids = Self.pids(first)
        seen += pids
        #expect(first.count == 3 && Set(pids).count == 3)
        let ips = first.compactMap { $0[path: ["status", "podIP"]]?.stringValue }
        #expect(Set(ips).count == 3 && ips.allSatisfy { $0.hasPrefix("127.") && $0 != "127.0.0.1" })
        for ip in ips { #expect(try await Self.get("http://\(ip):8080/index.html") == "v1") }
        let d = try h.sim.store.get("apps/v1", "Deployment", name: "web")
        #expect(d[path: ["status", "readyReplicas"]] == 3 && d[path: ["status", "availableReplicas"]] == 3)

        // The python client sees the same Pods, owned by one ReplicaSet, each Ready.
        r = try await h.python("""
        apps = client.AppsV1Api(api)
        rs = apps.list_namespaced_replica_set("default", label_selector="app=web").items
        pods = core.list_namespaced_pod("default", label_selector="app=web").items
        print(json.dumps({"rs": [x.metadata.name for x in rs], "owners": sorted({p.metadata.owner_references[0].name for p in pods}),
                          "ready": [all(c.ready for c in p.status.container_statuses) for p in pods],
                          "hash": sorted({p.metadata.labels.get("pod-template-hash", "") for p in pods})}))
        """)
        #expect(r.status == 0, "\(r.stderr)")
        let view = try JSONValue(parsing: r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(view["rs"]?.arrayValue?.count == 1 && view["owners"] == view["rs"])
        #expect(view["ready"] == [true, true, true])
        #expect(view["rs"]?[0]?.stringValue?.hasSuffix("-" + (view["hash"]?[0]?.stringValue ?? "?")) == true)

        // kill -9 one process: its Pod turns not ready, the kubelet restarts it, ready again.
        let victim = first[0]
        let victimName = victim[path: ["metadata", "name"]]!.stringValue!
        let rvBefore = h.sim.store.resourceVersion
        kill(pids[0], SIGKILL)
        try await eventually(20) {
            let pod = try h.sim.store.get("v1", "Pod", name: victimName)
            let deployment = try h.sim.store.get("apps/v1", "Deployment", name: "web")
            return pod[path: ["status", "containerStatuses"]]?[0]?["restartCount"] == 1 && pod[path: ["status", "containerStatuses"]]?[0]?["ready"] == true
                && deployment[path: ["status", "readyReplicas"]] == 3
        }
        let history = try h.sim.store.history("apps/v1", "Deployment", name: "web").filter { $0.resourceVersion > rvBefore }
        #expect(history.contains { $0.object[path: ["status", "readyReplicas"]] == 2 }, "readyReplicas followed the killed process")
        let restarted = Self.pids([try h.sim.store.get("v1", "Pod", name: victimName)])
        #expect(restarted.count == 1 && restarted[0] != pids[0] && Self.alive(restarted[0]))
        seen += restarted
        r = try await h.kubectl("get", "pods", "-l", "app=web")
        #expect(r.stdout.contains(victimName) && r.stdout.contains("Running") && r.stdout.contains("1/1"), "\(r.stdout)")
        r = try await h.kubectl("logs", victimName)
        #expect(r.stdout.contains("GET /index.html"), "probe requests are in the container log: \(r.stdout) \(r.stderr)")

        // A changed Secret reaches new Pods only: old processes keep v1 until the rollout restart.
        _ = try h.sim.store.mergePatch("v1", "Secret", namespace: "default", name: "web-token", patch: ["stringData": ["token": "v2"]])
        #expect(try await Self.get("http://\(ips[1]):8080/index.html") == "v1")
        let before = Self.pids(try Self.podsOf(h, "web"))
        r = try await h.kubectl("rollout", "restart", "deploy/web")
        #expect(r.stdout.contains("restarted"), "\(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "deploy/web", "--timeout=60s"], timeout: 90)
        #expect(r.stdout.contains("successfully rolled out"), "\(r.stdout) \(r.stderr)")
        try await eventually(20) { try Self.podsOf(h, "web").count == 3 && Self.pids(try Self.podsOf(h, "web")).count == 3 }
        let after = try Self.podsOf(h, "web")
        let newPids = Self.pids(after)
        seen += newPids
        #expect(Set(newPids).isDisjoint(with: before), "every process was replaced")
        try await eventually(10) { before.allSatisfy { !Self.alive($0) } }
        for pod in after {
            let ip = pod[path: ["status", "podIP"]]!.stringValue!
            #expect(try await Self.get("http://\(ip):8080/index.html") == "v2")
        }
        r = try await h.kubectl("describe", "deploy", "web")
        #expect(r.stdout.contains("ScalingReplicaSet") && r.stdout.contains("Scaled up replica set"), "\(r.stdout)")
        await Self.shutdownLeavesNoProcess(h, seen)
    }

    @Test func aRolloutThatNeverBecomesReadyStallsWithOldPodsServingAndUndoRecovers() async throws {
        let h = try await Self.start()
        try Self.createToken(h, "v1")
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: Self.deployment("api", replicas: 2))
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "deploy/api", "--timeout=60s"], timeout: 90)
        #expect(r.stdout.contains("successfully rolled out"), "\(r.stdout) \(r.stderr)")
        let good = Self.pids(try Self.podsOf(h, "api"))
        // The new template probes a port nobody listens on.
        r = try await h.kubectl(["apply", "-f", "-"], stdin: Self.deployment("api", replicas: 2, readinessPort: 9))
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "deploy/api", "--timeout=60s"], timeout: 90)
        #expect(r.status != 0 && r.stderr.contains("exceeded its progress deadline"), "\(r.stdout) \(r.stderr)")
        let d = try h.sim.store.get("apps/v1", "Deployment", name: "api")
        let progressing = d[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"] == "Progressing" }
        #expect(progressing?["status"] == "False" && progressing?["reason"] == "ProgressDeadlineExceeded")
        #expect(d[path: ["status", "availableReplicas"]] == 2, "the old Pods keep serving")
        #expect(good.allSatisfy(Self.alive))
        let pods = try Self.podsOf(h, "api")
        #expect(pods.count == 3, "maxSurge 25% of 2 adds one new Pod, maxUnavailable 0 removes none")
        #expect(pods.filter { $0[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "False" } == true }.count == 1)

        r = try await h.kubectl("rollout", "undo", "deploy/api")
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "deploy/api", "--timeout=60s"], timeout: 90)
        #expect(r.stdout.contains("successfully rolled out"), "\(r.stdout) \(r.stderr)")
        try await eventually(15) { try Self.podsOf(h, "api").count == 2 }
        #expect(Set(Self.pids(try Self.podsOf(h, "api"))) == Set(good), "undo went back to the ReplicaSet whose Pods never stopped")
        let undone = try h.sim.store.get("apps/v1", "Deployment", name: "api")
        #expect(undone[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]] == "3")
        await Self.shutdownLeavesNoProcess(h, good)
    }

    @Test func scaleToZeroStopsEveryProcessWithinTheGracePeriodAndScaleUpStartsAgain() async throws {
        let h = try await SimHarness.start { $0.controllers.workloads = true }
        // Ignores SIGTERM (so does its sleep child, SIG_IGN is inherited): only SIGKILL after the grace period stops it.
        try h.sim.store.create([
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "stubborn", "namespace": "default"],
            "spec": ["replicas": 2, "selector": ["matchLabels": ["app": "stubborn"]],
                     "template": ["metadata": ["labels": ["app": "stubborn"]],
                                  "spec": ["terminationGracePeriodSeconds": 2,
                                           "containers": [["name": "c", "image": "busybox",
                                                           "command": ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"]]]]]],
        ])
        try await eventually(20) { try h.sim.store.get("apps/v1", "Deployment", name: "stubborn")[path: ["status", "readyReplicas"]] == 2 }
        let pids = Self.pids(try Self.podsOf(h, "stubborn"))
        #expect(pids.count == 2 && pids.allSatisfy(Self.alive))
        let r = try await h.kubectl("scale", "deploy", "stubborn", "--replicas=0")
        #expect(r.stdout.contains("scaled"), "\(r.stderr)")
        let started = Date()
        try await eventually(5) { try Self.podsOf(h, "stubborn").allSatisfy { $0[path: ["metadata", "deletionTimestamp"]] != nil } }
        #expect(pids.allSatisfy(Self.alive), "SIGTERM is ignored, so the processes live through the grace period")
        try await eventually(10) {
            let left = try Self.podsOf(h, "stubborn")
            return pids.allSatisfy { !Self.alive($0) } && left.isEmpty
        }
        let took = Date().timeIntervalSince(started)
        #expect(took >= 1.5 && took < 6, "stopped after the 2 s grace period, took \(took) s")
        let group = pids.flatMap { pid in Self.groupMembers(pid) }
        #expect(group.isEmpty, "no process of the Pods' groups is left: \(group)")
        _ = try h.sim.store.mergePatch("apps/v1", "Deployment", namespace: "default", name: "stubborn", patch: ["spec": ["replicas": 1]])
        try await eventually(20) { Self.pids(try Self.podsOf(h, "stubborn")).filter(Self.alive).count == 1 }
        await Self.shutdownLeavesNoProcess(h, Self.pids(try Self.podsOf(h, "stubborn")))
    }

    static func groupMembers(_ pgid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == pgid
        }
    }

    @Test func statefulSetPodsHaveOrdinalNamesAndClaimsThatSurviveAPodRestart() async throws {
        let h = try await Self.start()
        var r = try await h.kubectl(["apply", "-f", "-"], stdin: """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db}
        spec:
          replicas: 2
          serviceName: db
          selector: {matchLabels: {app: db}}
          template:
            metadata: {labels: {app: db}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: db
                image: busybox
                command: [sh, -c, 'echo "$HOSTNAME" >> /data/boots; exec sleep 600']
                volumeMounts: [{name: data, mountPath: /data}]
                readinessProbe: {exec: {command: [test, -s, /data/boots]}, periodSeconds: 1}
          volumeClaimTemplates:
          - metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
        """)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await h.kubectl(["rollout", "status", "statefulset/db", "--timeout=60s"], timeout: 90)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(try Self.podsOf(h, "db").compactMap { $0[path: ["metadata", "name"]]?.stringValue }.sorted() == ["db-0", "db-1"])
        func claimDir(_ name: String) throws -> String {
            try #require(try h.sim.store.get("v1", "PersistentVolumeClaim", name: name)[path: ["metadata", "annotations", "kube-sim.dev/local-path"]]?.stringValue)
        }
        try await eventually(10) { (try? String(contentsOfFile: try claimDir("data-db-1") + "/boots", encoding: .utf8)) == "db-1\n" }
        // db-1 was created only once db-0 was ready (OrderedReady).
        let added = try h.sim.store.history("v1", "Pod", namespace: "default", name: "db-1").first { $0.type == .added }
        let db0Ready = try h.sim.store.history("v1", "Pod", namespace: "default", name: "db-0").first { Self.ready($0.object) }
        #expect(try #require(added).resourceVersion > (try #require(db0Ready)).resourceVersion)
        let oldPid = Self.pids([try h.sim.store.get("v1", "Pod", name: "db-0")])
        r = try await h.kubectl("delete", "pod", "db-0")
        #expect(r.status == 0, "\(r.stderr)")
        try await eventually(20) {
            let pod = try? h.sim.store.get("v1", "Pod", name: "db-0")
            return pod.map(Self.ready) == true && Self.pids([pod!]) != oldPid
        }
        #expect(try String(contentsOfFile: try claimDir("data-db-0") + "/boots", encoding: .utf8) == "db-0\ndb-0\n",
                "the new db-0 mounts the same claim")
        #expect(try String(contentsOfFile: try claimDir("data-db-1") + "/boots", encoding: .utf8) == "db-1\n")
        await Self.shutdownLeavesNoProcess(h, Self.pids(try Self.podsOf(h, "db")))
    }

    static func ready(_ pod: JSONValue) -> Bool {
        pod[path: ["status", "conditions"]]?.arrayValue?.contains { $0["type"] == "Ready" && $0["status"] == "True" } == true
    }

    @Test func restartingTheSimulatorsControllersAdoptsRunningPodsNeverDuplicatingThem() async throws {
        let h = try await Self.start()
        try Self.createToken(h, "v1")
        let r = try await h.kubectl(["apply", "-f", "-"], stdin: Self.deployment("keep", replicas: 2))
        #expect(r.status == 0, "\(r.stderr)")
        try await eventually(30) { try h.sim.store.get("apps/v1", "Deployment", name: "keep")[path: ["status", "readyReplicas"]] == 2 }
        let before = try Self.podsOf(h, "keep")
        let pids = Self.pids(before)
        await h.sim.restartControllers()
        try await Task.sleep(for: .seconds(2))
        let after = try Self.podsOf(h, "keep")
        #expect(Set(after.compactMap { $0[path: ["metadata", "uid"]] }) == Set(before.compactMap { $0[path: ["metadata", "uid"]] }))
        #expect(Set(Self.pids(after)) == Set(pids) && pids.allSatisfy(Self.alive), "the same processes, adopted")
        #expect(after.allSatisfy { $0[path: ["status", "containerStatuses"]]?[0]?["restartCount"] == 0 && Self.ready($0) })
        // The new kubelet watches what it adopted: a killed process is restarted once.
        kill(pids[0], SIGKILL)
        let name = before[0][path: ["metadata", "name"]]!.stringValue!
        try await eventually(20) {
            let pod = try h.sim.store.get("v1", "Pod", name: name)
            return pod[path: ["status", "containerStatuses"]]?[0]?["restartCount"] == 1 && Self.ready(pod)
        }
        let now = Self.pids(try Self.podsOf(h, "keep"))
        #expect(now.count == 2 && now.filter(Self.alive).count == 2)
        await Self.shutdownLeavesNoProcess(h, pids + now)
    }

    @Test func badInputShowsTheRealWaitingReasonAndNeverReadies() async throws {
        let h = try await Self.start()
        func deploy(_ name: String, image: String, extra: [String: JSONValue] = [:]) throws {
            var container: JSONValue = ["name": "c", "image": .string(image)]
            for (k, v) in extra { container[k] = v }
            try h.sim.store.create([
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
                "spec": ["replicas": 1, "selector": ["matchLabels": ["app": .string(name)]],
                         "template": ["metadata": ["labels": ["app": .string(name)]], "spec": ["containers": [container]]]],
            ])
        }
        try deploy("unmapped", image: "registry.example/unknown:1")
        try deploy("nosecret", image: "busybox", extra: ["command": ["sleep", "600"], "envFrom": [["secretRef": ["name": "absent"]]]])
        try deploy("noport", image: "busybox", extra: ["command": ["sleep", "600"],
                                                       "readinessProbe": ["tcpSocket": ["port": 1], "periodSeconds": 1]])
        func waiting(_ app: String) throws -> String? {
            try Self.podsOf(h, app).first?[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "waiting", "reason"]]?.stringValue
        }
        try await eventually(15) { try waiting("unmapped") == "ImagePullBackOff" }
        try await eventually(15) { try waiting("nosecret") == "CreateContainerConfigError" }
        try await eventually(15) { try Self.podsOf(h, "noport").first?[path: ["status", "phase"]] == "Running" }
        try await Task.sleep(for: .seconds(2))
        for app in ["unmapped", "nosecret", "noport"] {
            let d = try h.sim.store.get("apps/v1", "Deployment", name: app)
            #expect((d[path: ["status", "readyReplicas"]]?.intValue ?? 0) == 0, "\(app) is not ready")
        }
        let message = try Self.podsOf(h, "nosecret").first?[path: ["status", "containerStatuses"]]?[0]?[path: ["state", "waiting", "message"]]
        #expect(message == "secret \"absent\" not found")
        let r = try await h.kubectl("get", "--raw", "/version")
        #expect(r.status == 0, "the simulator still answers")
        // Once the Secret exists the waiting container starts.
        try h.sim.store.create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "absent", "namespace": "default"],
                                "stringData": ["TOKEN": "late"]])
        try await eventually(15) { try Self.podsOf(h, "nosecret").first?[path: ["status", "phase"]] == "Running" }
        await Self.shutdownLeavesNoProcess(h, Self.pids(try Self.podsOf(h, "noport") + Self.podsOf(h, "nosecret")))
    }

    @Test func theKubeSimExecutableLeavesNoPodProcessWhenItStops() async throws {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [bundleDir.appendingPathComponent("kube-sim").path, bundleDir.deletingLastPathComponent().appendingPathComponent("kube-sim").path,
                          repo.appendingPathComponent(".build/debug/kube-sim").path]
        let binary = try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0) }, "kube-sim built beside the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kube-sim-exe-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let kubeconfig = dir.appendingPathComponent("kubeconfig")
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: binary)
        sim.arguments = ["--kubeconfig", kubeconfig.path, "--data-dir", dir.appendingPathComponent("data").path]
        sim.standardOutput = FileHandle.nullDevice
        sim.standardError = FileHandle.nullDevice
        try sim.run()
        defer { if sim.isRunning { kill(sim.processIdentifier, SIGKILL) } }
        try await eventually(30) { FileManager.default.fileExists(atPath: kubeconfig.path) }
        func kubectl(_ args: [String], stdin: String? = nil) async throws -> ProcessResult {
            try await runProcess(SimHarness.kubectl, ["--kubeconfig", kubeconfig.path, "--cache-dir", dir.appendingPathComponent("cache").path] + args,
                                 env: ["HOME": dir.path], stdin: stdin)
        }
        var r = try await kubectl(["apply", "-f", "-"], stdin: """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: sleeper}
        spec:
          replicas: 2
          selector: {matchLabels: {app: sleeper}}
          template:
            metadata: {labels: {app: sleeper}}
            spec: {containers: [{name: c, image: busybox, command: [sh, -c, "sleep 600 & wait"]}]}
        """)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await kubectl(["rollout", "status", "deploy/sleeper", "--timeout=60s"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try await kubectl(["get", "pods", "-o", "json"])
        let pods = try JSONValue(parsing: Array(r.stdout.utf8))["items"]?.arrayValue ?? []
        let pids = Self.pids(pods)
        #expect(pids.count == 2 && pids.allSatisfy(Self.alive))
        let children = pids.flatMap(Self.groupMembers)
        #expect(children.count == 4, "each Pod's shell and its sleep child: \(children)")
        kill(sim.processIdentifier, SIGTERM)
        try await eventually(20) { !sim.isRunning }
        #expect(children.filter(Self.alive).isEmpty, "no orphan left after kube-sim stopped")
    }
}

