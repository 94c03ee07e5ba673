import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import HTTP

/// Creates each table from its recorded `SHOW CREATE TABLE` (renamed into the target
/// database) and streams its Native data back with `INSERT … FORMAT Native`, frame by frame
/// from the staged file. On failure the tables created by this run are dropped again.
public struct ClickHouseRestoreTarget: RestoreTarget {
    let spec: ClickHouseTargetSpec
    let endpoint: ClickHouseEndpoint
    let clean: Bool

    public init(spec: ClickHouseTargetSpec, mode: String?) throws {
        switch spec.mode ?? mode ?? "create" {
        case "create": clean = false
        case "clean": clean = true
        default: throw AgentError(.specInvalid, "target.clickhouse.mode must be create or clean")
        }
        self.spec = spec
        endpoint = try ClickHouseEndpoint(url: spec.url, user: spec.user, passwordFile: spec.passwordFile,
                                          timeoutSeconds: spec.timeoutSeconds, unreachable: .targetUnreachable)
    }

    func database(_ manifest: ArtifactManifest) -> String { spec.database ?? manifest.source.attributes["database"] ?? "default" }

    /// Backed-up table name → target name, for the selected tables.
    func plan(_ manifest: ArtifactManifest) throws -> [String: String] {
        let names = manifest.details?["tables"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        let wanted = spec.tables.flatMap { $0.isEmpty ? nil : $0 } ?? names
        let missing = wanted.filter { !names.contains($0) }
        guard missing.isEmpty else {
            throw AgentError(.tableMissing, "artifact \(manifest.id) has no table \(missing.joined(separator: ", ")) (it has \(names.joined(separator: ", ")))")
        }
        for source in (spec.renameTables ?? [:]).keys where !wanted.contains(source) {
            throw AgentError(.specInvalid, "target.clickhouse.renameTables: \(source) is not restored")
        }
        return Dictionary(uniqueKeysWithValues: wanted.map { ($0, spec.renameTables?[$0] ?? $0) })
    }

    public func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == ClickHouseSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not a ClickHouse archive")
        }
        let plan = try plan(manifest)
        if let tag = spec.ownerTag {
            let db = database(manifest)
            switch try await ClickHouseScratch.owner(of: db, endpoint) {
            case nil: break
            case tag?:
                try await endpoint.text("DROP DATABASE \(ClickHouseEndpoint.quote(identifier: db))")
                context.progress("restore: dropped \(db), left by an interrupted run of the same drill")
            default:
                throw AgentError(.targetExists, "clickhouse database \(db) already exists; a drill restores only into a database it creates")
            }
        }
        let existing = Set(try await endpoint.rows("SELECT name FROM system.tables WHERE database = \(ClickHouseEndpoint.quote(literal: database(manifest)))")
            .compactMap(\.first))
        let clashes = plan.values.filter { existing.contains($0) }.sorted()
        if !clean, !clashes.isEmpty {
            throw AgentError(.targetExists, "clickhouse \(database(manifest)): \(clashes.joined(separator: ", ")) already exist(s); "
                             + "restore under another name (renameTables), into another database, or with mode clean")
        }
    }

    public func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let plan = try plan(manifest)
        let database = database(manifest)
        let qdb = ClickHouseEndpoint.quote(identifier: database)
        try await endpoint.text("CREATE DATABASE IF NOT EXISTS \(qdb)")
        if let tag = spec.ownerTag { try await ClickHouseScratch.claim(database, tag: tag, endpoint) }
        let reader = ClickHouseFrameReader(stream: try FileDescriptorStream.open(path: file, label: "staged artifact"))
        var created: [String] = []
        var restored: [String: String] = [:]
        var mismatches: [String] = []
        do {
            while let frame = try await reader.next() {
                guard frame.type == "T" else { continue }
                let table = try ClickHouseArchive.decode(ClickHouseArchive.Table.self, frame.payload, what: "table")
                guard let targetName = plan[table.name] else {
                    while let skipped = try await reader.next(), skipped.type != "E" {}
                    continue
                }
                let qualified = "\(qdb).\(ClickHouseEndpoint.quote(identifier: targetName))"
                if clean { try await endpoint.text("DROP TABLE IF EXISTS \(qualified)") }
                try await endpoint.text(try Self.rewriteCreate(table.create, as: qualified))
                created.append(qualified)
                if table.hasData {
                    try await endpoint.insert("INSERT INTO \(qualified) FORMAT Native", body: .stream(ClickHouseDataFrames(reader: reader)))
                }
                guard let end = try await reader.next(), end.type == "E" else {
                    throw AgentError(.formatInvalid, "clickhouse artifact: table \(table.name) has no end record")
                }
                let record = try ClickHouseArchive.decode(ClickHouseArchive.TableEnd.self, end.payload, what: "table end")
                var line = "restore: clickhouse \(table.name) → \(database).\(targetName)"
                if table.hasData, let rows = record.rows {
                    let count = Int64(try await endpoint.text("SELECT count() FROM \(qualified)").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
                    // Only plain engines keep every inserted row; Replacing/Summing/Collapsing may merge them.
                    if count != rows, ["MergeTree", "Log", "TinyLog", "StripeLog", "Memory"].contains(table.engine) {
                        mismatches.append("\(targetName): \(count) rows, the artifact has \(rows)")
                    }
                    line += ": \(count) rows"
                }
                restored[table.name] = "\(database).\(targetName)"
                context.progress(line)
            }
        } catch {
            await reader.cancel()
            for qualified in created.reversed() { _ = try? await endpoint.text("DROP TABLE IF EXISTS \(qualified)") }
            if let agent = error as? AgentError, agent.reason != .queryFailed, agent.reason != .restoreFailed { throw agent }
            throw AgentError(.restoreFailed, "clickhouse restore failed, the tables it created were dropped: \((error as? AgentError)?.message ?? "\(error)")")
        }
        if !mismatches.isEmpty {
            throw AgentError(.verificationFailed, "restored, but row counts differ: \(mismatches.joined(separator: "; "))")
        }
        return RestoreReport(target: ["url": endpoint.url, "database": database,
                                      "tables": restored.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ",")],
                             tools: ["clickhouse": "HTTP INSERT FORMAT Native"])
    }

    /// `CREATE TABLE db.t (…) ENGINE …` → `CREATE TABLE <qualified> (…) ENGINE …`.
    static func rewriteCreate(_ statement: String, as qualified: String) throws -> String {
        let text = Substring(statement.trimmingCharacters(in: .whitespacesAndNewlines))
        let kinds = ["CREATE MATERIALIZED VIEW ", "CREATE VIEW ", "CREATE TABLE ", "ATTACH MATERIALIZED VIEW ", "ATTACH VIEW ", "ATTACH TABLE "]
        guard let kind = kinds.first(where: { text.hasPrefix($0) }) else {
            throw AgentError(.formatInvalid, "clickhouse artifact: unexpected schema statement \(text.prefix(60))")
        }
        var rest = text.dropFirst(kind.count)
        func identifier() throws {
            if rest.first == "`" {
                rest = rest.dropFirst()
                var escaped = false
                while let ch = rest.first {
                    rest = rest.dropFirst()
                    if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "`" { return }
                }
                throw AgentError(.formatInvalid, "clickhouse artifact: unterminated name in \(text.prefix(60))")
            }
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !name.isEmpty else { throw AgentError(.formatInvalid, "clickhouse artifact: no table name in \(text.prefix(60))") }
            rest = rest.dropFirst(name.count)
        }
        try identifier()
        if rest.first == "." {
            rest = rest.dropFirst()
            try identifier()
        }
        return kind.replacingOccurrences(of: "ATTACH", with: "CREATE") + qualified + rest
    }
}

