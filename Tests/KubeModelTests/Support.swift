import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import YAML

enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    static func files(in relative: String, ext: String = "yaml") -> [URL] {
        let dir = url(relative)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { dir.appendingPathComponent($0) }
    }
    static func text(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }
    /// Set BACKSTOP_REGENERATE=1 to rewrite generated files instead of failing on drift.
    static var regenerate: Bool { ProcessInfo.processInfo.environment["BACKSTOP_REGENERATE"] == "1" }
}

/// Validates every Backstop document of a stream, resolving policies defined in it.
func validateStream(_ text: String) throws -> [ValidationIssue] {
    let docs = try YAML.parse(text).filter(BackstopValidator.isBackstopDocument)
    var context = ValidationContext()
    for d in docs where d["kind"]?.stringValue == "BackupPolicy" {
        if let p = try? d.decode(BackupPolicy.self) { context.add(p) }
    }
    let validator = BackstopValidator(context: context)
    return docs.flatMap { validator.validate(document: $0) }
}
