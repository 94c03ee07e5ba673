import BackstopApp
import BackstopChaos
import BackstopDemo
import DynamicJSON
import Foundation
import KubeModel
import KubeSim
import Testing
import TestSupport

/// The Helm chart as a user installs it: rendered with Helm's own library, applied with
/// kubectl 1.32 to KubeSim, and the operator then runs as the chart's Deployment — a real Pod
/// whose image maps to the backstop binary, configured only by the chart's args and env, bound
/// to the chart's RBAC — and takes a verified backup of a PostgreSQL policy.
@Suite(.serialized) struct ChartEndToEndTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `helm template` through helm-python-sdk (hack/install-chart-tools.sh puts it in .cache/chart-venv).
    static func render(values: JSONValue) async throws -> String {
        let python = repo.appendingPathComponent(".cache/chart-venv/bin/python").path
        let script = """
        import json, sys
        import helm_python as helm
        with helm.Chart.load(sys.argv[1]) as chart:
            out = chart.render(json.loads(sys.argv[2]), name="backstop", namespace="backstop-system", is_install=True)
        for name, text in sorted(out.items()):
            if name.endswith(".yaml") and text.strip():
                print("---")
                print(text)
        """
        let r = try await ChildProcess.run(python, ["-c", script, repo.appendingPathComponent("charts/backstop").path,
                                                    String(decoding: values.serialized(), as: UTF8.self)])
        #expect(r.status == 0, "helm render: \(r.stderr)")
        return r.stdout
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @Test func theRenderedChartRunsTheOperatorAsAPodThatBacksUpAPolicy() async throws {
        let pg = try TestServices.postgres()
        let backstop = try OperatorSubprocess.backstopBinary()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("chart-e2e-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let operatorKubeconfig = work.appendingPathComponent("operator.kubeconfig")
        // Every Pod (the operator's and its agent Jobs') finds the API through KUBECONFIG, as a
        // kubelet would mount the ServiceAccount token; the chart's image is the backstop binary.
        let path = "\(pg.bindir):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"
        let cluster = try await Cluster.start(jobRunner: true, images: ["ghcr.io/backstop-dev/backstop": [backstop]],
                                              environment: ["PATH": path, "KUBECONFIG": operatorKubeconfig.path],
                                              installManifests: false) { $0.controllers.workloads = true }
        defer { Task { await cluster.shutdown() } }
        let sim = cluster.sim
        let adminKubeconfig = work.appendingPathComponent("admin.kubeconfig")
        try sim.writeKubeconfig(to: adminKubeconfig)
        try sim.writeKubeconfig(to: operatorKubeconfig, user: "system:serviceaccount:backstop-system:backstop")
        func kubectl(_ args: [String], stdin: String? = nil) async throws -> ChildProcess.Result {
            try await ChildProcess.run("/usr/lib/google-cloud-sdk/bin/kubectl.1.32",
                                       ["--kubeconfig", adminKubeconfig.path, "--cache-dir", work.appendingPathComponent("cache").path] + args,
                                       environment: ["HOME": work.path], stdin: stdin)
        }
        // One replica (two would both bind the metrics port on this one machine); KubeSim serves
        // no Services, NetworkPolicies or PodDisruptionBudgets.
        let manifests = try await Self.render(values: [
            "replicaCount": 1, "metrics": ["port": .int(Int64(Self.freePort())), "service": ["enabled": false]],
            "networkPolicy": ["enabled": false], "podDisruptionBudget": ["enabled": false], "logFormat": "text",
        ])
        #expect(manifests.contains("kind: Deployment") && manifests.contains("kind: ClusterRole"))
        try cluster.namespace("backstop-system")
        var r = try await kubectl(["apply", "-f", Self.repo.appendingPathComponent("charts/backstop/crds").path])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await kubectl(["apply", "-n", "backstop-system", "-f", "-"], stdin: manifests)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        r = try await kubectl(["-n", "backstop-system", "rollout", "status", "deploy/backstop", "--timeout=90s"])
        #expect(r.status == 0, "the operator Pod became ready by the chart's /readyz probe: \(r.stdout) \(r.stderr)")

        // A policy in another namespace, as a user would apply it.
        let (server, database) = try await ResilienceTests.createDatabase(pg, rows: 50)
        try cluster.namespace("team")
        r = try await kubectl(["apply", "-f", "-"], stdin: """
        apiVersion: v1
        kind: Secret
        metadata: {name: db, namespace: team}
        stringData: {password: "\(pg.password)"}
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: backups, namespace: team}
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
        ---
        apiVersion: backstop.dev/v1alpha1
        kind: BackupPolicy
        metadata: {name: orders, namespace: team, annotations: {backstop.dev/run-now: first}}
        spec:
          schedule: "@every 1h"
          source: {postgres: {host: \(pg.host), port: \(pg.port), database: \(database), user: \(pg.user), passwordSecretRef: {name: db, key: password}}}
          destination: {volume: {claimName: backups, path: pg}}
          verify: {checksum: true, listContents: true}
        """)
        #expect(r.status == 0, "\(r.stderr)")
        let policyAPI = try cluster.client().resource(BackupPolicy.self, namespace: "team")
        let done = try await eventually(.seconds(120)) {
            let s = try await policyAPI.get("orders").status
            return s?.lastBackup?.verified == true && s?.conditions?.find("LastBackupSucceeded")?.status == .true
        }
        let logs = try await kubectl(["-n", "backstop-system", "logs", "deploy/backstop"])
        #expect(done, "no verified backup; operator log:\n\(logs.stdout.suffix(3000))")
        // The operator that did it is the chart's Pod, running as the chart's ServiceAccount.
        #expect(logs.stdout.contains("starting"), "\(logs.stdout.suffix(2000))")
        let jobs = try sim.store.list("batch/v1", "Job", namespace: "team")
        #expect(jobs.contains { $0[path: ["spec", "template", "spec", "containers"]]?[0]?["image"]?.stringValue?.hasPrefix("ghcr.io/backstop-dev/backstop") == true },
                "the agent Jobs use the chart's image")
        let operatorPods = try sim.store.list("v1", "Pod", namespace: "backstop-system")
        #expect(operatorPods.count == 1 && operatorPods.allSatisfy {
            $0[path: ["spec", "serviceAccountName"]] == "backstop" && $0[path: ["status", "phase"]] == "Running"
        })
        _ = try? await server.psql("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}
