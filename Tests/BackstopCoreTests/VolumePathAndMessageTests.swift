@testable import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import Testing

/// Found when `backstop validate` was tried as a new user would: `/` names the whole claim,
/// messages are not cut inside a code span, and the text report is whole lines on one stream.
@Suite("VolumePathAndMessage")
struct VolumePathAndMessageTests {
    static func policy(volumePath: String) -> JSONValue {
        [
            "apiVersion": "backstop.dev/v1alpha1", "kind": "BackupPolicy",
            "metadata": ["name": "files", "namespace": "demo"],
            "spec": [
                "schedule": "0 2 * * *",
                "source": ["volume": ["claimName": "n8n-data", "path": .string(volumePath)]],
                "destination": ["volume": ["claimName": "backups"]],
            ],
        ]
    }

    /// (path, accepted): leading slashes mean the claim's root; `..` stays refused.
    @Test(arguments: [("/", true), ("", true), ("data", true), ("/data/files", true), ("data/", true),
                      ("../etc", false), ("/data/../../etc", false), ("a/..", false)])
    func sourceVolumePath(_ path: String, _ accepted: Bool) {
        let issues = BackstopValidator().validate(document: Self.policy(volumePath: path)).filter { $0.severity == .error }
        #expect(issues.isEmpty == accepted, "\(path): \(issues.map(\.description))")
        if !accepted {
            #expect(issues.map(\.description).contains { $0.contains("`..` is not allowed") })
        }
    }

    /// (description, first sentence as quoted in messages).
    @Test(arguments: [
        ("Path inside the volume, relative (no leading `/`), without `..`.", "path inside the volume, relative (no leading `/`), without `..`"),
        ("Key prefix. More text.", "key prefix"),
        ("Host name such as `db.example.com` or an IP. Port separate.", "host name such as `db.example.com` or an IP"),
        ("Version 1.2 of the format. Ignored.", "version 1.2 of the format"),
        ("No period at all", "no period at all"),
    ])
    func firstSentence(_ description: String, _ expected: String) {
        #expect(SchemaValidator.firstSentence(description) == expected)
    }

    @Test func textReportIsWholeLinesEndingWithTheSummary() {
        var report = ManifestReport()
        report.add(ManifestFinding(file: "a.yaml", line: 3, column: 5, object: "BackupPolicy/x", field: "spec.schedule",
                                   severity: .error, reason: "Invalid", message: "bad schedule"))
        report.add(ManifestFinding(file: "b.yaml", line: 1, column: 1, severity: .warning, reason: "Empty", message: "empty file"))
        let lines = report.text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(report.text.hasSuffix("\n"))
        #expect(lines.count == 4)  // two findings, the summary, and the empty string after the final newline
        #expect(lines[0] == "a.yaml:3:5 BackupPolicy/x spec.schedule: bad schedule")
        #expect(lines[1] == "b.yaml:1:1: warning: empty file")
        #expect(lines[2] == Substring(report.summary.text))
        #expect(report.summary.errors == 1 && report.summary.warnings == 1)
    }
}
