import BackstopCore
import DynamicJSON
import Foundation
import KubeModel

/// Builds the agent Job for one operation of a policy: the spec JSON, Secret and volume
/// mounts, a restricted pod, labels and the owner reference. Pure.
///
/// Why the spec travels in an environment variable (`--spec-env BACKSTOP_SPEC`) and not in a
/// mounted file: the spec holds only paths, never secret values, and it must name the paths of
/// mounted Secret files. Those paths are given as `$(BACKSTOP_FILE_n)` references to earlier
/// env vars whose values are the mount paths; the kubelet expands them (dependent env vars),
/// and KubeSim's Job runner rewrites the mount paths to its local directories first, so one Job
/// works on a real cluster and in the simulator. A mounted spec file could not be rewritten.
public struct AgentJobBuilder: Sendable {
    public var agentImage: String

    public init(agentImage: String) { self.agentImage = agentImage }

    static let secretsRoot = "/var/run/backstop/secrets"
    static let storeMount = "/var/run/backstop/store"
    static let sourceMount = "/var/run/backstop/source"
    static let scratchMount = "/var/run/backstop/tmp"
    static let specEnv = "BACKSTOP_SPEC"
    static let defaultAccessKeyKey = "AWS_ACCESS_KEY_ID"
    static let defaultSecretKeyKey = "AWS_SECRET_ACCESS_KEY"

    /// The Job name for an operation: `<policy>-<op>-<hash of token>`, ≤ 63 characters.
    public static func jobName(policy: String, operation: BackupOperation, token: String) -> String {
        NameRules.childName(owner: policy, purpose: operation.purpose, token: token)
    }

    /// Every (Secret name, key) the spec references, in a stable order.
    public static func secretRefs(_ spec: BackupPolicySpec) -> [SecretKeySelector] {
        var refs: [SecretKeySelector] = []
        let s = spec.source
        if let r = s.postgres?.passwordSecretRef { refs.append(r) }
        if let r = s.redis?.passwordSecretRef { refs.append(r) }
        if let r = s.clickhouse?.passwordSecretRef { refs.append(r) }
        if let c = s.s3?.credentialsSecretRef { refs += s3Keys(c) }
        if let c = spec.destination.s3?.credentialsSecretRef { refs += s3Keys(c) }
        return refs
    }

    static func s3Keys(_ c: S3CredentialsRef) -> [SecretKeySelector] {
        [SecretKeySelector(name: c.name, key: c.accessKeyIDKey ?? defaultAccessKeyKey),
         SecretKeySelector(name: c.name, key: c.secretAccessKeyKey ?? defaultSecretKeyKey)]
    }

    /// Collects env vars and volumes while the spec JSON is built.
    struct Mounts {
        var env: [EnvVar] = []
        var volumes: [Volume] = []
        var mounts: [VolumeMount] = []
        var secretItems: [String: [String]] = [:]
        var secretOrder: [String] = []

        /// A placeholder for the file of `ref`, replaced by `$(VAR)` after serialisation.
        mutating func secretFile(_ ref: SecretKeySelector) -> JSONValue {
            if secretItems[ref.name] == nil { secretOrder.append(ref.name) }
            if !(secretItems[ref.name] ?? []).contains(ref.key) { secretItems[ref.name, default: []].append(ref.key) }
            let index = secretOrder.firstIndex(of: ref.name)!
            return pathVar("\(AgentJobBuilder.secretsRoot)/\(index)/\(ref.key)")
        }

        /// An env var holding `path`, referenced from the spec as `$(NAME)`.
        mutating func pathVar(_ path: String) -> JSONValue {
            if let existing = env.first(where: { $0.value == path }) { return .string("@@@\(existing.name)@@@") }
            let name = "BACKSTOP_FILE_\(env.count)"
            env.append(EnvVar(name: name, value: path))
            return .string("@@@\(name)@@@")
        }

        mutating func claim(_ volumeName: String, claimName: String, at path: String, readOnly: Bool) {
            if !volumes.contains(where: { $0.name == volumeName }) {
                var v = Volume(name: volumeName)
                v.persistentVolumeClaim = PVCVolumeSource(claimName: claimName, readOnly: readOnly ? true : nil)
                volumes.append(v)
                mounts.append(VolumeMount(name: volumeName, mountPath: path, readOnly: readOnly ? true : nil))
            }
        }
    }

