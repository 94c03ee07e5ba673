import Agent
import BackstopCore
import Foundation
import HTTP
import Testing
import TestSupport

/// A source that streams `bytes` of data and then fails, like a pg_dump dying mid-dump.
struct FailingSource: BackupSource, PreparedBackup {
    var bytes: Int
    var identity: SourceIdentity { SourceIdentity(kind: "test") }
    var format: ArtifactFormat { ArtifactFormat(name: "test", fileExtension: "bin") }
    func prepare(_ context: AgentContext) async throws -> any PreparedBackup { self }
    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<(bytes / 65536) {
            try await output.write((0..<65536).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
        }
        throw AgentError(.toolFailed, "source died after \(bytes) bytes")
    }
    func close() async {}
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("S3 multipart abort")
struct S3AbortTests {
    @Test("a source failing after two parts were uploaded leaves no object and no open multipart upload")
    func sourceFailsMidUpload() async throws {
        let h = try AgentHarness("s3-abort")
        let s3 = try TestServices.s3()
        let client = S3StoreTests.client(s3)
        let bucket = uniqueName("abort")
        try await client.createBucket(bucket)
        let connection = S3Connection(endpoint: s3.endpoint, region: s3.region, accessKeyIdFile: try h.write("a", s3.accessKey),
                                      secretAccessKeyFile: try h.write("s", s3.secretKey))
        let store = try S3Store(spec: S3StoreSpec(connection: connection, bucket: bucket))
        let layout = try ArtifactLayout(prefix: "x", policy: "p")
        await #expect(throws: AgentError.self) {
            _ = try await BackupPipeline.run(source: FailingSource(bytes: 20 << 20), store: store, layout: layout,
                                             id: ArtifactID.generate(at: Date()), startedAt: Date(), job: nil, labels: [:], pinned: false,
                                             minSizeBytes: nil, context: AgentContext(progress: .silent, workDirectory: h.dir.path))
        }
        #expect(try await client.listAllObjects(bucket: bucket).isEmpty)
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
    }
}
