import Agent
import BackstopCore
import Controllers
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// The spec a BackupPolicy's Job carries is decoded by the agent's own decoder into the shared
/// contract types, for every source kind and both stores: the two planes agree by construction.
@Suite struct AgentContractTests {
    static func policy(_ source: KubeModel.BackupSource, destination: BackupDestination? = nil) -> BackupPolicy {
        var p = Fx.policy()
        p.spec.source = source
        if let destination { p.spec.destination = destination }
        return p
    }

    static let s3 = S3CredentialsRef(name: "s3-creds")
    static let sources: [(String, KubeModel.BackupSource)] = [
        ("postgres", KubeModel.BackupSource(postgres: PostgresSource(host: "db", port: 5433, database: "app", user: "backup",
                                                           passwordSecretRef: SecretKeySelector(name: "db-creds", key: "password")))),
        ("redis", KubeModel.BackupSource(redis: RedisSource(host: "redis", passwordSecretRef: SecretKeySelector(name: "r", key: "pw")))),
        ("clickhouse", KubeModel.BackupSource(clickhouse: ClickHouseSource(url: "http://ch:8123", database: "otel"))),
        ("s3", KubeModel.BackupSource(s3: S3Source(endpoint: "http://minio:9000", bucket: "files", credentialsSecretRef: s3))),
        ("volume", KubeModel.BackupSource(volume: VolumeSource(claimName: "n8n-data", path: "/"))),
    ]

    static func decoded(_ job: Job) throws -> AgentSpec {
        try AgentSpec.decode(Array(try Fx.expandedSpec(job).jsonString.utf8))
    }

    @Test(arguments: sources.indices)
    func backupSpecsDecodeOnTheAgentSide(_ i: Int) throws {
        let (kind, source) = Self.sources[i]
        let p = Self.policy(source)
        let job = Fx.builder.job(for: p, operation: .backup, name: "pg-backup-1", slotLabel: "x")
        let spec = try Self.decoded(job)
        #expect(spec.policy == "pg")
        #expect(spec.job?.name == "pg-backup-1" && spec.job?.namespace == "team")
        #expect(spec.store?.volume?.path == "/var/run/backstop/store")
        switch kind {
        case "postgres":
            #expect(spec.source?.postgres?.connection.port == 5433)
            #expect(spec.source?.postgres?.connection.passwordFile?.hasSuffix("/password") == true)
        case "redis": #expect(spec.source?.redis?.passwordFile?.hasSuffix("/pw") == true)
        case "clickhouse": #expect(spec.source?.clickhouse?.database == "otel")
        case "s3":
            #expect(spec.source?.s3?.bucket == "files")
            #expect(spec.source?.s3?.connection.accessKeyIdFile?.hasSuffix("/AWS_ACCESS_KEY_ID") == true)
        default:
            // `path: /` is the whole claim: the mount itself, not the node's root.
            #expect(spec.source?.volume?.path == "/var/run/backstop/source")
        }
    }

    @Test func anS3StoreAndPruneSpecDecode() throws {
        var p = Self.policy(Self.sources[0].1, destination: BackupDestination(
            s3: S3Destination(endpoint: "http://minio:9000", bucket: "backups", prefix: "pg", credentialsSecretRef: Self.s3)))
        p.spec.retention = RetentionPolicy(keepLast: 2, maxAge: "30d")
        let spec = try Self.decoded(Fx.builder.job(for: p, operation: .prune, name: "pg-prune-1", slotLabel: "follow-up"))
        #expect(spec.store?.s3?.bucket == "backups" && spec.store?.s3?.prefix == "pg")
        #expect(spec.store?.s3?.connection.secretAccessKeyFile?.hasSuffix("/AWS_SECRET_ACCESS_KEY") == true)
        #expect(spec.retention?.keepLast == 2)
        #expect(spec.retention?.maxAge == RetentionAge(seconds: 30 * 86400))
        #expect(spec.source == nil)
    }

    @Test(arguments: [("/", "/var/run/backstop/source"), ("/data/", "/var/run/backstop/source/data"),
                      ("data//sub", "/var/run/backstop/source/data/sub"), ("", "/var/run/backstop/source")])
    func volumeSubPathsAreInsideTheClaim(_ path: String, _ expected: String) throws {
        let p = Self.policy(KubeModel.BackupSource(volume: VolumeSource(claimName: "c", path: path)))
        let spec = try Self.decoded(Fx.builder.job(for: p, operation: .backup, name: "v-backup-1", slotLabel: "x"))
        #expect(spec.source?.volume?.path == expected)
    }
}
