import DynamicJSON
import Foundation
import KubeModel
import YAML

/// One problem `backstop validate` reports, at `file:line:col`.
public struct ManifestFinding: Sendable, Hashable {
    public var file: String
    public var line: Int
    public var column: Int
    /// `Kind/name`, empty for problems with the file itself.
    public var object: String
    /// Field path (`spec.schedule`), empty for problems with the file itself.
    public var field: String
    public var severity: IssueSeverity
    /// Machine-readable cause: a Kubernetes cause type, `IOError`, `YAMLError`, `YAMLLimit`, `NotText`, `Skipped`.
    public var reason: String
    public var message: String

    public init(file: String, line: Int, column: Int, object: String = "", field: String = "",
                severity: IssueSeverity, reason: String, message: String) {
        (self.file, self.line, self.column, self.object, self.field) = (file, line, column, object, field)
        (self.severity, self.reason, self.message) = (severity, reason, message)
    }

    /// `file:line:col Kind/name field: message`.
    public var text: String {
        let obj = object.isEmpty ? "" : " \(object)"
        let fld = field.isEmpty ? "" : " \(field)"
        return "\(file):\(line):\(column)\(obj)\(fld): \(severity == .warning ? "warning: " : "")\(message)"
    }

    public var json: JSONValue {
        ["file": .string(file), "line": .int(Int64(line)), "column": .int(Int64(column)), "object": .string(object),
         "field": .string(field), "severity": .string(severity.rawValue), "reason": .string(reason), "message": .string(message)]
    }
}

/// Counts for the closing summary of `backstop validate`.
public struct ManifestSummary: Sendable, Hashable {
    /// Files looked at (including the ones skipped as empty, binary or unreadable).
    public var files = 0
    /// Non-empty YAML documents read.
    public var documents = 0
    /// Backstop objects without errors (warnings allowed).
    public var valid = 0
    /// Backstop objects (`apiVersion: backstop.dev/...`) with at least one error.
    public var invalid = 0
    /// Documents that are not Backstop objects: ignored, as `kubectl apply` files mix kinds.
    public var skipped = 0
    public var errors = 0
    public var warnings = 0

    public init() {}

    public var text: String {
        "\(files) file(s), \(documents) document(s): \(valid) valid, \(invalid) invalid, \(skipped) skipped (not Backstop); "
            + "\(errors) error(s), \(warnings) warning(s)"
    }

    public var json: JSONValue {
        ["files": .int(Int64(files)), "documents": .int(Int64(documents)), "valid": .int(Int64(valid)),
         "invalid": .int(Int64(invalid)), "skipped": .int(Int64(skipped)), "errors": .int(Int64(errors)),
         "warnings": .int(Int64(warnings))]
    }
}

/// The outcome of validating a set of files.
public struct ManifestReport: Sendable {
    public var findings: [ManifestFinding] = []
    public var summary = ManifestSummary()

    public init() {}

    /// 0 clean (warnings allowed), 1 problems in manifests, 2 a file could not be read.
    public var exitCode: Int32 {
        if findings.contains(where: { $0.reason == "IOError" }) { return 2 }
        return findings.contains(where: { $0.severity == .error }) ? 1 : 0
    }

    /// The text report: one line per finding, then the summary line. Printed with one write to
    /// one stream, so a log that merges stdout and stderr (`2>&1`, CI) never splits a line.
    public var text: String {
        (findings.map(\.text) + [summary.text]).joined(separator: "\n") + "\n"
    }

    /// `{"findings": [...], "summary": {...}}`: with sorted keys the summary comes last.
    public var json: JSONValue { ["findings": .array(findings.map(\.json)), "summary": summary.json] }

    mutating func add(_ finding: ManifestFinding) {
        findings.append(finding)
        if finding.severity == .error { summary.errors += 1 } else { summary.warnings += 1 }
    }
}

/// Why `backstop validate` could not start: a named path does not exist (exit 2).
public struct ManifestInputError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var description: String { "\(path): no such file or directory" }
}

/// Offline lint of Backstop manifests: finds YAML files, reads every document within bounds
/// (size, nesting, alias expansion), validates Backstop objects (schema and semantics, with
/// BackupPolicies of the same run resolvable by references) and locates each problem.
/// Hostile or broken files become findings, never crashes.
public enum ManifestValidation {
    public static let maxFileBytes = 8 << 20
    /// Bounds for one document: deep nesting and alias bombs fail fast as `YAMLLimit` findings.
    public static let limits = YAMLLimits(maxDepth: 64, maxNodes: 100_000)

