import Agent
import BackstopCore
import Foundation
import Testing
import TestSupport

@Suite("Redis source, RDB verifier and restore target", .serialized)
struct RedisTests {
    @Test("CRC-64/Jones matches Redis's check value")
    func crcCheckValue() {
        var crc = CRC64()
        crc.update(Array("123456789".utf8))
        #expect(crc.value == 0xe9c6_d914_c4b8_d9ca)
        // Chunked updates give the same value as one pass.
        var split = CRC64()
        split.update(Array("1234".utf8))
        split.update(Array("56789".utf8))
        #expect(split.value == crc.value)
    }

    /// Writes keys of every type under a fresh prefix, returns the prefix.
    func seed(_ cli: RedisCLI) async throws -> String {
        let prefix = "bk\(UUID().uuidString.prefix(8)):"
        _ = try await cli.run(["SET", "\(prefix)string", "hello world"])
        _ = try await cli.run(["SET", "\(prefix)unicode", "grüße ✓ \u{1F600}"])
        _ = try await cli.run(["SET", "\(prefix)big", String(repeating: "0123456789abcdef", count: 5_000)])
        _ = try await cli.run(["RPUSH", "\(prefix)list", "a", "b", "c", "a"])
        _ = try await cli.run(["HSET", "\(prefix)hash", "f1", "v1", "f2", "v2"])
        _ = try await cli.run(["SADD", "\(prefix)set", "x", "y", "z"])
        _ = try await cli.run(["ZADD", "\(prefix)zset", "1.5", "one", "2", "two"])
        _ = try await cli.run(["SET", "\(prefix)counter", "42"])
        for i in 0..<200 { _ = try await cli.run(["SET", "\(prefix)k\(i)", "value-\(i)"]) }
        return prefix
    }

    @Test("back up to a volume store, verify, restore into a fresh dir, a second redis-server has the same keys")
    func roundTrip() async throws {
        let redis = try TestServices.redis()
        let cli = RedisCLI(port: redis.port, password: redis.password)
        let prefix = try await seed(cli)
        let before = try await cli.snapshot(prefix: prefix)
        #expect(before.count == 208)

        let work = try TestServices.temporaryDirectory("redis-rt")
        defer { try? FileManager.default.removeItem(at: work) }
        let storeDir = work.appendingPathComponent("store")
        let dataDir = work.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: dataDir.appendingPathComponent("appendonlydir"), withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: dataDir.appendingPathComponent("appendonly.aof"))
        try Data("stale".utf8).write(to: dataDir.appendingPathComponent("appendonlydir/appendonly.aof.1.base.rdb"))

        let lines = LineCollector()
        let context = AgentContext(progress: .collecting(into: lines), workDirectory: work.path)
        let spec = RedisSourceSpec(host: "127.0.0.1", port: redis.port, passwordFile: try writeSecretFile(redis.password, in: work))
        let store = try VolumeStore(root: storeDir.path)
        let manifest = try await BackupPipeline.run(
            source: RedisSource(spec: spec), store: store, layout: try ArtifactLayout(prefix: "", policy: "redis"),
            id: ArtifactID.generate(at: Date()), startedAt: Date(), job: nil, labels: [:], pinned: false, minSizeBytes: nil, context: context)
        #expect(manifest.format == "redis-rdb")
        #expect(manifest.source.kind == "redis")
        let backupChecks = manifest.verification?.checks.map(\.name) ?? []
        #expect(backupChecks.contains("rdbChecksum") && backupChecks.contains("format"))
        #expect(manifest.verification?.checks.allSatisfy { $0.passed } == true)
        #expect(!lines.lines.joined().contains(redis.password))
        // The temporary RDB in the work directory is gone.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.hasSuffix(".rdb") }
        #expect(leftovers.isEmpty)

        let artifact = try #require(store.localPath(key: manifest.key))
        let checks = try await RDBVerifier().verify(file: artifact, manifest: manifest, context: context)
        #expect(checks.count == 3)
        #expect(checks.allSatisfy { $0.passed })

        let target = try RedisRestoreTarget(spec: RedisTargetSpec(dataDirectory: dataDir.path))
        try await target.preflight(manifest: manifest, context: context)
        let report = try await target.restore(file: artifact, manifest: manifest, context: context)
        #expect(report.target["removedAOF"] == "appendonly.aof,appendonlydir")
        let names = try FileManager.default.contentsOfDirectory(atPath: dataDir.path)
        #expect(names == ["dump.rdb"])
        #expect(try Data(contentsOf: dataDir.appendingPathComponent("dump.rdb")) == Data(contentsOf: URL(fileURLWithPath: artifact)))

