import BackstopApp
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeSim
import Testing

/// manifests/ RBAC applied into KubeSim's authorizer: the operator's ServiceAccount token can
/// make every call the controllers make, and nothing beyond.
@Suite(.serialized) struct RBACTests {
    static func type(_ group: String, _ version: String, _ kind: String, _ plural: String, namespaced: Bool = true) -> ResourceType {
        ResourceType(group: group, version: version, kind: kind, plural: plural, namespaced: namespaced)
    }
    static let jobs = type("batch", "v1", "Job", "jobs")
    static let pods = type("", "v1", "Pod", "pods")
    static let events = type("", "v1", "Event", "events")
    static let secrets = type("", "v1", "Secret", "secrets")
    static let configMaps = type("", "v1", "ConfigMap", "configmaps")
    static let leases = type("coordination.k8s.io", "v1", "Lease", "leases")
    static let deployments = type("apps", "v1", "Deployment", "deployments")
    static let policies = BackupPolicy.resourceType
    static let restores = RestoreRequest.resourceType
    static let drills = DrillRun.resourceType
    static let cleanups = CleanupPolicy.resourceType
    static let rotations = SecretRotation.resourceType
    static let statefulSets = type("apps", "v1", "StatefulSet", "statefulsets")

    /// True when the call was authorised (it may still fail otherwise, e.g. 404).
    static func allowed(_ call: () async throws -> Void) async -> Bool {
        do { try await call(); return true } catch let error as KubeError { return error.kind != .forbidden } catch { return true }
    }

