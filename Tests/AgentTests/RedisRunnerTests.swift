import Agent
import BackstopCore
import DynamicJSON
import Foundation
import Testing
import TestSupport

/// `backstop agent backup|verify|restore` specs with `source.redis` / `target.redis` and
/// `source.volume` / `target.volume`, through the runner the CLI uses.
@Suite("Redis and volume through AgentRunner", .serialized)
struct RedisRunnerTests {
    func run(_ command: AgentCommandKind, _ json: String, _ context: AgentContext) async throws -> AgentOutcome {
        await AgentRunner.run(command, spec: try AgentSpec.decode(Array(json.utf8)), context: context)
    }

    @Test("redis: backup, verify, a flipped byte fails verify and restore refuses without touching the data directory")
    func redisCorruption() async throws {
        let redis = try TestServices.redis()
        _ = try await RedisCLI(port: redis.port, password: redis.password).run(["SET", "runner:key", "v"])
        let work = try TestServices.temporaryDirectory("redis-runner")
        defer { try? FileManager.default.removeItem(at: work) }
        let store = work.appendingPathComponent("store")
        let data = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try Data("aof".utf8).write(to: data.appendingPathComponent("appendonly.aof"))
        let secret = try writeSecretFile(redis.password, in: work)
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let common = #""policy": "redis-cache", "store": {"volume": {"path": "\#(store.path)"}}"#

        let backup = try await run(.backup, #"{\#(common), "source": {"redis": {"host": "127.0.0.1", "port": \#(redis.port), "passwordFile": "\#(secret)"}}}"#, context)
        #expect(backup.exitCode == 0, "\(backup.result.jsonString)")
        #expect(backup.result["artifact"]?["format"]?.stringValue == "redis-rdb")
        #expect(!backup.result.jsonString.contains(redis.password))
        let verify = try await run(.verify, "{\(common)}", context)
        #expect(verify.exitCode == 0, "\(verify.result.jsonString)")
        let checkNames = verify.result["verification"]?["checks"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(checkNames.contains("rdbChecksum"))

        let key = try #require(backup.result["artifact"]?["key"]?.stringValue)
        let path = store.appendingPathComponent(key).path
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let bad = try await run(.verify, "{\(common)}", context)
        #expect(bad.exitCode == AgentExitCode.integrity)
        #expect(bad.result["reason"]?.stringValue == "ChecksumMismatch")
        let refused = try await run(.restore, #"{\#(common), "target": {"redis": {"dataDirectory": "\#(data.path)"}}}"#, context)
        #expect(refused.exitCode == AgentExitCode.integrity)
        #expect(try FileManager.default.contentsOfDirectory(atPath: data.path) == ["appendonly.aof"])
    }

    @Test("volume: backup, restore with clean through the runner")
    func volumeRoundTrip() async throws {
        let work = try TestServices.temporaryDirectory("volume-runner")
        defer { try? FileManager.default.removeItem(at: work) }
        let (store, source, target) = (work.appendingPathComponent("store"), work.appendingPathComponent("n8n"), work.appendingPathComponent("restore"))
        for dir in [store, source.appendingPathComponent("nodes"), target] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        try Data("{\"workflows\": 3}".utf8).write(to: source.appendingPathComponent("database.json"))
        try Data("key".utf8).write(to: source.appendingPathComponent("nodes/config"))
        try Data("old".utf8).write(to: target.appendingPathComponent("stale"))
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let common = #""policy": "n8n-data", "store": {"volume": {"path": "\#(store.path)"}}"#
        let backup = try await run(.backup, #"{\#(common), "source": {"volume": {"path": "\#(source.path)"}}}"#, context)
        #expect(backup.exitCode == 0, "\(backup.result.jsonString)")
        #expect(backup.result["artifact"]?["format"]?.stringValue == "tar-gzip")
        let restore = try await run(.restore, #"{\#(common), "target": {"volume": {"path": "\#(target.path)", "clean": true}}}"#, context)
        #expect(restore.exitCode == 0, "\(restore.result.jsonString)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).sorted() == ["database.json", "nodes"])
        #expect(try Data(contentsOf: target.appendingPathComponent("nodes/config")) == Data("key".utf8))
    }
}
