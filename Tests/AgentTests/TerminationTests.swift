import Agent
import BackstopCore
import DynamicJSON
import Foundation
import HTTP
import Testing
import TestSupport

@Suite("SIGTERM aborts cleanly; prune removes what a killed agent left", .serialized)
struct TerminationTests {
    /// Child processes of this process named `name` (from /proc).
    static func children(named name: String) -> [Int32] {
        let me = getpid()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return false }
            let comm = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return comm == name && fields.count > 1 && Int32(fields[1]) == me
        }
    }

    @Test("terminate during a gzip → S3 backup: result Terminated, no object, no open multipart upload, gzip gone")
    func sigtermMidUpload() async throws {
        let h = try AgentHarness("sigterm")
        let s3 = try TestServices.s3()
        let client = S3StoreTests.client(s3)
        let bucket = uniqueName("term")
        try await client.createBucket(bucket)
        // Random bytes do not compress: gzip needs seconds for this, the signal comes first.
        let data = h.path("data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let made = try await Subprocess.run("/bin/sh", ["-c", "head -c 200000000 /dev/urandom > '\(data)/random.bin'"])
        try #require(made.termination.succeeded)
        let spec: JSONValue = ["policy": "n8n", "store": ["s3": .object(try h.s3Fields(s3, bucket: bucket))],
                               "source": ["volume": ["path": .string(data), "compressionLevel": 1]]]
        let run = Task { try await h.run("backup", spec) }
        // Wait until the upload is under way (a multipart upload exists), then "SIGTERM".
        let deadline = Date().addingTimeInterval(30)
        while try await client.listMultipartUploads(bucket: bucket).isEmpty, Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!Self.children(named: "gzip").isEmpty, "gzip should be running before the signal")
        AgentMain.terminate(workDirectory: h.dir.path, progress: .silent)
        let result = try await run.value
        #expect(result.exitCode == 6 && result.reason == "Terminated", "\(result.stdout)")
        #expect(String(decoding: result.terminationLog, as: UTF8.self).contains("Terminated"))
        #expect(try await client.listAllObjects(bucket: bucket).isEmpty)
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
        try await Task.sleep(for: .milliseconds(500))
        #expect(Self.children(named: "gzip").isEmpty)
        // The process is still usable: the next command is not cancelled.
        let catalog = try await h.run("catalog", ["policy": "n8n", "store": ["s3": .object(try h.s3Fields(s3, bucket: bucket))]])
        #expect(catalog.exitCode == 0 && catalog.result["count"] == 0)
    }

    @Test("prune removes stale .partial files and open multipart uploads older than an hour, keeps fresh ones")
    func stalePartials() async throws {
        let h = try AgentHarness("stale")
        let s3 = try TestServices.s3()
        let client = S3StoreTests.client(s3)

        // Volume: one partial from "yesterday", one being written now.
        let root = h.path("store")
        let dir = root + "/pg/n8n"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let stale = dir + "/.20260101T020000Z-aaaa0001.tar.gz.partial-1234abcd"
        let fresh = dir + "/.20260102T020000Z-aaaa0002.tar.gz.partial-5678abcd"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data(repeating: 1, count: 100)))
        #expect(FileManager.default.createFile(atPath: fresh, contents: Data(repeating: 2, count: 100)))
        var times = [timespec(tv_sec: time(nil) - 86400, tv_nsec: 0), timespec(tv_sec: time(nil) - 86400, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, stale, &times, 0) == 0)
        let volume: JSONValue = ["volume": ["path": .string(root), "prefix": "pg"]]
        let dry = try await h.run("prune", ["policy": "n8n", "store": volume, "retention": ["keepLast": 3]], dryRun: true)
        #expect(dry.result["stalePartialsWouldRemove"]?.arrayValue?.count == 1 && FileManager.default.fileExists(atPath: stale))
        let prune = try await h.run("prune", ["policy": "n8n", "store": volume, "retention": ["keepLast": 3]])
        #expect(prune.exitCode == 0 && prune.result["stalePartialsRemoved"]?.arrayValue?.count == 1, "\(prune.stdout)")
        #expect(!FileManager.default.fileExists(atPath: stale) && FileManager.default.fileExists(atPath: fresh))

        // S3: an upload a killed agent never completed nor aborted.
        let bucket = uniqueName("stale")
        try await client.createBucket(bucket)
        _ = try await client.createMultipartUpload(bucket: bucket, key: "backups/n8n/20260101T020000Z-aaaa0001.tar.gz")
        let running = "backups/n8n/\(ArtifactID.generate(at: Date())).tar.gz"
        _ = try await client.createMultipartUpload(bucket: bucket, key: running)
        let store: JSONValue = ["s3": .object(try h.s3Fields(s3, bucket: bucket))]
        let now = try await h.run("prune", ["policy": "n8n", "store": store, "retention": ["keepLast": 3]])
        #expect(now.result["stalePartialsRemoved"] == ["backups/n8n/20260101T020000Z-aaaa0001.tar.gz"], "\(now.stdout)")
        // An upload started just now may be a running backup: kept.
        #expect(try await client.listMultipartUploads(bucket: bucket).map(\.key) == [running])
        let later = UTCTimestamp.rfc3339(Date().addingTimeInterval(7200))
        let pruned = try await h.run("prune", ["policy": "n8n", "store": store, "retention": ["keepLast": 3], "now": .string(later)])
        #expect(pruned.exitCode == 0 && pruned.result["stalePartialsRemoved"]?.arrayValue?.count == 1, "\(pruned.stdout)")
        #expect(try await client.listMultipartUploads(bucket: bucket).isEmpty)
    }
}
