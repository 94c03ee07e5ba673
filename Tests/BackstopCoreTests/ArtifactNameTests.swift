import BackstopCore
import CivilCalendar
import Foundation
import Testing

@Suite("Artifact names and manifests")
struct ArtifactNameTests {
    @Test("ids format, parse and sort by time")
    func ids() throws {
        let time = UTCTimestamp.parseRFC3339("2026-01-28T02:00:07Z")!
        let id = try ArtifactID(time: time, shortID: "3f9a0c1e")
        #expect(id.description == "20260128T020007Z-3f9a0c1e")
        #expect(try ArtifactID(parsing: id.description) == id)
        let later = try ArtifactID(time: time.addingTimeInterval(1), shortID: "00000000")
        #expect(id < later)
        var rng = SplitMix(seed: 1)
        #expect(ArtifactID.generate(at: time, using: &rng).shortID.count == 8)
    }

    @Test("malformed ids are refused", arguments: ["", "20260128T020007Z", "20260230T020007Z-abcd", "20260128T020007Z-AB_CD",
                                                   "2026-01-28T02:00:07Z-abcd", "20260128T250007Z-abcd"])
    func badIDs(text: String) {
        #expect(throws: ArtifactNameError.self) { try ArtifactID(parsing: text) }
    }

    @Test("layout keys and parsing")
    func layout() throws {
        let layout = try ArtifactLayout(prefix: "/agentfs/pg/", policy: "agentfs-postgres")
        let id = try ArtifactID(parsing: "20260128T020000Z-abcd1234")
        #expect(layout.artifactKey(id, fileExtension: "dump") == "agentfs/pg/agentfs-postgres/20260128T020000Z-abcd1234.dump")
        #expect(layout.manifestKey(id, fileExtension: "tar.gz") == "agentfs/pg/agentfs-postgres/20260128T020000Z-abcd1234.tar.gz.manifest.json")
        let parsed = try #require(layout.parse(key: "agentfs/pg/agentfs-postgres/20260128T020000Z-abcd1234.tar.gz.manifest.json"))
        #expect(parsed.id == id && parsed.fileExtension == "tar.gz" && parsed.isManifest)
        #expect(layout.parse(key: "agentfs/pg/agentfs-postgres/.20260128T020000Z-abcd1234.dump.partial-1") == nil)
        #expect(layout.parse(key: "agentfs/pg/other/20260128T020000Z-abcd1234.dump") == nil)
        #expect(throws: ArtifactNameError.self) { try ArtifactLayout(prefix: "a/../b", policy: "p") }
        #expect(throws: ArtifactNameError.self) { try ArtifactLayout(prefix: "", policy: "Bad_Name") }
        #expect(try ArtifactLayout(prefix: "", policy: "p1").directory == "p1/")
    }

    @Test("manifest round-trips through its canonical JSON, times as RFC 3339")
    func manifestJSON() throws {
        let created = UTCTimestamp.parseRFC3339("2026-01-28T02:00:00Z")!
        let manifest = ArtifactManifest(
            id: try ArtifactID(time: created, shortID: "abcd1234"), policy: "p", key: "p/20260128T020000Z-abcd1234.dump",
            format: "pg_dump-custom", fileExtension: "dump", createdAt: created, completedAt: created.addingTimeInterval(42),
            sizeBytes: 1234, sha256: String(repeating: "a", count: 64), source: SourceIdentity(kind: "postgres", attributes: ["database": "agentfs"]),
            tools: ["pg_dump": "15.18"], rowCounts: ["entries": 10], rowCountsConsistency: "snapshot",
            guards: [GuardResult(name: "trigger prevent_audit_mutation on agent_audit_log", passed: false, message: "missing")],
            verification: VerificationRecord(time: created, stage: "backup", checks: [CheckResult(name: "sha256", passed: true)]),
            job: JobReference(name: "backup-1", namespace: "agentfs"))
        #expect(manifest.flagged)
        #expect(manifest.durationSeconds == 42)
        let bytes = try manifest.encoded()
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"createdAt\" : \"2026-01-28T02:00:00Z\""))
        #expect(try ArtifactManifest.decode(bytes) == manifest)
    }

    @Test("selectors pick latest, latest-verified, by id and before a time")
    func selectors() throws {
        func manifest(_ time: String, verified: Bool) throws -> ArtifactManifest {
            let created = UTCTimestamp.parseRFC3339(time)!
            return ArtifactManifest(id: try ArtifactID(time: created, shortID: "abcd"), policy: "p", key: "k", format: "f", fileExtension: "x",
                                    createdAt: created, completedAt: created, sizeBytes: 1, sha256: "", source: SourceIdentity(kind: "k"),
                                    verification: VerificationRecord(time: created, stage: "verify", checks: [CheckResult(name: "sha256", passed: verified)]))
        }
        let all = [try manifest("2026-01-01T00:00:00Z", verified: true), try manifest("2026-01-03T00:00:00Z", verified: false),
                   try manifest("2026-01-02T00:00:00Z", verified: true)]
        #expect(ArtifactSelector.latest.select(from: all)?.id.description == "20260103T000000Z-abcd")
        #expect(ArtifactSelector.latestVerified.select(from: all)?.id.description == "20260102T000000Z-abcd")
        #expect(try ArtifactSelector(parsing: "20260101T000000Z-abcd").select(from: all)?.id == all[0].id)
        #expect(ArtifactSelector.before(UTCTimestamp.parseRFC3339("2026-01-02T00:00:00Z")!).select(from: all)?.id == all[0].id)
        #expect(ArtifactSelector.before(UTCTimestamp.parseRFC3339("2025-01-02T00:00:00Z")!).select(from: all) == nil)
    }

    @Test("civil dates and ISO weeks agree with known calendar facts", arguments: [
        ("2026-01-01", 2026, 1, 4), ("2021-01-03", 2020, 53, 7), ("2024-12-30", 2025, 1, 1), ("1970-01-01", 1970, 1, 4),
    ])
    func isoWeeks(day: String, weekYear: Int, week: Int, weekday: Int) {
        let date = UTCTimestamp.parseRFC3339("\(day)T12:00:00Z")!
        let n = Int(date.timeIntervalSince1970) / 86400
        #expect(CivilDate(dayNumber: n).description == day)
        #expect(CivilDate.isoWeek(dayNumber: n) == (weekYear, week))
        #expect(CivilDate.isoWeekday(dayNumber: n) == weekday)
    }
}
