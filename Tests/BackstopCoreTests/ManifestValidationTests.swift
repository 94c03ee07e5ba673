import BackstopCore
import DynamicJSON
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `backstop validate`'s engine on real files: hostile and broken inputs become findings within
/// bounded time, multi-document files are checked per document, and the exit code and summary
/// say what happened.
@Suite("ManifestValidation")
struct ManifestValidationTests {
    static let policy = """
        apiVersion: backstop.dev/v1alpha1
        kind: BackupPolicy
        metadata:
          name: pg
          namespace: demo
        spec:
          schedule: "0 2 * * *"
          source:
            postgres: {host: postgres, database: app, user: app}
          destination:
            volume: {claimName: backups}
          retention:
            keepDaily: 7

        """

    /// A temporary directory removed when the test ends.
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("backstop-validate-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }

        @discardableResult
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let file = url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: file)
            return file.path
        }

        @discardableResult
        func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }
    }

    @Test func cleanFileExitsZero() throws {
        let dir = try Scratch()
        let report = ManifestValidation.validate(files: [try dir.write("pg.yaml", Self.policy)])
        #expect(report.findings.isEmpty, "\(report.findings.map(\.text))")
        #expect(report.exitCode == 0)
        #expect(report.summary.files == 1 && report.summary.documents == 1 && report.summary.valid == 1 && report.summary.invalid == 0)
    }

    @Test func binaryFileIsAnErrorNotACrash() throws {
        let dir = try Scratch()
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<65_536 { bytes.append(rng.next()) }
        let file = try dir.write("logo.yaml", bytes)
        let report = ManifestValidation.validate(files: [file])
        #expect(report.findings.count == 1)
        #expect(report.findings.first?.reason == "NotText")
        #expect(report.findings.first?.text == "\(file):1:1: not UTF-8 text (a binary file?): not a manifest; skipped")
        #expect(report.exitCode == 1)
        #expect(report.summary.documents == 0)
    }

    @Test(arguments: ["", "\n\n  \n", "---\n", "# only a comment\n"])
    func emptyFileIsSkippedWithAWarning(_ text: String) throws {
        let dir = try Scratch()
        let report = ManifestValidation.validate(files: [try dir.write("empty.yaml", text)])
        #expect(report.exitCode == 0)
        #expect(report.summary.documents == 0 && report.summary.errors == 0)
        // Whitespace-only files are named as empty; a lone separator or comment simply has no documents.
        if text.allSatisfy(\.isWhitespace) {
            #expect(report.findings.map(\.message) == ["empty file; skipped"])
            #expect(report.findings.first?.severity == .warning)
        } else {
            #expect(report.findings.isEmpty)
        }
    }

    @Test func billionLaughsFailsFastWithinBoundedTime() throws {
        let dir = try Scratch()
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
            previous = name
        }
        let file = try dir.write("bomb.yaml", Self.policy + "---\n" + text)
        let clock = ContinuousClock()
        let start = clock.now
        let report = ManifestValidation.validate(files: [file])
        #expect(clock.now - start < .seconds(5), "alias expansion must be bounded")
        #expect(report.findings.count == 1)
        let finding = try #require(report.findings.first)
        #expect(finding.reason == "YAMLLimit")
        #expect(finding.message.contains("alias bomb"), "\(finding.message)")
        #expect(finding.line > 14, "points into the bomb document, not the policy: \(finding.text)")
        #expect(report.exitCode == 1)
    }

    @Test func deepNestingIsALimitFinding() throws {
        let dir = try Scratch()
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "\n"
        let report = ManifestValidation.validate(files: [try dir.write("deep.yaml", text)])
        #expect(report.findings.map(\.reason) == ["YAMLLimit"])
        #expect(report.findings.first?.message.contains("nesting deeper than 64 levels") == true)
        #expect(report.exitCode == 1)
    }

    @Test func syntaxErrorNamesItsLine() throws {
        let dir = try Scratch()
        let file = try dir.write("broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b\n")
        let report = ManifestValidation.validate(files: [file])
        let finding = try #require(report.findings.first)
        #expect(finding.reason == "YAMLError")
        #expect(finding.line >= 5, "\(finding.text)")
        #expect(finding.message.hasPrefix("not valid YAML: "))
        #expect(report.exitCode == 1)
    }

    @Test func severalDocumentsSomeInvalidNonBackstopSkipped() throws {
        let dir = try Scratch()
        let configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
        let badSchedule = Self.policy.replacingOccurrences(of: "name: pg", with: "name: pg-bad")
            .replacingOccurrences(of: "\"0 2 * * *\"", with: "every night")
        let unknownKind = "apiVersion: backstop.dev/v1alpha1\nkind: BackupSchedule\nmetadata:\n  name: x\n"
        let text = [Self.policy, configMap, badSchedule, unknownKind].joined(separator: "---\n")
        let file = try dir.write("mixed.yaml", text)
        let report = ManifestValidation.validate(files: [file])
        #expect(report.summary.documents == 4)
        #expect(report.summary.valid == 1)
        #expect(report.summary.invalid == 2, "the bad schedule and the unknown Backstop kind")
        #expect(report.summary.skipped == 1, "the ConfigMap is not ours")
        #expect(report.exitCode == 1)
        let schedule = try #require(report.findings.first { $0.object == "BackupPolicy/pg-bad" })
        #expect(schedule.field == "spec.schedule")
        // The policy has 13 lines, the ConfigMap 6, plus two separators; `schedule:` is line 7 of document 3.
        #expect(schedule.line == 13 + 1 + 6 + 1 + 7, "\(schedule.text)")
        #expect(schedule.column == 3)
        #expect(schedule.text.hasPrefix("\(file):\(schedule.line):3 BackupPolicy/pg-bad spec.schedule: "))
        let kind = try #require(report.findings.first { $0.object == "BackupSchedule/x" })
        #expect(kind.field == "kind" && kind.message.contains("supported kinds: BackupPolicy"))
        #expect(!report.findings.contains { $0.object.hasPrefix("ConfigMap") })
    }

    @Test func directoriesAreWalkedForYAMLOnlyAndMissingPathsThrow() throws {
        let dir = try Scratch()
        try dir.write("a/pg.yaml", Self.policy)
        try dir.write("a/b/other.yml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n")
        try dir.write("a/README.md", "# not yaml: {{{")
        try dir.write("a/empty.yaml", "")
        let files = try ManifestValidation.expand([dir.url.path])
        #expect(files == ["a/b/other.yml", "a/empty.yaml", "a/pg.yaml"].map { (dir.url.path as NSString).appendingPathComponent($0) })
        let report = ManifestValidation.validate(files: files)
        #expect(report.summary.files == 3 && report.summary.documents == 2 && report.summary.valid == 1 && report.summary.skipped == 1)
        #expect(report.summary.warnings == 1 && report.exitCode == 0)
        let missing = #expect(throws: ManifestInputError.self) { try ManifestValidation.expand([dir.url.path + "/nope.yaml"]) }
        #expect(missing?.description.hasSuffix("nope.yaml: no such file or directory") == true)
    }

    @Test func unreadableInputIsAnIOErrorWithExitTwo() throws {
        let dir = try Scratch()
        // A FIFO would block a naive read forever; it is reported instead.
        let fifo = dir.url.appendingPathComponent("pipe.yaml").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let good = try dir.write("pg.yaml", Self.policy)
        let report = ManifestValidation.validate(files: [fifo, good])
        #expect(report.findings.map(\.reason) == ["IOError"])
        #expect(report.findings.first?.message == "not a regular file; skipped")
        #expect(report.summary.valid == 1)
        #expect(report.exitCode == 2)
        #expect(try ManifestValidation.expand([dir.url.path]) == [good], "directory walks skip FIFOs")
    }

    @Test func jsonEndsWithTheSummary() throws {
        let dir = try Scratch()
        let bad = Self.policy.replacingOccurrences(of: "keepDaily: 7", with: "keepDaily: -1")
        let report = ManifestValidation.validate(files: [try dir.write("p.yaml", Self.policy + "---\n" + bad)])
        let text = report.json.jsonString(sortedKeys: true, pretty: true)
        #expect(text.range(of: "\"findings\"")!.lowerBound < text.range(of: "\"summary\"")!.lowerBound)
        let parsed = try JSONValue(parsing: text)
        #expect(parsed["summary"] == ["files": 1, "documents": 2, "valid": 1, "invalid": 1, "skipped": 0, "errors": 1, "warnings": 0])
        #expect(parsed["findings"]?[0]?["field"] == "spec.retention.keepDaily")
        #expect(parsed["findings"]?[0]?["severity"] == "error")
        #expect(report.summary.text == "1 file(s), 2 document(s): 1 valid, 1 invalid, 0 skipped (not Backstop); 1 error(s), 0 warning(s)")
    }

    @Test func inMemoryValidationMatchesFiles() {
        let report = ManifestValidation.validate(bytes: Array(Self.policy.utf8), name: "<stdin>")
        #expect(report.findings.isEmpty && report.summary.valid == 1 && report.exitCode == 0)
    }
}
