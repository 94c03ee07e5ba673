import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import HTTP

/// `source.clickhouse`: a logical export over the HTTP interface (seed 002's ClickHouse
/// section without clickhouse-backup or shell access to the server). Per table: its
/// `SHOW CREATE TABLE` and `SELECT * … FORMAT Native` streamed into a `ClickHouseArchive`;
/// rows are counted while the bytes pass (`NativeBlockCounter`), never holding a table.
///
/// Works with 18.16 (the test server). A server with native `BACKUP … TO S3` (22.x+) would be
/// a second `BackupSource` whose "artifact" is the server-side backup plus a small manifest;
/// verify would be `RESTORE … AS` into a scratch database. Not implemented here.
public struct ClickHouseSource: BackupSource {
    public static let format = ArtifactFormat(name: "clickhouse-native", fileExtension: "chnative", contentType: "application/octet-stream")
    static let dataEngines: Set<String> = ["Log", "TinyLog", "StripeLog", "Memory"]
    public let spec: ClickHouseSourceSpec

    public init(spec: ClickHouseSourceSpec) { self.spec = spec }

    public var identity: SourceIdentity {
        SourceIdentity(kind: "clickhouse", attributes: ["url": spec.url, "database": spec.database])
    }
    public var format: ArtifactFormat { Self.format }

    static func hasData(engine: String) -> Bool { engine.hasSuffix("MergeTree") || dataEngines.contains(engine) }

    public func prepare(_ context: AgentContext) async throws -> any PreparedBackup {
        if let size = spec.maxBlockSize, size < 1 { throw AgentError(.specInvalid, "source.clickhouse.maxBlockSize must be positive") }
        let endpoint = try ClickHouseEndpoint(url: spec.url, user: spec.user, passwordFile: spec.passwordFile,
                                              timeoutSeconds: spec.timeoutSeconds, unreachable: .sourceUnreachable)
        let version = try await endpoint.text("SELECT version()").trimmingCharacters(in: .whitespacesAndNewlines)
        let db = ClickHouseEndpoint.quote(literal: spec.database)
        guard try await endpoint.text("SELECT count() FROM system.databases WHERE name = \(db)").hasPrefix("1") else {
            throw AgentError(.tableMissing, "clickhouse \(endpoint.url): database \(spec.database) does not exist")
        }
        var listed = try await endpoint.rows("SELECT name, engine FROM system.tables WHERE database = \(db) ORDER BY name")
            .filter { $0.count == 2 }
        var warnings: [String] = []
        let inner = listed.filter { $0[0].hasPrefix(".inner.") }
        if !inner.isEmpty {
            warnings.append("materialized view storage (\(inner.map { $0[0] }.joined(separator: ", "))) is not exported; "
                            + "restored materialized views start empty")
            listed.removeAll { $0[0].hasPrefix(".inner.") }
        }
        if let wanted = spec.tables, !wanted.isEmpty {
            let names = Set(listed.map { $0[0] })
            let missing = wanted.filter { !names.contains($0) }
            guard missing.isEmpty else {
                throw AgentError(.tableMissing, "clickhouse \(spec.database): no table \(missing.joined(separator: ", "))")
            }
            listed = listed.filter { wanted.contains($0[0]) }
        }
        guard !listed.isEmpty else {
            throw AgentError(.sourceEmpty, "clickhouse database \(spec.database) has no tables to back up")
        }
        var tables: [ClickHouseArchive.Table] = []
        for row in listed {
            let (name, engine) = (row[0], row[1])
            let qualified = ClickHouseEndpoint.quote(identifier: spec.database) + "." + ClickHouseEndpoint.quote(identifier: name)
            let create = try await endpoint.rows("SHOW CREATE TABLE \(qualified)").first?.first ?? ""
            var table = ClickHouseArchive.Table(database: spec.database, name: name, engine: engine, create: create,
                                                hasData: Self.hasData(engine: engine), partitions: nil, filter: spec.where)
            if table.hasData, engine.hasSuffix("MergeTree"), let age = spec.partitionMaxAge {
                let (partitions, warning) = try await recentPartitions(endpoint, table: name, age: age, now: context.now())
                table.partitions = partitions
                if let warning { warnings.append(warning) }
            }
            tables.append(table)
        }
        // Data first, views last (they select from the tables).
        tables.sort { ($0.hasData ? 0 : 1, $0.name) < ($1.hasData ? 0 : 1, $1.name) }
        return PreparedClickHouseBackup(endpoint: endpoint, tables: tables, version: version,
                                        maxBlockSize: spec.maxBlockSize ?? 8192, warnings: warnings)
    }

