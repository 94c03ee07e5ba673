import AgentContract
import BackstopCore
import Foundation

/// Whole partitions of a MergeTree table whose newest data is older than `maxAge` (the
/// AgentTrace runbook's `ALTER TABLE traces DROP PARTITION WHERE toDate(timestamp) < today() - 90`),
/// found from `system.parts` (each part's min/max of the partition key's Date or DateTime
/// column) and dropped one by one with `DROP PARTITION ID`: a partition is gone whole or not
/// at all, and dropping one already gone is a no-op, so a repeated run is safe.
struct ClickHousePartitionCleanup: Sendable {
    let spec: CleanupTargetSpec.ClickHouseCleanup

    struct Partition: Sendable, Hashable {
        var id: String
        var rows: Int64
        var bytes: Int64
        /// The partition's oldest and newest data as `system.parts` has them (a Date is its
        /// midnight); nil when the partition key has no date.
        var oldest: Date?
        var newest: Date?
        /// Every row of the partition is older than this: the newest time plus its resolution
        /// (a second for DateTime, a day for Date).
        var endsBefore: Date?
    }

    var qualified: String {
        ClickHouseEndpoint.quote(identifier: spec.database) + "." + ClickHouseEndpoint.quote(identifier: spec.table)
    }

    func candidates(now: Date) async throws -> CleanupCandidates {
        let endpoint = try ClickHouseEndpoint(url: spec.url, user: spec.user, passwordFile: spec.passwordFile, timeoutSeconds: nil,
                                              unreachable: .sourceUnreachable)
        let engine = try await endpoint.rows("""
            SELECT engine FROM system.tables WHERE database = \(ClickHouseEndpoint.quote(literal: spec.database)) \
            AND name = \(ClickHouseEndpoint.quote(literal: spec.table))
            """).first?.first
        guard let engine else {
            throw AgentError(.tableMissing, "clickhouse \(spec.url): no table \(spec.database).\(spec.table): check spec.targets[].clickhouse")
        }
        guard engine.hasSuffix("MergeTree") else {
            throw AgentError(.notPartitioned, "\(spec.database).\(spec.table) is a \(engine) table: only MergeTree tables have partitions to drop; nothing was dropped (check spec.targets[].clickhouse.table)")
        }
        let partitions = try await list(endpoint)
        if let undated = partitions.first(where: { $0.endsBefore == nil }) {
            throw AgentError(.notTimestamp, "\(spec.database).\(spec.table): partition \(undated.id) carries no date (the PARTITION BY key has no Date or DateTime column), so its age is unknown; nothing was dropped")
        }
        let cutoff = now.addingTimeInterval(-Double(spec.maxAge.seconds))
        let old = partitions.filter { ($0.endsBefore ?? .distantFuture) <= cutoff }
        let qualified = self.qualified
        return CleanupCandidates(
            unit: "partitions", count: Int64(old.count), total: Int64(partitions.count), bytes: old.reduce(0) { $0 + $1.bytes },
            oldest: old.compactMap(\.oldest).min(), newest: old.compactMap(\.newest).max(),
            delete: { context in
                for partition in old {
                    try await endpoint.text("ALTER TABLE \(qualified) DROP PARTITION ID \(ClickHouseEndpoint.quote(literal: partition.id))")
                    context.progress("cleanup: dropped partition \(partition.id) of \(qualified) (\(partition.rows) rows)")
                }
                return (Int64(old.count), old.reduce(0) { $0 + $1.bytes })
            })
    }

    /// Active parts grouped by partition, with the bounds of their dates.
    func list(_ endpoint: ClickHouseEndpoint) async throws -> [Partition] {
        let rows = try await endpoint.rows("""
            SELECT partition_id, toString(sum(rows)), toString(sum(bytes_on_disk)), \
            toString(min(min_date)), toString(max(max_date)), toString(toUInt32(min(min_time))), toString(toUInt32(max(max_time))) \
            FROM system.parts WHERE database = \(ClickHouseEndpoint.quote(literal: spec.database)) \
            AND table = \(ClickHouseEndpoint.quote(literal: spec.table)) AND active GROUP BY partition_id ORDER BY partition_id
            """)
        return rows.filter { $0.count == 7 }.map { r in
            let (minTime, maxTime) = (UInt32(r[5]) ?? 0, UInt32(r[6]) ?? 0)
            var p = Partition(id: r[0], rows: Int64(r[1]) ?? 0, bytes: Int64(r[2]) ?? 0)
            if maxTime > 0 {
                p.oldest = Date(timeIntervalSince1970: Double(minTime))
                p.newest = Date(timeIntervalSince1970: Double(maxTime))
                p.endsBefore = p.newest?.addingTimeInterval(1)
            } else if let last = Self.day(r[4]) {
                p.oldest = Self.day(r[3])
                p.newest = last
                p.endsBefore = last.addingTimeInterval(86_400)
            }
            return p
        }
    }

    /// `2026-05-01` at UTC midnight; nil for ClickHouse's "no date" (`1970-01-01`, `0000-00-00`).
    static func day(_ text: String) -> Date? {
        guard text != "1970-01-01", text != "0000-00-00" else { return nil }
        return UTCTimestamp.parseRFC3339(text + "T00:00:00Z")
    }
}
