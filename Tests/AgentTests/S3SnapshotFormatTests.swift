@testable import Agent
import Foundation
import Testing

@Suite("S3 snapshot listing: version 1 and 2 headers, per-entry buckets, order")
struct S3SnapshotFormatTests {
    static let sha = String(repeating: "a", count: 64)

    func entry(_ key: String, bucket: String? = nil) -> String {
        let b = bucket.map { "\"bucket\":\"\($0)\"," } ?? ""
        return "{\(b)\"key\":\"\(key)\",\"size\":1,\"etag\":\"e\",\"sha256\":\"\(Self.sha)\",\"blob\":\"\(Self.sha)\"}"
    }

    func read(_ lines: [String]) async throws -> S3Snapshot.Listing {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("s3snap-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: file))
        return try await S3Snapshot.read(try FileDescriptorStream.open(path: file, label: "test listing"))
    }

    func end(_ n: Int) -> String { "{\"end\":true,\"objects\":\(n),\"bytes\":\(n)}" }
    let v1 = "{\"format\":\"backstop-s3-snapshot\",\"version\":1,\"endpoint\":\"http://s3\",\"bucket\":\"one\",\"prefix\":\"\"}"

    @Test func versionOneEntriesTakeTheHeadersBucket() async throws {
        let listing = try await read([v1, entry("a"), entry("b"), end(2)])
        #expect(listing.buckets == ["one"] && !listing.multiBucket)
        #expect(listing.entries.map { listing.bucket($0) } == ["one", "one"])
        #expect(listing.name(listing.entries[0]) == "a")
    }

    @Test func versionTwoNamesEveryBucketAndEachEntrysBucket() async throws {
        let listing = try await read([v2Header(["x", "y", "empty"]), entry("b", bucket: "x"), entry("a", bucket: "y"), entry("b", bucket: "y"), end(3)])
        #expect(listing.buckets == ["x", "y", "empty"] && listing.multiBucket)
        #expect(listing.entries.map { listing.name($0) } == ["x/b", "y/a", "y/b"])
    }

    @Test(arguments: [
        ("entry without bucket", [v2Header(["x"]), "E:a", "END:1"]),
        ("bucket not in the header", [v2Header(["x"]), "E:a@z", "END:1"]),
        ("version 1 entry with a bucket", ["V1", "E:a@one", "END:1"]),
        ("out of (bucket, key) order", [v2Header(["x", "y"]), "E:a@y", "E:b@x", "END:2"]),
        ("duplicate bucket in the header", [v2Header(["x", "x"]), "E:a@x", "END:1"]),
        ("both bucket and buckets", [#"{"format":"backstop-s3-snapshot","version":2,"bucket":"x","buckets":["x"]}"#, "E:a@x", "END:1"]),
        ("a newer version", [v2Header(["x"], version: 3), "E:a@x", "END:1"]),
    ])
    func malformedListingsAreFormatInvalid(_ what: String, _ template: [String]) async throws {
        let lines = template.map { line -> String in
            if line == "V1" { return v1 }
            if line.hasPrefix("END:") { return end(Int(line.dropFirst(4))!) }
            guard line.hasPrefix("E:") else { return line }
            let parts = line.dropFirst(2).split(separator: "@").map(String.init)
            return entry(parts[0], bucket: parts.count > 1 ? parts[1] : nil)
        }
        await #expect(throws: AgentError.self, "\(what)") {
            do { _ = try await read(lines) } catch let error as AgentError {
                #expect(error.reason == .formatInvalid, "\(what): \(error)")
                throw error
            }
        }
    }
}

/// A version 2 header (a free function: test arguments are evaluated outside an instance).
func v2Header(_ buckets: [String], version: Int = 2) -> String {
    "{\"format\":\"backstop-s3-snapshot\",\"version\":\(version),\"endpoint\":\"http://s3\",\"buckets\":["
        + buckets.map { "\"\($0)\"" }.joined(separator: ",") + "],\"prefix\":\"\"}"
}
