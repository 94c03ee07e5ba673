import AgentContract
import Foundation
import HTTP
import Postgres

/// A drill's scratch target: checked free before the drill starts, dropped when it ends.
/// PostgreSQL databases carry the drill's tag as their comment (ClickHouse ones an owner table),
/// written when the restore created them; only a database with the tag is dropped or replaced,
/// so one someone else made under the same name is never touched.
enum DrillScratch {
    /// Throws `TargetExists` for a scratch target that holds someone else's data; a note when
    /// it holds this drill's own leftover (an interrupted run), which the restore replaces.
    static func checkFree(_ target: TargetSpec, ownerTag: String?) async throws -> String? {
        if let pg = target.postgres {
            let spec = PostgresRestoreTarget(checked: pg)
            let admin = try await pg.connection.connect(database: spec.maintenance, role: "target")
            defer { Task { await admin.close() } }
            let database = pg.connection.database
            guard let comment = try await PostgresRestoreTarget.comment(of: database, admin) else { return nil }
            if let ownerTag, comment == ownerTag { return "database \(database) is this drill's own, left by an interrupted run: the restore replaces it" }
            throw AgentError(.targetExists, "scratch database \(database) already exists and is not this drill's; the drill restores only into a "
                             + "database it creates: name another spec.scratch database, or drop \(database) if nobody needs it")
        }
        if let ch = target.clickhouse, let database = ch.database {
            let endpoint = try ClickHouseEndpoint(url: ch.url, user: ch.user, passwordFile: ch.passwordFile, timeoutSeconds: 60, unreachable: .targetUnreachable)
            guard let owner = try await ClickHouseScratch.owner(of: database, endpoint) else { return nil }
            if let ownerTag, owner == ownerTag { return "database \(database) is this drill's own, left by an interrupted run: the restore replaces it" }
            throw AgentError(.targetExists, "scratch clickhouse database \(database) already exists and is not this drill's; the drill restores only into a "
                             + "database it creates: name another spec.scratch database, or drop \(database) if nobody needs it")
        }
        if let volume = target.volume {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: volume.path), !entries.isEmpty else { return nil }
            throw AgentError(.targetExists, "scratch directory \(volume.path) is not empty (\(entries.count) entries); the drill restores only into an "
                             + "empty one and empties it afterwards: name another spec.scratch path, or empty it")
        }
        if let s3 = target.s3, let bucket = s3.bucket {
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: bucket))
            let held: Int
            do { held = try await store.client.listAllObjects(bucket: bucket, prefix: s3.prefix ?? "").count } catch let error as S3Error where error.code == "NoSuchBucket" {
                return nil
            } catch { throw S3Store.agentError(error, what: "s3://\(bucket): list \(s3.prefix ?? "")") }
            guard held > 0 else { return nil }
            throw AgentError(.targetExists, "scratch s3://\(bucket)/\(s3.prefix ?? "") holds \(held) object(s); the drill restores only where nothing is "
                             + "and empties it afterwards: name another spec.scratch bucket or prefix, or empty it")
        }
        return nil
    }

    static func drop(_ target: TargetSpec, ownerTag: String?, context: AgentContext) async throws -> (Bool, String?) {
        if let pg = target.postgres {
            let spec = PostgresRestoreTarget(checked: pg)
            let admin = try await pg.connection.connect(database: spec.maintenance, role: "target")
            defer { Task { await admin.close() } }
            let database = pg.connection.database
            guard let comment = try await PostgresRestoreTarget.comment(of: database, admin) else { return (false, "database \(database) did not exist") }
            guard let ownerTag, comment == ownerTag else {
                return (false, "database \(database) is not this drill's (its comment is not the drill's tag): left as it is")
            }
            try await admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(database)) WITH (FORCE)")
            context.progress("drill: dropped scratch database \(database)")
            return (true, nil)
        }
        if let volume = target.volume {
            let fm = FileManager.default
            guard let entries = try? fm.contentsOfDirectory(atPath: volume.path) else { return (false, "\(volume.path) did not exist") }
            for entry in entries { try fm.removeItem(atPath: (volume.path as NSString).appendingPathComponent(entry)) }
            context.progress("drill: emptied scratch directory \(volume.path) (\(entries.count) entries)")
            return (true, nil)
        }
        if let ch = target.clickhouse, let database = ch.database {
            let endpoint = try ClickHouseEndpoint(url: ch.url, user: ch.user, passwordFile: ch.passwordFile, timeoutSeconds: 120, unreachable: .targetUnreachable)
            guard let owner = try await ClickHouseScratch.owner(of: database, endpoint) else { return (false, "database \(database) did not exist") }
            guard let ownerTag, owner == ownerTag else {
                return (false, "database \(database) is not this drill's (no owner tag of this drill): left as it is")
            }
            try await endpoint.text("DROP DATABASE IF EXISTS \(ClickHouseEndpoint.quote(identifier: database))")
            context.progress("drill: dropped scratch database \(database)")
            return (true, nil)
        }
        if let s3 = target.s3, let bucket = s3.bucket {
            let store = try S3Store(spec: S3StoreSpec(connection: s3.connection, bucket: bucket))
            let objects = try await store.list(prefix: s3.prefix ?? "")
            for object in objects { try await store.delete(key: object.key) }
            return (true, "deleted \(objects.count) object(s) from \(bucket)/\(s3.prefix ?? "")")
        }
        return (false, "nothing to drop for this kind of target")
    }
}
