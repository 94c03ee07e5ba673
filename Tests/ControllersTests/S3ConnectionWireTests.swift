import AgentContract
import DynamicJSON
import Foundation
import Testing

/// A restore target's and a cleanup target's S3 connection is the shared `S3Connection`, but on
/// the wire it stays flat beside their own fields, exactly as the agent read it before.
@Suite struct S3ConnectionWireTests {
    static let target = """
        {"endpoint":"http://minio:9000","region":"eu-1","accessKeyIdFile":"/k/id","secretAccessKeyFile":"/k/secret",
         "timeoutSeconds":30,"bucket":"files","buckets":["a"],"prefix":"p/","createBucket":true,"removeExtra":false,"scratch":true}
        """
    static let cleanup = """
        {"endpoint":"http://minio:9000","region":"eu-1","accessKeyIdFile":"/k/id","secretAccessKeyFile":"/k/secret",
         "bucket":"drop","prefix":"tmp/","maxAge":"7d"}
        """

    static func roundTrip<T: Codable>(_ type: T.Type, _ text: String) throws -> (T, JSONValue) {
        let value = try JSONDecoder().decode(T.self, from: Data(text.utf8))
        return (value, try JSONValue.encode(value))
    }

    @Test func aTargetDecodesFlatAndEncodesTheSameKeys() throws {
        let (spec, encoded) = try Self.roundTrip(S3MirrorTargetSpec.self, Self.target)
        #expect(spec.connection == S3Connection(endpoint: "http://minio:9000", region: "eu-1", accessKeyIdFile: "/k/id",
                                                secretAccessKeyFile: "/k/secret", timeoutSeconds: 30))
        #expect(spec.bucket == "files" && spec.buckets == ["a"] && spec.prefix == "p/" && spec.scratch == true)
        #expect(encoded == (try JSONValue(parsing: Data(Self.target.utf8))))
    }

    @Test func aCleanupTargetDecodesFlatAndEncodesTheSameKeys() throws {
        let (spec, encoded) = try Self.roundTrip(CleanupTargetSpec.S3Cleanup.self, Self.cleanup)
        #expect(spec.connection.endpoint == "http://minio:9000" && spec.connection.secretAccessKeyFile == "/k/secret")
        #expect(encoded == (try JSONValue(parsing: Data(Self.cleanup.utf8))))
    }

    /// The key files stay required there: no silent fall-back to ambient credentials.
    @Test(arguments: ["\"accessKeyIdFile\":\"/k/id\",", "\"secretAccessKeyFile\":\"/k/secret\","])
    func aMissingKeyFileIsRefused(_ field: String) throws {
        let target = Data(Self.target.replacingOccurrences(of: field, with: "").utf8)
        let cleanup = Data(Self.cleanup.replacingOccurrences(of: field, with: "").utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(S3MirrorTargetSpec.self, from: target) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CleanupTargetSpec.S3Cleanup.self, from: cleanup) }
    }
}