    /// Partitions whose newest Date (or DateTime) is younger than `age`; nil (everything) when
    /// the table's partitions carry no date.
    func recentPartitions(_ endpoint: ClickHouseEndpoint, table: String, age: RetentionAge, now: Date)
        async throws -> ([String]?, String?) {
        let rows = try await endpoint.rows("""
            SELECT partition_id, toString(max(max_date)), toString(toUInt32(max(max_time))) FROM system.parts \
            WHERE database = \(ClickHouseEndpoint.quote(literal: spec.database)) AND table = \(ClickHouseEndpoint.quote(literal: table)) \
            AND active GROUP BY partition_id ORDER BY partition_id
            """)
        let cutoff = now.addingTimeInterval(-Double(age.seconds))
        let cutoffDay = UTCTimestamp.rfc3339(cutoff).prefix(10)
        var selected: [String] = []
        var dated = false
        for row in rows where row.count == 3 {
            let (date, time) = (row[1], UInt32(row[2]) ?? 0)
            if date != "0000-00-00" || time > 0 { dated = true }
            if date >= cutoffDay || Double(time) >= cutoff.timeIntervalSince1970 { selected.append(row[0]) }
        }
        if !rows.isEmpty && !dated {
            return (nil, "\(table): partitions carry no date, partitionMaxAge ignored (all rows exported)")
        }
        return (selected, nil)
    }
}

struct PreparedClickHouseBackup: PreparedBackup {
    let endpoint: ClickHouseEndpoint
    let tables: [ClickHouseArchive.Table]
    let version: String
    let maxBlockSize: Int
    let warnings: [String]

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        try await output.write(ClickHouseArchive.magic)
        var report = SourceReport()
        report.warnings = warnings
        var rowCounts: [String: Int64] = [:]
        var details: [JSONValue] = []
        for table in tables {
            try await output.write(try ClickHouseArchive.frame("T", json: table))
            var digest = StreamDigest()
            var counter = NativeBlockCounter()
            if table.hasData && table.partitions?.isEmpty != true {
                let body = try await endpoint.stream(selectSQL(table), settings: ["max_block_size": String(maxBlockSize)])
                do {
                    for try await chunk in body where !chunk.isEmpty {
                        do { try counter.feed(chunk) } catch let error as NativeFormatError {
                            throw AgentError(.formatInvalid, "clickhouse \(table.name): \(error.description)")
                        }
                        digest.update(chunk)
                        try await output.write(ClickHouseArchive.frame("D", chunk))
                    }
                } catch let error as HTTPError {
                    throw endpoint.mapTransport(error, "SELECT FROM \(table.name)")
                }
                do { try counter.finish() } catch let error as NativeFormatError {
                    throw AgentError(.queryFailed, "clickhouse \(table.name): \(error.description)")
                }
            }
            let rows: Int64? = counter.unsupported == nil ? counter.rows : nil
            if let type = counter.unsupported {
                report.warnings.append("\(table.name): column type \(type) is not decoded by the agent; its rows were not counted")
            }
            try await output.write(try ClickHouseArchive.frame("E", json: ClickHouseArchive.TableEnd(
                rows: table.hasData ? rows : nil, bytes: digest.bytes, sha256: digest.hex(), uncountedType: counter.unsupported)))
            if table.hasData, let rows { rowCounts[table.name] = rows }
            var entry: [String: JSONValue] = ["name": .string(table.name), "engine": .string(table.engine),
                                              "hasData": .bool(table.hasData), "bytes": .int(digest.bytes)]
            if table.hasData, let rows { entry["rows"] = .int(rows) }
            if let partitions = table.partitions { entry["partitions"] = .int(Int64(partitions.count)) }
            details.append(.object(entry))
            context.progress("backup: clickhouse \(table.database).\(table.name) (\(table.engine)): "
                             + (table.hasData ? "\(rows.map(String.init) ?? "?") rows, \(formatBytes(digest.bytes))" : "schema only"))
        }
        try await output.write(try ClickHouseArchive.frame("X", json: ClickHouseArchive.End(tables: tables.count)))
        report.tools = ["clickhouse-server": version, "format": "Native over HTTP"]
        report.rowCounts = rowCounts
        report.rowCountsConsistency = "per-table: each table is read by its own query"
        report.checks.append(CheckResult(name: "format", passed: true, message: "every table's Native stream decoded to whole blocks"))
        report.details = ["database": .string(tables.first?.database ?? ""), "tables": .array(details)]
        return report
    }

    func selectSQL(_ table: ClickHouseArchive.Table) -> String {
        var sql = "SELECT * FROM \(ClickHouseEndpoint.quote(identifier: table.database)).\(ClickHouseEndpoint.quote(identifier: table.name))"
        var conditions: [String] = []
        if let partitions = table.partitions {
            conditions.append("_partition_id IN (\(partitions.map { ClickHouseEndpoint.quote(literal: $0) }.joined(separator: ", ")))")
        }
        if let filter = table.filter, !filter.isEmpty { conditions.append("(\(filter))") }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        return sql + " FORMAT Native"
    }

    func close() async {}
}
