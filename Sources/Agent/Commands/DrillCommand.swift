import AgentContract
import BackstopCore
import DynamicJSON
import Foundation
import Postgres

/// `backstop agent drill`: a DR drill's marker in the live source (write, remove), the check
/// that its scratch target is free and the drop of its scratch copy (`DrillScratch`), and the
/// marker check `verify` runs against a restored target.
/// The marker is what proves the restored copy is the data of *this* drill's backup, not an
/// older one that happens to restore.
extension AgentRunner {
    static func drill(_ spec: AgentSpec, _ context: AgentContext) async throws -> AgentReport {
        guard let drill = spec.drill else { throw AgentError(.specInvalid, "drill is required") }
        var report = DrillAgentReport(marker: drill.marker)
        switch drill.action {
        case .mark:
            guard let marker = drill.marker, DrillMarkers.isValid(marker) else {
                throw AgentError(.specInvalid, "drill.marker must be 1–63 characters of a-z, 0-9 and '-'")
            }
            guard let source = spec.source else { throw AgentError(.specInvalid, "source is required to write a marker") }
            report.markedAt = try await DrillMarkers.write(marker, into: source, now: try spec.clock(context), context: context)
        case .cleanup:
            if let marker = drill.marker, let source = spec.source {
                guard DrillMarkers.isValid(marker) else { throw AgentError(.specInvalid, "drill.marker must be 1–63 characters of a-z, 0-9 and '-'") }
                report.removedMarker = try await DrillMarkers.remove(marker, from: source, context: context)
            }
            if drill.dropTarget == true {
                guard let target = spec.target else { throw AgentError(.specInvalid, "target is required with dropTarget") }
                let (dropped, note) = try await DrillScratch.drop(target, ownerTag: drill.ownerTag, context: context)
                report.droppedTarget = dropped
                if let note { report.notes = [note] }
            }
        case .probe:
            guard let target = spec.target else { throw AgentError(.specInvalid, "target is required to probe the scratch target") }
            if let note = try await DrillScratch.checkFree(target, ownerTag: drill.ownerTag) { report.notes = [note] }
        }
        var result = AgentReport()
        result.drill = report
        return result
    }
}

/// Markers in each kind of source, and the check for one in a restored target.
enum DrillMarkers {
    static func isValid(_ marker: String) -> Bool {
        (1...63).contains(marker.count) && marker.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
    }

    static var postgresTable: String {
        PostgresConnection.quoteIdentifier(DrillAgentSpec.Names.postgresSchema) + "." + PostgresConnection.quoteIdentifier(DrillAgentSpec.Names.postgresTable)
    }

