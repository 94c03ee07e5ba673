import ArgumentParser
import BackstopCore
import DynamicJSON
import Foundation

/// `backstop validate -f <file|dir>`: offline lint of Backstop manifests (schema and semantic).
/// The work is `ManifestValidation` in BackstopCore; this only parses flags and prints.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check Backstop manifests offline: schema (as the API server would) and semantics.",
        discussion: """
            Walks YAML files (.yaml/.yml, recursively for directories), reads every document, ignores \
            non-Backstop documents and prints `file:line:col Kind/name field: message` per problem, then a \
            summary, all on standard output. Empty files are skipped with a warning; binary files, invalid YAML and YAML bombs are \
            errors. Exit status: 0 clean, 1 problems found, 2 usage or I/O error.
            """)

    @Option(name: [.short, .customLong("filename")], help: "A file or directory; repeatable.")
    var files: [String] = []

    @Option(name: [.short, .long], help: "Output format: text or json.")
    var output: String = "text"

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file or directory with -f") }
        guard output == "text" || output == "json" else { throw ValidationError("-o must be text or json") }
        let paths: [String]
        do {
            paths = try ManifestValidation.expand(files)
        } catch {
            FileHandle.standardError.write(Data("backstop validate: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let report = ManifestValidation.validate(files: paths)
        if output == "json" {
            print(report.json.jsonString(sortedKeys: true, pretty: true))
        } else {
            FileHandle.standardOutput.write(Data(report.text.utf8))
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
