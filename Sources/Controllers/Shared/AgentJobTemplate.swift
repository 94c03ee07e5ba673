import AgentContract
import DynamicJSON
import Foundation
import KubeModel

/// The agent Job every controller creates, whatever the owner kind and the command: a
/// restricted pod (non-root, read-only root, no capabilities, RuntimeDefault seccomp, no service
/// account token), Secret keys as files, a scratch `emptyDir` as `TMPDIR`, the owner
/// reference, labels, and the typed `AgentSpec` in `BACKSTOP_SPEC`. Pure.
///
/// Why the spec travels in an environment variable (`--spec-env BACKSTOP_SPEC`) and not in a
/// mounted file: the spec holds only paths, never secret values, and it must name the paths of
/// mounted Secret files. Those paths are given as `$(BACKSTOP_FILE_n)` references to earlier
/// env vars whose values are the mount paths; the kubelet expands them (dependent env vars),
/// and KubeSim's Job runner rewrites the mount paths to its local directories first, so one Job
/// works on a real cluster and in the simulator. A mounted spec file could not be rewritten.
public struct AgentJobTemplate: Sendable {
    public var agentImage: String

    public init(agentImage: String) { self.agentImage = agentImage }

    public static let secretsRoot = "/var/run/backstop/secrets"
    public static let scratchMount = "/var/run/backstop/tmp"
    static let specEnv = "BACKSTOP_SPEC"

    /// One Job to build.
    public struct Request: Sendable {
        public var owner: ChildOwner
        public var name: String
        /// The agent subcommand (`backup`, `prune`, `catalog`, `restore`, `verify`, `cleanup`).
        public var command: String
        public var spec: AgentSpec
        public var mounts: AgentMounts
        /// On the Job and its Pods (`managed-by` and the Pod's `backstop.dev/job` are added).
        public var labels: [String: String]
        public var annotations: [String: String]
        /// The owner's `spec.jobTemplate` (image, resources, scheduling).
        public var template: JobTemplate?

        public init(owner: ChildOwner, name: String, command: String, spec: AgentSpec, mounts: AgentMounts,
                    labels: [String: String], annotations: [String: String] = [:], template: JobTemplate? = nil) {
            self.owner = owner
            self.name = name
            self.command = command
            self.spec = spec
            self.mounts = mounts
            self.labels = labels
            self.annotations = annotations
            self.template = template
        }
    }

    public func job(_ r: Request) -> Job {
        let template = r.template ?? JobTemplate()
        var labels = r.labels
        labels[BackstopLabels.managedBy] = "backstop"
        var podLabels = template.podLabels ?? [:]
        podLabels.merge(labels) { _, ours in ours }
        podLabels[BackstopLabels.job] = r.name

        var container = Container(name: "agent", image: template.image ?? agentImage)
        container.imagePullPolicy = template.imagePullPolicy
        container.args = ["agent", r.command, "--spec-env", Self.specEnv, "--termination-log", "/dev/termination-log"]
        container.env = r.mounts.env + [EnvVar(name: "TMPDIR", value: Self.scratchMount),
                                        EnvVar(name: Self.specEnv, value: Self.render(r.spec, r.mounts))]
        container.resources = template.resources
        container.terminationMessagePolicy = "FallbackToLogsOnError"
        container.securityContext = Self.restrictedContainer

        var volumes = r.mounts.volumes
        var mounts = r.mounts.mounts
        var scratch = Volume(name: "scratch")
        scratch.emptyDir = EmptyDirVolumeSource()
        volumes.append(scratch)
        mounts.append(VolumeMount(name: "scratch", mountPath: Self.scratchMount))
        for (index, secretName) in r.mounts.secretOrder.enumerated() {
            var v = Volume(name: "secret-\(index)")
            var source = SecretVolumeSource(secretName: secretName)
            source.items = (r.mounts.secretItems[secretName] ?? []).compactMap { AgentMounts.keyToPath($0) }
            source.defaultMode = 0o440
            v.secret = source
            volumes.append(v)
            mounts.append(VolumeMount(name: v.name, mountPath: "\(Self.secretsRoot)/\(index)", readOnly: true))
        }
        container.volumeMounts = mounts

        var pod = PodSpec(containers: [container])
        pod.volumes = volumes
        pod.restartPolicy = "Never"
        pod.serviceAccountName = template.serviceAccountName
        pod.automountServiceAccountToken = false
        pod.nodeSelector = template.nodeSelector
        pod.tolerations = template.tolerations
        pod.imagePullSecrets = template.imagePullSecrets
        pod.securityContext = Self.restrictedPod

        var jobSpec = JobSpec(template: PodTemplateSpec(
            metadata: ObjectMeta(labels: podLabels, annotations: template.podAnnotations), spec: pod))
        jobSpec.backoffLimit = template.backoffLimit ?? 0
        jobSpec.activeDeadlineSeconds = template.activeDeadlineSeconds
        var meta = ObjectMeta(name: r.name, namespace: r.owner.namespace, labels: labels)
        meta.annotations = r.annotations.isEmpty ? nil : r.annotations
        meta.ownerReferences = [r.owner.reference]
        return Job(metadata: meta, spec: jobSpec)
    }