    /// The agent spec for `operation` plus the env vars and volumes it refers to.
    func spec(for policy: BackupPolicy, operation: BackupOperation, jobName: String) -> (json: String, mounts: Mounts) {
        var m = Mounts()
        let spec = policy.spec
        let name = policy.metadata.name ?? ""
        var doc: [String: JSONValue] = ["policy": .string(name),
                                        "job": ["name": .string(jobName), "namespace": .string(policy.metadata.namespace ?? "")]]
        if let s3 = spec.destination.s3 {
            var o: [String: JSONValue] = ["endpoint": .string(s3.endpoint), "bucket": .string(s3.bucket)]
            if let p = s3.prefix { o["prefix"] = .string(p) }
            o["region"] = .string(s3.region ?? "us-east-1")
            if let c = s3.credentialsSecretRef {
                let keys = Self.s3Keys(c)
                o["accessKeyIdFile"] = m.secretFile(keys[0])
                o["secretAccessKeyFile"] = m.secretFile(keys[1])
            }
            doc["store"] = ["s3": .object(o)]
        } else if let v = spec.destination.volume {
            m.claim("store", claimName: v.claimName, at: Self.storeMount, readOnly: false)
            var o: [String: JSONValue] = ["path": m.pathVar(Self.storeMount)]
            if let p = v.path?.trimmingCharacters(in: CharacterSet(charactersIn: "/")), !p.isEmpty { o["prefix"] = .string(p) }
            doc["store"] = ["volume": .object(o)]
        }
        switch operation {
        case .backup:
            doc["source"] = sourceJSON(spec.source, &m)
            var verify: [String: JSONValue] = [:]
            if let v = spec.verify {
                if let c = v.checksum { verify["checksum"] = .bool(c) }
                if let l = v.listContents { verify["listContents"] = .bool(l) }
                if let s = v.minSizeBytes { verify["minSizeBytes"] = .int(s) }
            }
            if !verify.isEmpty { doc["verify"] = .object(verify) }
        case .prune:
            let r = spec.retention ?? RetentionPolicy()
            var o: [String: JSONValue] = [:]
            if let v = r.keepLast { o["keepLast"] = .int(Int64(v)) }
            if let v = r.keepDaily { o["keepDaily"] = .int(Int64(v)) }
            if let v = r.keepWeekly { o["keepWeekly"] = .int(Int64(v)) }
            if let v = r.keepMonthly { o["keepMonthly"] = .int(Int64(v)) }
            if let v = r.maxAge { o["maxAge"] = .string(v) }
            if let v = r.keepForever { o["keepForever"] = .bool(v) }
            doc["retention"] = .object(o)
            doc["timeZone"] = .string(spec.timeZone ?? "UTC")
        case .catalog:
            break
        }
        // `$` in user values must survive the kubelet's `$(VAR)` expansion: escape as `$$`,
        // then turn the placeholders into references.
        var text = JSONValue.object(doc).jsonString.replacingOccurrences(of: "$", with: "$$")
        for e in m.env { text = text.replacingOccurrences(of: "@@@\(e.name)@@@", with: "$(\(e.name))") }
        return (text, m)
    }

    func sourceJSON(_ s: BackupSource, _ m: inout Mounts) -> JSONValue {
        if let p = s.postgres {
            var o: [String: JSONValue] = ["host": .string(p.host), "port": .int(Int64(p.port ?? 5432)),
                                          "database": .string(p.database), "user": .string(p.user)]
            if let r = p.passwordSecretRef { o["passwordFile"] = m.secretFile(r) }
            if let v = p.sslMode { o["sslMode"] = .string(v.rawValue) }
            if let v = p.rowCounts { o["rowCounts"] = .array(v.map { JSONValue.string($0) }) }
            if let g = p.guards { o["guards"] = .array(g.map { JSONValue.object(["trigger": .string($0.trigger), "table": .string($0.table)]) }) }
            return ["postgres": .object(o)]
        }
        if let r = s.redis {
            var o: [String: JSONValue] = ["host": .string(r.host), "port": .int(Int64(r.port ?? 6379))]
            if let u = r.user { o["user"] = .string(u) }
            if let ref = r.passwordSecretRef { o["passwordFile"] = m.secretFile(ref) }
            return ["redis": .object(o)]
        }
        if let c = s.clickhouse {
            var o: [String: JSONValue] = ["url": .string(c.url), "database": .string(c.database)]
            if let t = c.tables { o["tables"] = .array(t.map { JSONValue.string($0) }) }
            if let u = c.user { o["user"] = .string(u) }
            if let ref = c.passwordSecretRef { o["passwordFile"] = m.secretFile(ref) }
            if let a = c.partitionMaxAge { o["partitionMaxAge"] = .string(a) }
            return ["clickhouse": .object(o)]
        }
        if let s3 = s.s3 {
            var o: [String: JSONValue] = ["endpoint": .string(s3.endpoint), "region": .string(s3.region ?? "us-east-1")]
            if let b = s3.bucket { o["bucket"] = .string(b) }
            if let p = s3.prefix { o["prefix"] = .string(p) }
            if let c = s3.credentialsSecretRef {
                let keys = Self.s3Keys(c)
                o["accessKeyIdFile"] = m.secretFile(keys[0])
                o["secretAccessKeyFile"] = m.secretFile(keys[1])
            }
            return ["s3": .object(o)]
        }
        if let v = s.volume {
            m.claim("source", claimName: v.claimName, at: Self.sourceMount, readOnly: true)
            let sub = v.path?.trimmingCharacters(in: CharacterSet(charactersIn: "/")) ?? ""
            return ["volume": ["path": m.pathVar(sub.isEmpty ? Self.sourceMount : "\(Self.sourceMount)/\(sub)")]]
        }
        return [:]
    }

