import Agent
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("S3 failure mid-upload")
struct S3FailureTests {
    /// Killed rather than frozen: with a SIGSTOPped moto the HTTP module's idle timeout
    /// (libcurl low-speed limit) did not fire within 10 s, so a freeze only delays the upload.
    /// moto keeps its state in memory, so after a kill the "no open multipart upload" half
    /// cannot be observed on this server; the abort path itself is exercised by the
    /// credentials and source-failure tests.
    @Test("the S3 server is killed mid-upload: the backup fails with StoreUnreachable and reports no artifact")
    func killedServer() async throws {
        let h = try AgentHarness("s3-kill")
        let moto = try AgentMotoServer()
        let client = S3Client(endpoint: moto.endpoint, region: "us-east-1", credentials: AWSCredentials(accessKeyID: "test", secretAccessKey: "test"))
        try await client.createBucket("backups")
        // ~28 MB of barely compressible dump: several 8 MiB parts.
        let source = uniqueDB("kill_src")
        try await h.createDatabase(source)
        defer { Task { await h.dropDatabase(source) } }
        let db = try await h.connect(source)
        _ = try await db.executeScript("""
            CREATE TABLE blobs AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS v
            FROM generate_series(1, 500000) g;
            """)
        await db.close()
        let store: JSONValue = ["s3": ["endpoint": .string(moto.endpoint), "bucket": "backups", "region": "us-east-1",
                                       "accessKeyIdFile": .string(try h.write("a", "test")),
                                       "secretAccessKeyFile": .string(try h.write("s", "test")), "timeoutSeconds": 2]]
        let backup = Task { try await h.run("backup", ["policy": "p", "destination": store, "source": ["postgres": .object(h.pgFields(source))]]) }
        var killed = false
        for _ in 0..<300 where !killed {
            if try await !client.listMultipartUploads(bucket: "backups").isEmpty {
                moto.kill()
                killed = true
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        try #require(killed, "the upload never started")
        let result = try await backup.value
        #expect(result.exitCode == 3 && result.reason == "StoreUnreachable", "\(result.stdout)")
        #expect(result.result["artifact"] == nil)
        #expect(h.lines.lines.contains { $0.contains("FAILED") })
    }
}
