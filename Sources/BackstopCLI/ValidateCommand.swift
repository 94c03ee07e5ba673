import ArgumentParser
import BackstopCore
import DynamicJSON
import Foundation
import KubeModel
import YAML

/// `backstop validate -f <file|dir>`: offline lint of Backstop manifests (schema and semantic).
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check Backstop manifests offline: schema (as the API server would) and semantics.",
        discussion: """
            Walks YAML files (.yaml/.yml, recursively for directories), reads every document, ignores \
            non-Backstop documents and prints `file:line:col Kind/name field: message` per problem. \
            Exit status: 0 clean, 1 problems found, 2 usage or I/O error.
            """)

    @Option(name: [.short, .customLong("filename")], help: "A file or directory; repeatable.")
    var files: [String] = []

    @Option(name: [.short, .long], help: "Output format: text or json.")
    var output: String = "text"

    static let maxFileBytes = 8 << 20

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file or directory with -f") }
        guard output == "text" || output == "json" else { throw ValidationError("-o must be text or json") }
        var report = LintReport()
        var paths: [String] = []
        for f in files {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: f, isDirectory: &isDir) else {
                FileHandle.standardError.write(Data("backstop validate: \(f): no such file or directory\n".utf8))
                throw ExitCode(2)
            }
            paths += isDir.boolValue ? Self.yamlFiles(under: f) : [f]
        }
        let documents = paths.flatMap { report.load($0) }
        report.check(documents)
        if output == "json" {
            print(JSONValue.array(report.findings.map(\.json)).jsonString(sortedKeys: true, pretty: true))
        } else {
            for f in report.findings { print(f.text) }
            let errors = report.findings.filter { $0.severity == "error" }.count
            FileHandle.standardError.write(Data("\(paths.count) file(s), \(report.objects) Backstop object(s), \(errors) error(s), \(report.findings.count - errors) warning(s)\n".utf8))
        }
        if report.findings.contains(where: { $0.severity == "error" }) { throw ExitCode(1) }
    }

    static func yamlFiles(under dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            if rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") { out.append((dir as NSString).appendingPathComponent(rel)) }
        }
        return out.sorted()
    }
}

struct Finding {
    var file: String
    var line: Int
    var column: Int
    var object: String
    var field: String
    var severity: String
    var reason: String
    var message: String

    var text: String {
        let where_ = "\(file):\(line):\(column)"
        let obj = object.isEmpty ? "" : " \(object)"
        let fld = field.isEmpty ? "" : " \(field)"
        return "\(where_)\(obj)\(fld): \(severity == "warning" ? "warning: " : "")\(message)"
    }

    var json: JSONValue {
        ["file": .string(file), "line": .int(Int64(line)), "column": .int(Int64(column)), "object": .string(object),
         "field": .string(field), "severity": .string(severity), "reason": .string(reason), "message": .string(message)]
    }
}

struct LoadedDocument {
    var file: String
    var document: YAMLDocument
}

struct LintReport {
    var findings: [Finding] = []
    var objects = 0

    /// Reads one file; problems with the file itself become findings, never crashes.
    mutating func load(_ path: String) -> [LoadedDocument] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            findings.append(Finding(file: path, line: 0, column: 0, object: "", field: "", severity: "error",
                                    reason: "IOError", message: "cannot read the file"))
            return []
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: ValidateCommand.maxFileBytes + 1)) ?? Data()
        if data.count > ValidateCommand.maxFileBytes {
            return skip(path, "larger than \(ValidateCommand.maxFileBytes >> 20) MiB; skipped")
        }
        let bytes = [UInt8](data)
        if bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { return skip(path, "empty file; skipped") }
        if bytes.contains(0) || String(validating: bytes, as: UTF8.self) == nil {
            return skip(path, "not UTF-8 text (binary?); skipped")
        }
        do {
            let docs = try YAML.parseDocuments(bytes, limits: YAMLLimits(maxDepth: 64, maxNodes: 100_000))
            return docs.map { LoadedDocument(file: path, document: $0) }
        } catch let error as YAMLError {
            findings.append(Finding(file: path, line: error.position?.line ?? 0, column: error.position?.column ?? 0,
                                    object: "", field: "", severity: "error", reason: "YAMLError",
                                    message: "not valid YAML (\(error.message)); file skipped"))
        } catch {
            findings.append(Finding(file: path, line: 0, column: 0, object: "", field: "", severity: "error",
                                    reason: "YAMLError", message: "not valid YAML; file skipped"))
        }
        return []
    }

    mutating func skip(_ path: String, _ message: String) -> [LoadedDocument] {
        findings.append(Finding(file: path, line: 1, column: 1, object: "", field: "", severity: "warning",
                                reason: "Skipped", message: message))
        return []
    }

    mutating func check(_ documents: [LoadedDocument]) {
        let backstop = documents.filter { BackstopValidator.isBackstopDocument($0.document.value) }
        objects = backstop.count
        var context = ValidationContext()
        for d in backstop where d.document.value["kind"]?.stringValue == "BackupPolicy" {
            if let p = try? d.document.value.decode(BackupPolicy.self) { context.add(p) }
        }
        let validator = BackstopValidator(context: context)
        for d in backstop {
            let value = d.document.value
            let object = "\(value["kind"]?.stringValue ?? "?")/\(value["metadata"]?["name"]?.stringValue ?? "?")"
            for issue in validator.validate(document: value) {
                let path = issue.path.components.map { c -> YAMLPathComponent in
                    switch c {
                    case .key(let k): .key(k)
                    case .index(let i): .index(i)
                    }
                }
                let pos = d.document.keyPosition(of: path) ?? d.document.nearestPosition(of: path)
                findings.append(Finding(file: d.file, line: pos.line, column: pos.column, object: object,
                                        field: issue.path.description, severity: issue.severity.rawValue,
                                        reason: issue.reason, message: issue.message))
            }
        }
    }
}