/// Structure, per-table checksums and row counts of a ClickHouse archive, decoded again.
struct ClickHouseArchiveVerifier: FormatVerifier {
    func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult] {
        let reader = ClickHouseFrameReader(stream: try FileDescriptorStream.open(path: file, label: "staged artifact"))
        var problems: [String] = []
        var counted: [String: Int64] = [:]
        var tables = 0
        var end: ClickHouseArchive.End?
        do {
            while let frame = try await reader.next() {
                switch frame.type {
                case "T":
                    let table = try ClickHouseArchive.decode(ClickHouseArchive.Table.self, frame.payload, what: "table")
                    tables += 1
                    var digest = StreamDigest()
                    var counter = NativeBlockCounter()
                    var record: ClickHouseArchive.TableEnd?
                    while let inner = try await reader.next() {
                        if inner.type == "D" {
                            digest.update(inner.payload)
                            do { try counter.feed(inner.payload) } catch let error as NativeFormatError {
                                throw AgentError(.formatInvalid, "\(table.name): \(error.description)")
                            }
                        } else if inner.type == "E" {
                            record = try ClickHouseArchive.decode(ClickHouseArchive.TableEnd.self, inner.payload, what: "table end")
                            break
                        } else {
                            throw AgentError(.formatInvalid, "\(table.name): unexpected record inside table data")
                        }
                    }
                    guard let record else { throw AgentError(.formatInvalid, "\(table.name): truncated") }
                    do { try counter.finish() } catch let error as NativeFormatError {
                        throw AgentError(.formatInvalid, "\(table.name): \(error.description)")
                    }
                    if record.bytes != digest.bytes || record.sha256 != digest.hex() {
                        problems.append("\(table.name): data checksum differs from its end record")
                    }
                    if table.hasData, counter.unsupported == nil {
                        counted[table.name] = counter.rows
                        if record.rows != counter.rows { problems.append("\(table.name): \(counter.rows) rows decoded, \(record.rows ?? -1) recorded") }
                    }
                case "X":
                    end = try ClickHouseArchive.decode(ClickHouseArchive.End.self, frame.payload, what: "end")
                default:
                    throw AgentError(.formatInvalid, "record outside a table")
                }
            }
            guard let end else { throw AgentError(.formatInvalid, "truncated: no end record") }
            if end.tables != tables { problems.append("\(tables) tables read, \(end.tables) recorded") }
        } catch let error as AgentError {
            await reader.cancel()
            return [CheckResult(name: "format", passed: false, message: "clickhouse archive: \(error.message)")]
        }
        var checks = [CheckResult(name: "format", passed: problems.isEmpty, expected: "consistent archive",
                                  actual: problems.isEmpty ? "\(tables) tables" : nil,
                                  message: problems.isEmpty ? nil : problems.joined(separator: "; "))]
        let expected = manifest.rowCounts ?? [:]
        let wrong = expected.filter { counted[$0.key] != $0.value }.keys.sorted()
        checks.append(CheckResult(name: "rowCounts", passed: wrong.isEmpty, expected: "\(expected.values.reduce(0, +)) rows in \(expected.count) tables",
                                  actual: "\(counted.values.reduce(0, +)) rows decoded",
                                  message: wrong.isEmpty ? nil : "differs for \(wrong.joined(separator: ", "))"))
        context.progress("verify: clickhouse archive: \(tables) tables, \(counted.values.reduce(0, +)) rows decoded")
        return checks
    }
}