    /// The spec as the container sees it. `$` in user values must survive the kubelet's
    /// `$(VAR)` expansion: escaped as `$$`, then the path placeholders become references.
    static func render(_ spec: AgentSpec, _ mounts: AgentMounts) -> String {
        // Sorted keys: the same spec gives the same Job. Encoding plain Codable values of
        // strings, numbers and optionals cannot fail.
        let json = (try? JSONValue.encode(spec).serialized(sortedKeys: true)) ?? Array("{}".utf8)
        // One pass over the bytes (Foundation's replacingOccurrences was a third of a plan).
        let placeholders = mounts.env.map { (Array(AgentMounts.placeholder($0.name).utf8), Array("$(\($0.name))".utf8)) }
        var out: [UInt8] = []
        out.reserveCapacity(json.count + 64)
        var i = 0
        scan: while i < json.count {
            let byte = json[i]
            if byte == UInt8(ascii: "$") {
                out.append(byte)
                out.append(byte)
                i += 1
                continue
            }
            if byte == UInt8(ascii: "@") {
                for (placeholder, reference) in placeholders where json[i...].starts(with: placeholder) {
                    out += reference
                    i += placeholder.count
                    continue scan
                }
            }
            out.append(byte)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static var restrictedContainer: SecurityContext {
        var sc = SecurityContext()
        sc.runAsNonRoot = true
        sc.readOnlyRootFilesystem = true
        sc.allowPrivilegeEscalation = false
        sc.privileged = false
        sc.capabilities = Capabilities(drop: ["ALL"])
        sc.seccompProfile = SeccompProfile(type: "RuntimeDefault")
        return sc
    }

    static var restrictedPod: PodSecurityContext {
        var psc = PodSecurityContext()
        psc.runAsNonRoot = true
        psc.runAsUser = 65532
        psc.runAsGroup = 65532
        psc.fsGroup = 65532
        psc.seccompProfile = SeccompProfile(type: "RuntimeDefault")
        return psc
    }
}

/// Collects the env vars and volumes an agent spec refers to while the spec is built: each
/// Secret key becomes a file under `secretsRoot/<n>/`, each claim a mount, and the spec names
/// them through `$(BACKSTOP_FILE_n)` placeholders (see `AgentJobTemplate`).
public struct AgentMounts: Sendable {
    public private(set) var env: [EnvVar] = []
    public private(set) var volumes: [Volume] = []
    public private(set) var mounts: [VolumeMount] = []
    var secretItems: [String: [String]] = [:]
    var secretOrder: [String] = []

    public init() {}

    static func placeholder(_ name: String) -> String { "@@@\(name)@@@" }

    /// The path (as a placeholder) of Secret key `ref`, mounted read-only.
    public mutating func secretFile(_ ref: SecretKeySelector) -> String {
        if secretItems[ref.name] == nil { secretOrder.append(ref.name) }
        if !(secretItems[ref.name] ?? []).contains(ref.key) { secretItems[ref.name, default: []].append(ref.key) }
        let index = secretOrder.firstIndex(of: ref.name)!
        return pathVar("\(AgentJobTemplate.secretsRoot)/\(index)/\(ref.key)")
    }

    /// An env var holding `path`, referenced from the spec as `$(NAME)`.
    public mutating func pathVar(_ path: String) -> String {
        if let existing = env.first(where: { $0.value == path }) { return Self.placeholder(existing.name) }
        let name = "BACKSTOP_FILE_\(env.count)"
        env.append(EnvVar(name: name, value: path))
        return Self.placeholder(name)
    }

    /// A path inside a claim as the agent wants it: relative, `/` and empty meaning the whole
    /// claim (the schema accepts a leading `/` as the claim's root and refuses `..`).
    public static func insideClaim(_ path: String?) -> String {
        (path ?? "").split(separator: "/").joined(separator: "/")
    }

    /// Mounts claim `claimName` as volume `volumeName` at `path` (once per volume name).
    public mutating func claim(_ volumeName: String, claimName: String, at path: String, readOnly: Bool) {
        guard !volumes.contains(where: { $0.name == volumeName }) else { return }
        var v = Volume(name: volumeName)
        v.persistentVolumeClaim = PVCVolumeSource(claimName: claimName, readOnly: readOnly ? true : nil)
        volumes.append(v)
        mounts.append(VolumeMount(name: volumeName, mountPath: path, readOnly: readOnly ? true : nil))
    }

    /// `KeyToPath` has no public memberwise init; it is built through its Codable form.
    static func keyToPath(_ key: String) -> KeyToPath? {
        try? JSONValue.object(["key": .string(key), "path": .string(key)]).decode(KeyToPath.self)
    }
}