        let second = try await PrivateRedisServer(directory: dataDir.path)
        let after: [String: String]
        do {
            after = try await RedisCLI(port: second.port).snapshot(prefix: prefix)
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
        #expect(after.count == before.count)
        #expect(after == before)
    }

    @Test("a flipped byte, a truncated file and a foreign file fail the RDB checks")
    func corruption() async throws {
        let redis = try TestServices.redis()
        let cli = RedisCLI(port: redis.port, password: redis.password)
        _ = try await seed(cli)
        let work = try TestServices.temporaryDirectory("redis-bad")
        defer { try? FileManager.default.removeItem(at: work) }
        let file = work.appendingPathComponent("snap.rdb").path
        let out = try await Subprocess.run("/usr/bin/redis-cli", ["-p", String(redis.port), "--no-auth-warning", "--rdb", file],
                                           environment: ["REDISCLI_AUTH": redis.password])
        #expect(out.termination.succeeded)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(try await RDBVerifier.check(file: file).allSatisfy { $0.passed })

        func checks(_ bytes: [UInt8]) async throws -> [CheckResult] {
            let path = work.appendingPathComponent("variant-\(UUID().uuidString.prefix(6)).rdb").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return try await RDBVerifier.check(file: path)
        }
        var flipped = good
        flipped[good.count / 2] ^= 0x01
        let flippedChecks = try await checks(flipped)
        #expect(flippedChecks.first { $0.name == "rdbChecksum" }?.passed == false)
        var flippedTrailer = good
        flippedTrailer[good.count - 3] ^= 0x80
        #expect(try await checks(flippedTrailer).first { $0.name == "rdbChecksum" }?.passed == false)

        let truncated = try await checks(Array(good.prefix(good.count - 20)))
        #expect(truncated.contains { !$0.passed })
        let foreign = try await checks(Array("PGDMP this is not redis at all, definitely".utf8))
        #expect(foreign.first?.name == "format" && foreign.first?.passed == false)
        #expect(try await checks([]).first?.passed == false)
        var badVersion = good
        badVersion[6] = UInt8(ascii: "x")
        #expect(try await checks(badVersion).first { $0.name == "format" }?.passed == false)
    }

    @Test("a wrong password is AuthenticationFailed without the secret; a closed port is SourceUnreachable")
    func badCredentials() async throws {
        let redis = try TestServices.redis()
        let work = try TestServices.temporaryDirectory("redis-auth")
        defer { try? FileManager.default.removeItem(at: work) }
        let wrong = "not-the-password-\(UUID().uuidString.prefix(6))"
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let source = RedisSource(spec: RedisSourceSpec(host: "127.0.0.1", port: redis.port, passwordFile: try writeSecretFile(wrong, in: work)))
        let error = await #expect(throws: AgentError.self) { _ = try await source.prepare(context) }
        #expect(error?.reason == .authenticationFailed)
        #expect(error?.message.contains(wrong) == false)

        let closed = RedisSource(spec: RedisSourceSpec(host: "127.0.0.1", port: try freeTCPPort()))
        let unreachable = await #expect(throws: AgentError.self) { _ = try await closed.prepare(context) }
        #expect(unreachable?.reason == .sourceUnreachable)
    }

    @Test("restore refuses a missing data directory and a non-RDB artifact before writing")
    func restoreRefusals() async throws {
        let work = try TestServices.temporaryDirectory("redis-refuse")
        defer { try? FileManager.default.removeItem(at: work) }
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let manifest = ArtifactManifest(id: ArtifactID.generate(at: Date()), policy: "p", key: "p/x.rdb", format: "redis-rdb",
                                        fileExtension: "rdb", createdAt: Date(), completedAt: Date(), sizeBytes: 10, sha256: "00",
                                        source: SourceIdentity(kind: "redis"))
        let missing = try RedisRestoreTarget(spec: RedisTargetSpec(dataDirectory: work.appendingPathComponent("nope").path))
        let error = await #expect(throws: AgentError.self) { try await missing.preflight(manifest: manifest, context: context) }
        #expect(error?.reason == .targetMissing)
        var pg = manifest
        pg.format = "pg_dump-custom"
        let target = try RedisRestoreTarget(spec: RedisTargetSpec(dataDirectory: work.path))
        let wrongFormat = await #expect(throws: AgentError.self) { try await target.preflight(manifest: pg, context: context) }
        #expect(wrongFormat?.reason == .specInvalid)
        #expect(throws: AgentError.self) { _ = try RedisRestoreTarget(spec: RedisTargetSpec(dataDirectory: work.path, fileName: "../x.rdb")) }
    }
}