    /// `KeyToPath` has no public memberwise init; it is built through its Codable form.
    static func keyToPath(_ key: String) -> KeyToPath? {
        try? JSONValue.object(["key": .string(key), "path": .string(key)]).decode(KeyToPath.self)
    }

    /// The Job for `operation`, named `name`, answering `slot` (labels/annotations say which).
    public func job(for policy: BackupPolicy, operation: BackupOperation, name: String, slotLabel: String,
                    annotations: [String: String] = [:]) -> Job {
        let (specText, m) = spec(for: policy, operation: operation, jobName: name)
        let policyName = policy.metadata.name ?? ""
        let template = policy.spec.jobTemplate ?? JobTemplate()
        var labels = [BackstopLabels.managedBy: "backstop", BackstopLabels.policy: policyName,
                      BackstopLabels.operation: operation.rawValue, BackstopLabels.slot: slotLabel]
        var podLabels = template.podLabels ?? [:]
        podLabels.merge(labels) { _, ours in ours }
        podLabels[BackstopLabels.job] = name

        var container = Container(name: "agent", image: template.image ?? agentImage)
        container.imagePullPolicy = template.imagePullPolicy
        container.args = ["agent", operation.rawValue, "--spec-env", Self.specEnv, "--termination-log", "/dev/termination-log"]
        container.env = m.env + [EnvVar(name: "TMPDIR", value: Self.scratchMount), EnvVar(name: Self.specEnv, value: specText)]
        container.resources = template.resources
        container.terminationMessagePolicy = "FallbackToLogsOnError"
        var sc = SecurityContext()
        sc.runAsNonRoot = true
        sc.readOnlyRootFilesystem = true
        sc.allowPrivilegeEscalation = false
        sc.privileged = false
        sc.capabilities = Capabilities(drop: ["ALL"])
        sc.seccompProfile = SeccompProfile(type: "RuntimeDefault")
        container.securityContext = sc

        var volumes = m.volumes
        var mounts = m.mounts
        var scratch = Volume(name: "scratch")
        scratch.emptyDir = EmptyDirVolumeSource()
        volumes.append(scratch)
        mounts.append(VolumeMount(name: "scratch", mountPath: Self.scratchMount))
        for (index, secretName) in m.secretOrder.enumerated() {
            var v = Volume(name: "secret-\(index)")
            var source = SecretVolumeSource(secretName: secretName)
            source.items = (m.secretItems[secretName] ?? []).compactMap { Self.keyToPath($0) }
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
        var psc = PodSecurityContext()
        psc.runAsNonRoot = true
        psc.runAsUser = 65532
        psc.runAsGroup = 65532
        psc.fsGroup = 65532
        psc.seccompProfile = SeccompProfile(type: "RuntimeDefault")
        pod.securityContext = psc

        var jobSpec = JobSpec(template: PodTemplateSpec(
            metadata: ObjectMeta(labels: podLabels, annotations: template.podAnnotations), spec: pod))
        jobSpec.backoffLimit = template.backoffLimit ?? 0
        jobSpec.activeDeadlineSeconds = template.activeDeadlineSeconds
        labels[BackstopLabels.managedBy] = "backstop"
        var meta = ObjectMeta(name: name, namespace: policy.metadata.namespace, labels: labels)
        meta.annotations = annotations.isEmpty ? nil : annotations
        meta.ownerReferences = [OwnerReference(apiVersion: BackupPolicy.resourceType.apiVersion, kind: BackupPolicy.resourceType.kind,
                                               name: policyName, uid: policy.metadata.uid ?? "", controller: true,
                                               blockOwnerDeletion: nil)]
        return Job(metadata: meta, spec: jobSpec)
    }
}