    /// Expands directories to their `.yaml`/`.yml` regular files (recursively, sorted); files
    /// named directly are kept whatever their extension. Throws for a path that does not exist.
    public static func expand(_ paths: [String]) throws(ManifestInputError) -> [String] {
        var out: [String] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ManifestInputError(path: path) }
            out += isDir.boolValue ? yamlFiles(under: path) : [path]
        }
        return out
    }

    static func yamlFiles(under dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            guard rel.hasSuffix(".yaml") || rel.hasSuffix(".yml") else { continue }
            // FIFOs, sockets and directories named *.yaml would block or fail a read: only regular files.
            guard (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular else { continue }
            out.append((dir as NSString).appendingPathComponent(rel))
        }
        return out.sorted()
    }

    /// Validates the files (already expanded) as one set.
    public static func validate(files: [String], now: Date = Date()) -> ManifestReport {
        var report = ManifestReport()
        var documents: [(file: String, document: YAMLDocument)] = []
        for file in files {
            report.summary.files += 1
            documents += load(file, into: &report).map { (file, $0) }
        }
        check(documents, now: now, into: &report)
        return report
    }

    /// Validates text given in memory (for callers that do not read files themselves).
    public static func validate(bytes: [UInt8], name: String, now: Date = Date()) -> ManifestReport {
        var report = ManifestReport()
        report.summary.files = 1
        let documents = parse(bytes, name: name, into: &report).map { (name, $0) }
        check(documents, now: now, into: &report)
        return report
    }

    static func load(_ path: String, into report: inout ManifestReport) -> [YAMLDocument] {
        func ioError(_ message: String) -> [YAMLDocument] {
            report.add(ManifestFinding(file: path, line: 0, column: 0, severity: .error, reason: "IOError", message: message))
            return []
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard (attributes?[.type] as? FileAttributeType) == .typeRegular else { return ioError("not a regular file; skipped") }
        guard let handle = FileHandle(forReadingAtPath: path) else { return ioError("cannot be opened for reading; skipped") }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: maxFileBytes + 1) ?? Data()
        } catch {
            return ioError("cannot be read (\(error.localizedDescription)); skipped")
        }
        guard data.count <= maxFileBytes else {
            report.add(ManifestFinding(file: path, line: 1, column: 1, severity: .error, reason: "TooLarge",
                                       message: "larger than \(maxFileBytes >> 20) MiB: not a manifest; skipped"))
            return []
        }
        return parse([UInt8](data), name: path, into: &report)
    }

    static func parse(_ bytes: [UInt8], name: String, into report: inout ManifestReport) -> [YAMLDocument] {
        if bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            report.add(ManifestFinding(file: name, line: 1, column: 1, severity: .warning, reason: "Skipped",
                                       message: "empty file; skipped"))
            return []
        }
        if bytes.contains(0) || String(validating: bytes, as: UTF8.self) == nil {
            // kubectl apply would fail on it too, so it is an error rather than a silent skip.
            report.add(ManifestFinding(file: name, line: 1, column: 1, severity: .error, reason: "NotText",
                                       message: "not UTF-8 text (a binary file?): not a manifest; skipped"))
            return []
        }
        do {
            return try YAML.parseDocuments(bytes, limits: limits).filter { !$0.value.isNull }
        } catch let error as YAMLError {
            let reason = error.kind == .limit ? "YAMLLimit" : "YAMLError"
            report.add(ManifestFinding(file: name, line: error.position?.line ?? 1, column: error.position?.column ?? 1,
                                       severity: .error, reason: reason, message: "not valid YAML: \(error.message); file skipped"))
        } catch {
            report.add(ManifestFinding(file: name, line: 1, column: 1, severity: .error, reason: "YAMLError",
                                       message: "not valid YAML; file skipped"))
        }
        return []
    }

    static func check(_ documents: [(file: String, document: YAMLDocument)], now: Date, into report: inout ManifestReport) {
        report.summary.documents += documents.count
        let backstop = documents.filter { BackstopValidator.isBackstopDocument($0.document.value) }
        report.summary.skipped += documents.count - backstop.count
        // Policies of the same run resolve references from RestoreRequests and DrillRuns.
        var context = ValidationContext(now: now)
        for d in backstop where d.document.value["kind"]?.stringValue == "BackupPolicy" {
            if let p = try? d.document.value.decode(BackupPolicy.self) { context.add(p) }
        }
        let validator = BackstopValidator(context: context)
        for d in backstop {
            let value = d.document.value
            let object = "\(value["kind"]?.stringValue ?? "?")/\(value["metadata"]?["name"]?.stringValue ?? "?")"
            let issues = validator.validate(document: value)
            if issues.contains(where: { $0.severity == .error }) { report.summary.invalid += 1 } else { report.summary.valid += 1 }
            for issue in issues {
                let path = issue.path.components.map { c -> YAMLPathComponent in
                    switch c {
                    case .key(let k): .key(k)
                    case .index(let i): .index(i)
                    }
                }
                let pos = d.document.keyPosition(of: path) ?? d.document.nearestPosition(of: path)
                report.add(ManifestFinding(file: d.file, line: pos.line, column: pos.column, object: object,
                                           field: issue.path.description, severity: issue.severity,
                                           reason: issue.reason, message: issue.message))
            }
        }
    }
}