    /// Writes the marker (again: a no-op) and returns when it was written, RFC 3339.
    static func write(_ marker: String, into source: SourceSpec, now: Date, context: AgentContext) async throws -> String {
        if let pg = source.postgres {
            let connection = try await pg.connection.connect()
            defer { Task { await connection.close() } }
            do {
                _ = try await connection.executeScript("""
                    CREATE SCHEMA IF NOT EXISTS \(PostgresConnection.quoteIdentifier(DrillAgentSpec.Names.postgresSchema));
                    CREATE TABLE IF NOT EXISTS \(postgresTable) (id text PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());
                    COMMENT ON TABLE \(postgresTable) IS 'Backstop DR drill markers: one row per running drill, removed when it ends';
                    """)
                _ = try await connection.execute("INSERT INTO \(postgresTable) (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", [marker])
                let at = try await connection.query("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM \(postgresTable) WHERE id = $1", [marker])
                context.progress("drill: marker \(marker) written to \(DrillAgentSpec.Names.postgresSchema).\(DrillAgentSpec.Names.postgresTable)")
                return at.first?.values.first.flatMap { $0 } ?? UTCTimestamp.rfc3339(now)
            } catch let error as PostgresError {
                throw AgentError(.queryFailed, "cannot write the drill marker into \(pg.connection.database) (the drill needs CREATE on the database and INSERT; set marker: false to drill without one): \(error.message)")
            }
        }
        if let volume = source.volume {
            let folder = (volume.path as NSString).appendingPathComponent(DrillAgentSpec.Names.folder)
            let file = (folder as NSString).appendingPathComponent(marker)
            if let existing = try? String(contentsOfFile: file, encoding: .utf8) { return existing.trimmingCharacters(in: .whitespacesAndNewlines) }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try Data((UTCTimestamp.rfc3339(now) + "\n").utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                throw AgentError(.specInvalid, "cannot write the drill marker under \(volume.path) (is the source mounted read-write for the drill?): \(error.localizedDescription)")
            }
            return UTCTimestamp.rfc3339(now)
        }
        if let ch = source.clickhouse {
            let endpoint = try ClickHouseEndpoint(url: ch.url, user: ch.user, passwordFile: ch.passwordFile, timeoutSeconds: 60, unreachable: .sourceUnreachable)
            let table = clickhouseTable(ch.database)
            try await endpoint.text("CREATE TABLE IF NOT EXISTS \(table) (id String, created_at DateTime('UTC')) ENGINE = MergeTree ORDER BY id")
            // `toString` of a UTC DateTime is `YYYY-MM-DD hh:mm:ss` on every server version.
            let existing = try await endpoint.rows("SELECT toString(created_at) FROM \(table) WHERE id = \(ClickHouseEndpoint.quote(literal: marker))")
            if let at = existing.first?.first { return at.replacingOccurrences(of: " ", with: "T") + "Z" }
            let stamp = UTCTimestamp.rfc3339(now)
            try await endpoint.text("INSERT INTO \(table) VALUES (\(ClickHouseEndpoint.quote(literal: marker)), parseDateTimeBestEffort(\(ClickHouseEndpoint.quote(literal: stamp))))")
            return stamp
        }
        if let redis = source.redis {
            let cli = try context.tools.find("redis-cli")
            let key = DrillAgentSpec.Names.redisKeyPrefix + marker
            let password = try redis.password()
            let existing = try await RedisSource.query(cli: cli, spec: redis, password: password, ["GET", key]).trimmingCharacters(in: .whitespacesAndNewlines)
            if !existing.isEmpty { return existing }
            let stamp = UTCTimestamp.rfc3339(now)
            _ = try await RedisSource.query(cli: cli, spec: redis, password: password, ["SET", key, stamp])
            return stamp
        }
        if let s3 = source.s3 {
            guard let bucket = s3.bucket else {
                throw AgentError(.specInvalid, "a marker needs one bucket: the policy mirrors every bucket (set marker: false, or name source.s3.bucket)")
            }
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: bucket))
            let key = s3MarkerKey(marker, prefix: s3.prefix)
            if let bytes = try? await store.read(key: key) { return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            let stamp = UTCTimestamp.rfc3339(now)
            try await store.put(key: key, bytes: Array((stamp + "\n").utf8), contentType: "text/plain")
            return stamp
        }
        throw AgentError(.specInvalid, "markers are written into PostgreSQL, Redis, ClickHouse, a volume or a bucket; this source has none of them (set marker: false)")
    }

    /// Removes the marker; true when there was one.
    static func remove(_ marker: String, from source: SourceSpec, context: AgentContext) async throws -> Bool {
        if let pg = source.postgres {
            let connection = try await pg.connection.connect()
            defer { Task { await connection.close() } }
            let exists = try await connection.query("SELECT to_regclass($1) IS NOT NULL", ["\(DrillAgentSpec.Names.postgresSchema).\(DrillAgentSpec.Names.postgresTable)"])
            guard exists.first?.values.first.flatMap({ $0 }) == "t" else { return false }
            return try await connection.execute("DELETE FROM \(postgresTable) WHERE id = $1", [marker]) > 0
        }
        if let volume = source.volume {
            let folder = (volume.path as NSString).appendingPathComponent(DrillAgentSpec.Names.folder)
            let file = (folder as NSString).appendingPathComponent(marker)
            guard FileManager.default.fileExists(atPath: file) else { return false }
            try FileManager.default.removeItem(atPath: file)
            if (try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty == true { try? FileManager.default.removeItem(atPath: folder) }
            return true
        }
        if let ch = source.clickhouse {
            let endpoint = try ClickHouseEndpoint(url: ch.url, user: ch.user, passwordFile: ch.passwordFile, timeoutSeconds: 60, unreachable: .sourceUnreachable)
            let exists = try await endpoint.text("EXISTS TABLE \(clickhouseTable(ch.database))")
            guard exists.hasPrefix("1") else { return false }
            let table = clickhouseTable(ch.database)
            let id = ClickHouseEndpoint.quote(literal: marker)
            guard try await endpoint.text("SELECT count() FROM \(table) WHERE id = \(id)").hasPrefix("1") else { return false }
            // A mutation runs in the background (`mutations_sync` is not on every server):
            // wait until the row is gone, so the Job reports success only when it is.
            try await endpoint.text("ALTER TABLE \(table) DELETE WHERE id = \(id)")
            for _ in 0..<600 {
                if try await endpoint.text("SELECT count() FROM \(table) WHERE id = \(id)").hasPrefix("0") { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw AgentError(.queryFailed, "the marker row \(marker) is still in \(ch.database).\(DrillAgentSpec.Names.clickhouseTable) after 60s")
        }
        if let s3 = source.s3, let bucket = s3.bucket {
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: bucket))
            try await store.delete(key: s3MarkerKey(marker, prefix: s3.prefix))
            return true
        }
        if let redis = source.redis {
            let reply = try await RedisSource.query(cli: try context.tools.find("redis-cli"), spec: redis, password: try redis.password(),
                                                    ["DEL", DrillAgentSpec.Names.redisKeyPrefix + marker])
            return reply.trimmingCharacters(in: .whitespacesAndNewlines).hasSuffix("1")
        }
        return false
    }

    static func clickhouseTable(_ database: String) -> String {
        ClickHouseEndpoint.quote(identifier: database) + "." + ClickHouseEndpoint.quote(identifier: DrillAgentSpec.Names.clickhouseTable)
    }

    static func s3MarkerKey(_ marker: String, prefix: String?) -> String {
        let base = (prefix ?? "").isEmpty ? "" : (prefix!.hasSuffix("/") ? prefix! : prefix! + "/")
        return "\(base)\(DrillAgentSpec.Names.folder)/\(marker)"
    }

    /// The marker check against a restored target (part of `verify` with `verify.marker`).
    static func check(_ marker: String, in target: TargetSpec) async throws -> CheckResult {
        func result(_ found: Bool, _ detail: String) -> CheckResult {
            CheckResult(name: "marker", passed: found, expected: marker, actual: found ? marker : "absent", message: found ? nil : detail)
        }
        if let pg = target.postgres {
            let connection = try await pg.connection.connect(role: "target")
            defer { Task { await connection.close() } }
            do {
                let rows = try await connection.query("SELECT count(*) FROM \(postgresTable) WHERE id = $1", [marker])
                return result((try rows.first?[0, as: Int64.self]) == 1, "no row \(marker) in \(DrillAgentSpec.Names.postgresSchema).\(DrillAgentSpec.Names.postgresTable) of the restored database: the backup was taken before the marker")
            } catch let error as PostgresError {
                return result(false, "the restored database has no marker table (\(error.message)): the backup predates the drill")
            }
        }
        if let volume = target.volume {
            let file = ((volume.path as NSString).appendingPathComponent(DrillAgentSpec.Names.folder) as NSString).appendingPathComponent(marker)
            return result(FileManager.default.fileExists(atPath: file), "\(DrillAgentSpec.Names.folder)/\(marker) is not in the restored directory")
        }
        if let ch = target.clickhouse {
            let endpoint = try ClickHouseEndpoint(url: ch.url, user: ch.user, passwordFile: ch.passwordFile, timeoutSeconds: 60, unreachable: .targetUnreachable)
            let database = ch.database ?? "default"
            do {
                let count = try await endpoint.text("SELECT count() FROM \(clickhouseTable(database)) WHERE id = \(ClickHouseEndpoint.quote(literal: marker))")
                return result(count.hasPrefix("1"), "no marker row in \(database).\(DrillAgentSpec.Names.clickhouseTable) of the restored copy")
            } catch let error as AgentError {
                return result(false, "the restored copy has no marker table (\(error.message))")
            }
        }
        if let s3 = target.s3 {
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: s3.bucket ?? ""))
            let key = s3MarkerKey(marker, prefix: s3.prefix)
            let found = (try? await store.read(key: key)) != nil
            return result(found, "\(key) is not in the restored bucket")
        }
        return CheckResult(name: "marker", passed: false, message: "the marker cannot be checked in this kind of target")
    }
}
