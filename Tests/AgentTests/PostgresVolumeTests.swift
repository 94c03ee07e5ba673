import Agent
import BackstopCore
import DynamicJSON
import Foundation
import Testing
import TestSupport

@Suite("PostgreSQL backup, verify and restore through a volume store")
struct PostgresVolumeTests {
    func volumeSpec(_ h: AgentHarness) throws -> JSONValue {
        let store = h.dir.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        return ["volume": ["path": .string(store.path), "prefix": "agentfs/pg"]]
    }

    @Test("seed schema: backup, verify, restore into a new database that passes seed 001's integrity queries")
    func roundTrip() async throws {
        let h = try AgentHarness("pg-volume")
        let source = uniqueDB("agentfs"), scratch = uniqueDB("agentfs_dr_test")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source); await h.dropDatabase(scratch) } }
        let store = try volumeSpec(h)

        let backup = try await h.run("backup", ["policy": "agentfs-postgres", "destination": store, "source": h.sourceSpec(source),
                                                 "job": ["name": "agentfs-postgres-1", "namespace": "agentfs"], "verify": ["minSizeBytes": 1024]])
        #expect(backup.exitCode == 0, "\(backup.stdout)")
        #expect(backup.result["flagged"] == false)
        let expected = try await h.rowCounts(source)
        #expect(backup.result["rowCounts"] == (try JSONValue.encode(expected)))
        let key = try #require(backup.result["artifact"]?["key"]?.stringValue)
        #expect(key.hasPrefix("agentfs/pg/agentfs-postgres/") && key.hasSuffix(".dump"))
        // Artifact and manifest on disk, no partial files left.
        let root = store["volume"]!["path"]!.stringValue!
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(root)/agentfs/pg/agentfs-postgres").sorted()
        #expect(files.count == 2 && files[1].hasSuffix(".dump.manifest.json"))
        let manifest = try ArtifactManifest.decode(Array(FileManager.default.contents(atPath: "\(root)/\(key).manifest.json")!))
        #expect(manifest.rowCountsConsistency == "snapshot" && manifest.job?.name == "agentfs-postgres-1" && manifest.verified)
        #expect(manifest.tools["pg_dump"] != nil && manifest.source.attributes["database"] == .some(source))
        // The termination message is the same result, within 4 KiB.
        #expect(h.terminationLog(backup).count <= 4096)
        #expect(try JSONValue(parsing: backup.terminationLog)["artifact"]?["sha256"] == backup.result["artifact"]?["sha256"])

        let verify = try await h.run("verify", ["policy": "agentfs-postgres", "store": store, "artifact": "latest"])
        #expect(verify.exitCode == 0, "\(verify.stdout)")
        #expect(verify.result["verification"]?["passed"] == true)

        let restore = try await h.run("restore", [
            "policy": "agentfs-postgres", "store": store, "backup": "latest-verified", "mode": "create",
            "target": ["postgres": .object(h.pgFields(scratch))],
            "verify": ["rowCounts": true, "sql": AgentHarness.seedChecks],
        ])
        #expect(restore.exitCode == 0, "\(restore.stdout)")
        #expect(restore.result["verification"]?["passed"] == true)
        #expect(try await h.rowCounts(scratch) == expected)

        // mode create refuses an existing database, and says so before touching it.
        let again = try await h.run("restore", ["policy": "agentfs-postgres", "store": store, "mode": "create",
                                                "target": ["postgres": .object(h.pgFields(scratch))]])
        #expect(again.exitCode == 4 && again.reason == "TargetExists")
        // mode clean restores over it (pg_restore --clean --if-exists) after a change.
        let db = try await h.connect(scratch)
        try await db.execute("DELETE FROM api_keys")
        await db.close()
        let clean = try await h.run("restore", ["policy": "agentfs-postgres", "store": store, "mode": "clean",
                                                "target": ["postgres": .object(h.pgFields(scratch))], "verify": ["rowCounts": true]])
        #expect(clean.exitCode == 0, "\(clean.stdout)")
        #expect(try await h.rowCounts(scratch) == expected)
    }

    @Test("one flipped byte: verify fails and restore refuses before creating the target", arguments: ["flip", "truncate"])
    func corruption(kind: String) async throws {
        let h = try AgentHarness("pg-corrupt")
        let source = uniqueDB("corrupt_src"), scratch = uniqueDB("corrupt_dst")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source); await h.dropDatabase(scratch) } }
        let store = try volumeSpec(h)
        let backup = try await h.run("backup", ["policy": "p", "destination": store, "source": h.sourceSpec(source)])
        try #require(backup.exitCode == 0, "\(backup.stdout)")
        let file = store["volume"]!["path"]!.stringValue! + "/" + backup.result["artifact"]!["key"]!.stringValue!
        var bytes = Array(FileManager.default.contents(atPath: file)!)
        if kind == "flip" { bytes[bytes.count / 2] ^= 0x01 } else { bytes.removeLast(bytes.count / 3) }
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        let verify = try await h.run("verify", ["policy": "p", "store": store])
        #expect(verify.exitCode == 5)
        #expect(verify.reason == (kind == "flip" ? "ChecksumMismatch" : "SizeMismatch"))
        let restore = try await h.run("restore", ["policy": "p", "store": store, "mode": "create",
                                                  "target": ["postgres": .object(h.pgFields(scratch))]])
        #expect(restore.exitCode == 5)
        #expect(restore.result["message"]?.stringValue?.contains("target was not touched") == true)
        #expect(try await !h.databaseExists(scratch))
    }

    @Test("tables and excludeTables select what pg_dump writes; a tables pattern that matches nothing fails the backup")
    func tableSelection() async throws {
        let h = try AgentHarness("pg-tables")
        let source = uniqueDB("tables")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source) } }
        let store = try volumeSpec(h)
        let root = store["volume"]!["path"]!.stringValue!
        /// The tables whose data the artifact holds (`pg_restore -l`).
        func dumpedTables(_ run: AgentHarness.Run) throws -> Set<String> {
            let key = try #require(run.result["artifact"]?["key"]?.stringValue)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "\(try TestServices.postgres().bindir)/pg_restore")
            p.arguments = ["-l", "\(root)/\(key)"]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            // e.g. "3425; 0 16391 TABLE DATA public entries postgres"
            return Set(text.split(separator: "\n").filter { $0.contains(" TABLE DATA ") }.compactMap { $0.split(separator: " ").dropLast().last.map(String.init) })
        }
        var only = h.sourceSpec(source)
        only["postgres"]?["tables"] = ["tenants", "entries"]
        let selected = try await h.run("backup", ["policy": "only", "destination": store, "source": only])
        #expect(selected.exitCode == 0, "\(selected.stdout)")
        #expect(try dumpedTables(selected) == ["tenants", "entries"])

        var without = h.sourceSpec(source)
        without["postgres"]?["excludeTables"] = ["api_keys"]
        let excluded = try await h.run("backup", ["policy": "without", "destination": store, "source": without])
        #expect(excluded.exitCode == 0, "\(excluded.stdout)")
        let rest = try dumpedTables(excluded)
        #expect(!rest.contains("api_keys") && rest.isSuperset(of: ["tenants", "entries", "agent_audit_log"]), "\(rest)")

        var typo = h.sourceSpec(source)
        typo["postgres"]?["tables"] = ["entries", "entires"]
        let failed = try await h.run("backup", ["policy": "typo", "destination": store, "source": typo])
        #expect(failed.exitCode != 0 && failed.reason == "ToolFailed", "\(failed.stdout)")
        #expect(failed.stdout.contains("entires"), "the message names the pattern: \(failed.stdout)")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/agentfs/pg/typo")) ?? []
        #expect(left.isEmpty, "nothing left in the store: \(left)")
    }

    @Test("prune keeps an artifact a running restore or drill uses, whatever the rules say")
    func pruneKeepsWhatIsInUse() async throws {
        let h = try AgentHarness("pg-inuse")
        let source = uniqueDB("inuse")
        try await h.createSeedDatabase(source)
        defer { Task { await h.dropDatabase(source) } }
        let store = try volumeSpec(h)
        var ids: [String] = []
        for n in 0..<2 {
            // Artifact times have whole seconds: the second backup must be the newer one.
            if n > 0 { try await Task.sleep(for: .milliseconds(1_100)) }
            let backup = try await h.run("backup", ["policy": "inuse", "destination": store, "source": h.sourceSpec(source)])
            #expect(backup.exitCode == 0, "\(backup.stdout)")
            ids.append(try #require(backup.result["artifact"]?["id"]?.stringValue))
        }
        let kept = try await h.run("prune", ["policy": "inuse", "store": store, "retention": ["keepLast": 1], "inUse": [.string(ids[0])]])
        #expect(kept.exitCode == 0 && kept.result["deleted"] == 0, "\(kept.stdout)")
        #expect(h.lines.lines.contains { $0.contains("keeping \(ids[0]): a running restore or drill uses it") })
        let pruned = try await h.run("prune", ["policy": "inuse", "store": store, "retention": ["keepLast": 1]])
        #expect(pruned.exitCode == 0 && pruned.result["deleted"] == 1, "\(pruned.stdout)")
    }

    @Test("a missing audit trigger flags the backup (it still succeeds)")
    func guardFlags() async throws {
        let h = try AgentHarness("pg-guard")
        let source = uniqueDB("noguard")
        try await h.createSeedDatabase(source, withGuard: false)
        defer { Task { await h.dropDatabase(source) } }
        let backup = try await h.run("backup", ["policy": "p", "destination": try volumeSpec(h), "source": h.sourceSpec(source)])
        #expect(backup.exitCode == 0, "\(backup.stdout)")
        #expect(backup.result["flagged"] == true)
        #expect(backup.result["guards"]?[0]?["message"] == "missing")
        #expect(h.lines.lines.contains { $0.contains("GUARD FAILED") })
    }

    @Test("bad input: clear reason, non-zero exit, no secret in any output, nothing left in the store")
    func badInput() async throws {
        let h = try AgentHarness("pg-bad")
        let source = uniqueDB("bad_src"), empty = uniqueDB("bad_empty")
        try await h.createSeedDatabase(source)
        try await h.createDatabase(empty)
        defer { Task { await h.dropDatabase(source); await h.dropDatabase(empty) } }
        let store = try volumeSpec(h)
        let wrongPassword = "not-the-password-\(UUID().uuidString.prefix(6))"
        let wrongFile = try h.write("wrong-password", wrongPassword)

        let auth = try await h.run("backup", ["policy": "p", "destination": store, "source": h.sourceSpec(source, passwordFile: wrongFile)])
        #expect(auth.exitCode == 3 && auth.reason == "AuthenticationFailed", "\(auth.stdout)")
        #expect(!auth.stdout.contains(wrongPassword) && !h.lines.lines.joined().contains(wrongPassword))

        var missing = h.sourceSpec(source)
        missing["postgres"]?["rowCounts"] = ["entries", "no_such_table"]
        let table = try await h.run("backup", ["policy": "p", "destination": store, "source": missing])
        #expect(table.exitCode == 4 && table.reason == "TableMissing")

        let none = try await h.run("backup", ["policy": "p", "destination": store, "source": ["postgres": .object(h.pgFields(empty))]])
        #expect(none.exitCode == 4 && none.reason == "SourceEmpty")

        var unreachable = h.pgFields(source)
        unreachable["port"] = 1
        let down = try await h.run("backup", ["policy": "p", "destination": store, "source": ["postgres": .object(unreachable)]])
        #expect(down.exitCode == 3 && down.reason == "SourceUnreachable")

        let badSpec = try await h.run("backup", ["policy": "p", "destination": store])
        #expect(badSpec.exitCode == 2 && badSpec.reason == "SpecInvalid")

        let empty2 = try await h.run("restore", ["policy": "p", "store": store, "target": ["postgres": .object(h.pgFields(source))]])
        #expect(empty2.exitCode == 4 && empty2.reason == "ArtifactNotFound")

        let listed = try FileManager.default.subpathsOfDirectory(atPath: store["volume"]!["path"]!.stringValue!).filter { !$0.hasSuffix("/") }
        #expect(listed.allSatisfy { !$0.contains(".dump") }, "\(listed)")
    }
}

extension AgentHarness {
    func terminationLog(_ run: Run) -> [UInt8] { run.terminationLog }
}