    @Test func manifestsListEveryFileAndBindTheServiceAccount() throws {
        let dir = ManifestFiles.defaultDirectory()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
        let objects = try ManifestFiles.load(dir)
        #expect(objects.count >= files.count)
        let kinds = objects.compactMap { $0["kind"]?.stringValue }
        for kind in ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment"] {
            #expect(kinds.contains(kind), "manifests/ lacks a \(kind)")
        }
        let deployment = try #require(objects.first { $0["kind"] == "Deployment" })
        let pod = deployment["spec"]?["template"]?["spec"]
        let container = pod?["containers"]?[0]
        #expect(pod?["serviceAccountName"] == "backstop")
        #expect(pod?["securityContext"]?["runAsNonRoot"] == true)
        #expect(pod?["securityContext"]?["seccompProfile"]?["type"] == "RuntimeDefault")
        #expect(container?["securityContext"]?["readOnlyRootFilesystem"] == true)
        #expect(container?["securityContext"]?["allowPrivilegeEscalation"] == false)
        #expect(container?["securityContext"]?["capabilities"]?["drop"] == ["ALL"])
        #expect(container?["livenessProbe"]?["httpGet"]?["path"] == "/healthz")
        #expect(container?["readinessProbe"]?["httpGet"]?["path"] == "/readyz")
        #expect(container?["args"] == ["run"])
    }

    @Test func operatorTokenCanDoWhatTheControllersDoAndNoMore() async throws {
        let cluster = try await Cluster.start()
        defer { Task { await cluster.shutdown() } }
        try cluster.namespace("team-a")
        let op = try cluster.client(token: cluster.operatorToken)
        let ns = "team-a"
        let job: JSONValue = ["apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": "probe", "namespace": "team-a"],
                              "spec": ["template": ["spec": ["restartPolicy": "Never",
                                                             "containers": [["name": "c", "image": "busybox"]]]]]]
        let event: JSONValue = ["apiVersion": "v1", "kind": "Event", "metadata": ["name": "probe.1", "namespace": "team-a"],
                                "involvedObject": ["kind": "BackupPolicy", "name": "x", "namespace": "team-a"],
                                "reason": "Probe", "message": "m", "type": "Normal"]
        let policy: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
                                 "metadata": ["name": "missing", "namespace": "team-a"], "status": [:]]
        let restore: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "RestoreRequest",
                                  "metadata": ["name": "missing", "namespace": "team-a"], "status": [:]]
        let drill: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "DrillRun",
                                "metadata": ["name": "probe-drill", "namespace": "team-a"],
                                "spec": ["policyRef": ["name": "x"], "scratch": ["postgres": ["database": "scratch"]]], "status": [:]]
        let cleanup: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "CleanupPolicy",
                                  "metadata": ["name": "missing", "namespace": "team-a"], "status": [:]]
        let lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                "metadata": ["name": "backstop-controller"], "spec": ["holderIdentity": "me"]]

        // What the operator must be able to do.
        #expect(await Self.allowed { _ = try await op.dynamic(Self.policies).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.policies).watch() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.policies, namespace: ns).updateStatus(policy) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.jobs).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.jobs, namespace: ns).create(job) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.jobs, namespace: ns).patch("probe", .merge(["metadata": ["annotations": ["a": "b"]]])) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.jobs, namespace: ns).delete("probe") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.secrets, namespace: ns).get("db") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.pods).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.events, namespace: ns).create(event) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.events, namespace: ns).patch("probe.1", .merge(["count": 2])) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.leases, namespace: "backstop-system").create(lease) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.leases, namespace: "backstop-system").get("backstop-controller") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.restores).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.restores, namespace: ns).updateStatus(restore) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.policies, namespace: ns).get("x") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.drills).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.drills, namespace: ns).create(drill) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.drills, namespace: ns).updateStatus(drill) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.drills, namespace: ns).delete("probe-drill") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.cleanups).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.cleanups).watch() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.cleanups, namespace: ns).updateStatus(cleanup) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).get("api") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).scale("api", replicas: 0) })
        // A webhook delivery writes its outcome into status.notifications after a fresh GET.
        for kind in [Self.policies, Self.restores, Self.drills, Self.cleanups, Self.rotations] {
            #expect(await Self.allowed { _ = try await op.dynamic(kind, namespace: ns).get("x") }, "get \(kind.plural)")
        }
        // A rotation: its runs, its pending Secret, the rotated Secret, the consumers' restart.
        let rotation: JSONValue = ["apiVersion": "backstop.dev/v1alpha1", "kind": "SecretRotation",
                                   "metadata": ["name": "missing", "namespace": "team-a"], "status": [:]]
        #expect(await Self.allowed { _ = try await op.dynamic(Self.rotations).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.rotations).watch() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.rotations, namespace: ns).updateStatus(rotation) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.secrets, namespace: ns).create(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "x"]]) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.secrets, namespace: ns).patch("x", .merge(["data": ["k": "dg=="]])) })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.secrets, namespace: ns).delete("x") })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).list() })
        #expect(await Self.allowed { _ = try await op.dynamic(Self.statefulSets, namespace: ns).patch("db", .merge(["spec": ["template": ["metadata": ["annotations": ["a": "b"]]]]])) })

        // What it must not do: edit users' specs, create, replace or delete workloads, list or
        // watch Secrets, take Leases elsewhere, or create Pods directly.
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.policies, namespace: ns).delete("x") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.policies, namespace: ns).patch("x", .merge(["spec": [:]])) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).update(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "api"]]) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).create(["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "x"]]) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.rotations, namespace: ns).delete("x") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.secrets, namespace: ns).update(["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "x"]]) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.secrets).watch() }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.deployments, namespace: ns).delete("api") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.leases, namespace: ns).create(lease) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.pods, namespace: ns).delete("x") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.events, namespace: ns).delete("probe.1") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.jobs, namespace: ns).update(job) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.secrets).list() }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.policies, namespace: ns).create(policy) }))
        // A cleanup policy's spec and annotations (the guard's acknowledgment) are the user's alone.
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.cleanups, namespace: ns).patch("x", .merge(["metadata": ["annotations": ["backstop.dev/allow-delete": "a=1"]]])) }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.cleanups, namespace: ns).delete("x") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.jobs, namespace: ns).get("probe") }))
        #expect(!(await Self.allowed { _ = try await op.dynamic(Self.configMaps).list() }))
        // A token that is not bound to anything gets nothing.
        let stranger = try cluster.client(token: cluster.sim.token(for: "system:serviceaccount:other:default"))
        #expect(!(await Self.allowed { _ = try await stranger.dynamic(Self.policies).list() }))
    }
}
