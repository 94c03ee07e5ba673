import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The agent Job the builder produces: restricted pod, mounts, spec JSON, labels, owner.
@Suite struct JobShapeTests {
    func backupJob(_ configure: (inout BackupPolicy) -> Void = { _ in }) -> Job {
        var p = Fx.policy()
        configure(&p)
        return Fx.builder.job(for: p, operation: .backup, name: "pg-backup-12345678", slotLabel: "20260528T210000Z")
    }

    @Test func thePodIsRestricted() throws {
        let job = backupJob()
        let pod = try #require(job.spec?.template.spec)
        let c = try #require(pod.containers.first)
        #expect(pod.securityContext?.runAsNonRoot == true)
        #expect(pod.securityContext?.seccompProfile?.type == "RuntimeDefault")
        #expect(c.securityContext?.runAsNonRoot == true)
        #expect(c.securityContext?.readOnlyRootFilesystem == true)
        #expect(c.securityContext?.allowPrivilegeEscalation == false)
        #expect(c.securityContext?.capabilities?.drop == ["ALL"])
        #expect(c.securityContext?.seccompProfile?.type == "RuntimeDefault")
        #expect(pod.automountServiceAccountToken == false)
        #expect(pod.restartPolicy == "Never")
        #expect(job.spec?.backoffLimit == 0)
        // A writable scratch directory despite the read-only root.
        #expect(pod.volumes?.contains { $0.name == "scratch" && $0.emptyDir != nil } == true)
        #expect(c.volumeMounts?.contains { $0.name == "scratch" && $0.mountPath == "/var/run/backstop/tmp" } == true)
    }

    @Test func argsLabelsAndOwner() throws {
        let job = backupJob()
        let c = try #require(job.spec?.template.spec?.containers.first)
        #expect(c.image == "backstop:test")
        #expect(c.args == ["agent", "backup", "--spec-env", "BACKSTOP_SPEC", "--termination-log", "/dev/termination-log"])
        #expect(job.metadata.labels?[BackstopLabels.policy] == "pg")
        #expect(job.metadata.labels?[BackstopLabels.operation] == "backup")
        #expect(job.metadata.labels?[BackstopLabels.slot] == "20260528T210000Z")
        #expect(job.spec?.template.metadata?.labels?[BackstopLabels.job] == "pg-backup-12345678")
        let owner = try #require(job.metadata.ownerReferences?.first)
        #expect(owner.kind == "BackupPolicy" && owner.name == "pg" && owner.uid == "uid-pg" && owner.controller == true)
    }

    @Test func secretsAreMountedAsFilesAndTheSpecNamesThePaths() throws {
        let job = backupJob { p in
            p.spec.destination = BackupDestination(s3: S3Destination(endpoint: "http://minio:9000", bucket: "b", prefix: "x",
                                                                     credentialsSecretRef: S3CredentialsRef(name: "s3-creds")))
            p.spec.source.postgres?.database = "app$(HOME)"
        }
        let pod = try #require(job.spec?.template.spec)
        let secretVolumes = (pod.volumes ?? []).filter { $0.secret != nil }
        #expect(Set(secretVolumes.compactMap { $0.secret?.secretName }) == ["db-creds", "s3-creds"])
        let s3 = try #require(secretVolumes.first { $0.secret?.secretName == "s3-creds" })
        #expect(Set(s3.secret?.items?.map(\.key) ?? []) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        // No Secret value is ever in the Job: env holds only paths and the spec.
        #expect(pod.containers[0].env?.allSatisfy { $0.valueFrom == nil } == true)
        let spec = try Fx.expandedSpec(job)
        #expect(spec["policy"]?.stringValue == "pg")
        let password = try #require(spec["source"]?["postgres"]?["passwordFile"]?.stringValue)
        #expect(password.hasPrefix("/var/run/backstop/secrets/") && password.hasSuffix("/password"))
        let mount = try #require(pod.containers[0].volumeMounts?.first { password.hasPrefix($0.mountPath + "/") })
        #expect(pod.volumes?.first { $0.name == mount.name }?.secret?.secretName == "db-creds")
        #expect(spec["store"]?["s3"]?["accessKeyIdFile"]?.stringValue?.hasSuffix("/AWS_ACCESS_KEY_ID") == true)
        // `$` in user values survives the kubelet's `$(VAR)` expansion.
        #expect(spec["source"]?["postgres"]?["database"]?.stringValue == "app$(HOME)")
        // On the wire: the user's `$` doubled, each path a `$(BACKSTOP_FILE_n)` reference, no placeholder left.
        let raw = try #require(pod.containers[0].env?.first { $0.name == "BACKSTOP_SPEC" }?.value)
        #expect(raw.contains("\"database\":\"app$$(HOME)\""))
        #expect(raw.contains("\"passwordFile\":\"$(BACKSTOP_FILE_"))
        #expect(!raw.contains("@@@"))
    }

    @Test func aVolumeDestinationMountsTheClaim() throws {
        let job = backupJob()
        let pod = try #require(job.spec?.template.spec)
        #expect(pod.volumes?.first { $0.name == "store" }?.persistentVolumeClaim?.claimName == "backups")
        let spec = try Fx.expandedSpec(job)
        #expect(spec["store"]?["volume"]?["path"]?.stringValue == "/var/run/backstop/store")
        #expect(spec["store"]?["volume"]?["prefix"]?.stringValue == "pg")
    }

    @Test func jobTemplateSetsResourcesAndScheduling() throws {
        let job = backupJob { p in
            var t = JobTemplate(image: "registry.local/backstop:1")
            t.nodeSelector = ["disk": "ssd"]
            t.serviceAccountName = "backup-agent"
            t.backoffLimit = 2
            t.activeDeadlineSeconds = 600
            p.spec.jobTemplate = t
        }
        let pod = try #require(job.spec?.template.spec)
        #expect(pod.containers[0].image == "registry.local/backstop:1")
        #expect(pod.nodeSelector == ["disk": "ssd"])
        #expect(pod.serviceAccountName == "backup-agent")
        #expect(job.spec?.backoffLimit == 2)
        #expect(job.spec?.activeDeadlineSeconds == 600)
    }

    @Test func pruneSpecCarriesRetentionAndZone() throws {
        var p = Fx.policy(retention: RetentionPolicy(keepLast: 3, keepDaily: 7, maxAge: "90d"))
        p.spec.timeZone = "Europe/Berlin"
        let job = Fx.builder.job(for: p, operation: .prune, name: "pg-prune-1", slotLabel: "follow-up")
        let spec = try Fx.expandedSpec(job)
        #expect(spec["retention"]?["keepLast"]?.intValue == 3)
        #expect(spec["retention"]?["maxAge"]?.stringValue == "90d")
        #expect(spec["timeZone"]?.stringValue == "Europe/Berlin")
        #expect(spec["source"] == nil)
    }
}