/// A drill's scratch database is marked by a one-row table holding the drill's tag.
enum ClickHouseScratch {
    static let table = "backstop_scratch_owner"

    /// nil: no such database; "": it exists without a tag (someone else's).
    static func owner(of database: String, _ endpoint: ClickHouseEndpoint) async throws -> String? {
        let db = ClickHouseEndpoint.quote(literal: database)
        guard try await endpoint.text("SELECT count() FROM system.databases WHERE name = \(db)").hasPrefix("1") else { return nil }
        let hasTable = try await endpoint.text("SELECT count() FROM system.tables WHERE database = \(db) AND name = \(ClickHouseEndpoint.quote(literal: table))")
        guard hasTable.hasPrefix("1") else { return "" }
        return try await endpoint.rows("SELECT tag FROM \(ClickHouseEndpoint.quote(identifier: database)).\(ClickHouseEndpoint.quote(identifier: table)) LIMIT 1").first?.first ?? ""
    }

    static func claim(_ database: String, tag: String, _ endpoint: ClickHouseEndpoint) async throws {
        let qualified = "\(ClickHouseEndpoint.quote(identifier: database)).\(ClickHouseEndpoint.quote(identifier: table))"
        try await endpoint.text("CREATE TABLE IF NOT EXISTS \(qualified) (tag String) ENGINE = TinyLog")
        if try await owner(of: database, endpoint) == "" {
            try await endpoint.text("INSERT INTO \(qualified) VALUES (\(ClickHouseEndpoint.quote(literal: tag)))")
        }
    }
}
