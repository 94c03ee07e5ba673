import DynamicJSON
import Foundation
import KubeModel

/// Checks the schema cannot express. Each takes a typed (defaulted) object.
extension BackstopValidator {
    public func validate(_ policy: BackupPolicy) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        let spec = policy.spec
        let interval = Self.interval(spec.schedule, spec.timeZone, now: context.now)
        if let r = spec.retention {
            let counts = [r.keepLast, r.keepDaily, r.keepWeekly, r.keepMonthly].map { $0 ?? 0 }
            if r.keepForever != true && counts.allSatisfy({ $0 == 0 }) && r.maxAge == nil {
                out.append(.warning("spec.retention", "no rule limits retention, so every backup is kept forever: set keepForever: true to say so, or add keepDaily/keepLast/maxAge"))
            }
            if r.keepForever == true && counts.contains(where: { $0 > 0 }) {
                out.append(.warning("spec.retention.keepForever", "keepForever keeps every artifact, so the keep counts have no effect: remove them or keepForever"))
            }
            if r.keepForever != true, counts.allSatisfy({ $0 == 0 }), r.maxAge != nil, counts.count == 4 {
                out.append(.warning("spec.retention", "only maxAge is set: if backups fail for longer than maxAge, every artifact is deleted; add keepLast (e.g. 3) as a floor"))
            }
            if let maxAge = r.maxAge.flatMap({ try? TimeSpan(parsing: $0) }), let interval, maxAge.seconds < interval {
                out.append(.invalid("spec.retention.maxAge", "maxAge \(maxAge) is shorter than the time between backups (\(TimeSpan(seconds: interval))): at times no backup would exist; raise maxAge above the schedule interval"))
            }
        }
        if let staleText = spec.verify?.staleAfter, let stale = try? TimeSpan(parsing: staleText), let interval, stale.seconds <= interval {
            out.append(.invalid("spec.verify.staleAfter", "staleAfter \(stale) is not longer than the schedule interval (\(TimeSpan(seconds: interval))): the policy would turn Stale between every two backups; use the interval plus the backup's duration, e.g. \(TimeSpan(seconds: interval + 7200))"))
        }
        if let p = spec.source.postgres {
            let overlap = Set(p.tables ?? []).intersection(p.excludeTables ?? [])
            if !overlap.isEmpty {
                out.append(.invalid("spec.source.postgres.excludeTables", "tables \(overlap.sorted().joined(separator: ", ")) are both included and excluded: remove them from one list"))
            }
            if let only = p.tables, !only.isEmpty, let counted = p.rowCounts {
                for (i, t) in counted.enumerated() where !only.contains(t) {
                    out.append(.invalid(FieldPath("spec.source.postgres.rowCounts").appending(.index(i)),
                                        "table \(t) is counted but not in tables, so the dump does not contain it: add it to tables or remove it here"))
                }
            }
        }
        if let s = spec.source.s3, let d = spec.destination.s3, Self.sameEndpoint(s.endpoint, d.endpoint),
           s.bucket == nil || s.bucket == d.bucket {
            out.append(.invalid("spec.destination.s3.bucket", "the destination bucket \(d.bucket) is part of the source being mirrored: each backup would contain the previous ones; use another bucket or endpoint"))
        }
        if let s = spec.source.volume, let d = spec.destination.volume, s.claimName == d.claimName,
           Self.nested(s.path ?? "", d.path ?? "") {
            out.append(.invalid("spec.destination.volume.path", "the destination directory overlaps the source directory on claim \(s.claimName): each backup would contain the previous ones; use another claim or a separate directory"))
        }
        if let drill = spec.drill {
            out += scratchIssues(drill.template.scratch, source: spec.source, path: "spec.drill.template.scratch")
            if drill.template.freshBackup == true, drill.template.backup != nil {
                out.append(.warning("spec.drill.template.backup", "backup is ignored when freshBackup is true: remove one of them"))
            }
        }
        return out
    }

    public func validate(_ request: RestoreRequest) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        let spec = request.spec
        if spec.target == nil && spec.mode == .create {
            out.append(.invalid("spec.mode", "mode Create restores into a new database or empty location, but without target it would be the live source: set target (e.g. target.postgres.database) or use mode Clean"))
        }
        if let b = spec.backup?.before, b.date > context.now.addingTimeInterval(300) {
            out.append(.warning("spec.backup.before", "before is in the future, so it selects the newest artifact: remove it or use a past time"))
        }
        guard let source = context.policy(spec.policyRef.name, namespace: request.metadata.namespace)?.source else { return out }
        if let target = spec.target {
            out += kindMismatch(target, source: source, path: "spec.target")
            if spec.allowOverwriteSource != true, let identity = TargetIdentity(source: source),
               TargetIdentity(source: source, target: target) == identity {
                out.append(.invalid("spec.target", "target resolves to the policy's live source (\(identity)): set allowOverwriteSource: true to confirm, or point target at another database/location"))
            }
        }
        if spec.verify?.rowCounts == true, let pg = source.postgres, (pg.rowCounts ?? []).isEmpty {
            out.append(.warning("spec.verify.rowCounts", "policy \(spec.policyRef.name) records no row counts (source.postgres.rowCounts is empty), so there is nothing to compare"))
        }
        return out
    }

    public func validate(_ drill: DrillRun) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        if drill.spec.freshBackup == true, drill.spec.backup != nil {
            out.append(.warning("spec.backup", "backup is ignored when freshBackup is true: remove one of them"))
        }
        if let source = context.policy(drill.spec.policyRef.name, namespace: drill.metadata.namespace)?.source {
            out += scratchIssues(drill.spec.scratch, source: source, path: "spec.scratch")
        }
        return out
    }

    public func validate(_ rotation: SecretRotation) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        let spec = rotation.spec
        if spec.consumers?.discover == false && (spec.consumers?.workloads ?? []).isEmpty {
            out.append(.warning("spec.consumers", "no workload is restarted (discover is false and workloads is empty): running pods keep the old value"))
        }
        if spec.keepPrevious != false {
            let keys = Set(spec.keys.map(\.key))
            for (i, k) in spec.keys.enumerated() where keys.contains(k.key + ".previous") {
                out.append(.invalid(FieldPath("spec.keys").appending(.index(i)).appending("key"),
                                    "key \(k.key).previous is also rotated, but keepPrevious stores the old value of \(k.key) there: rename one or set keepPrevious: false"))
            }
        }
        if spec.schedule == nil && spec.suspend == true {
            out.append(.warning("spec.suspend", "without a schedule the rotation only runs on demand; suspend has no effect"))
        }
        if spec.keys.contains(where: { $0.from?.name == spec.secretRef.name }) {
            let i = spec.keys.firstIndex { $0.from?.name == spec.secretRef.name }!
            out.append(.invalid(FieldPath("spec.keys").appending(.index(i)).appending("from").appending("name"),
                                "copies from the Secret being rotated: name a separate staging Secret"))
        }
        return out
    }

    public func validate(_ cleanup: CleanupPolicy) -> [ValidationIssue] {
        var out: [ValidationIssue] = []
        for (i, t) in cleanup.spec.targets.enumerated() {
            let path = FieldPath("spec.targets").appending(.index(i))
            if t.kinds.count != 1 {
                out.append(.invalid(path, "target \(t.name) needs exactly one of sql, s3, volume or clickhouse (has \(t.kinds.isEmpty ? "none" : t.kinds.joined(separator: ", ")))"))
            }
            for (kind, age) in [("sql", t.sql?.maxAge), ("s3", t.s3?.maxAge), ("volume", t.volume?.maxAge), ("clickhouse", t.clickhouse?.maxAge)] {
                guard let age else { continue }
                do {
                    if try RetentionAge(parsing: age).seconds <= 0 {
                        out.append(.invalid(path.appending(kind).appending("maxAge"), "maxAge \(age) would delete everything: give a positive age such as 90d"))
                    }
                } catch {
                    out.append(.invalid(path.appending(kind).appending("maxAge"), "maxAge \"\(age)\" is not a duration (\(error)): write e.g. 90d, 36h or 1w"))
                }
            }
            if let p = t.volume?.path, p.split(separator: "/").contains("..") {
                out.append(.invalid(path.appending("volume").appending("path"), "path \(p) leaves the claim: use a path inside the volume, without `..`"))
            }
            if let sql = t.sql, let age = try? TimeSpan(parsing: sql.maxAge), age.seconds < 86_400 {
                out.append(.warning(FieldPath("spec.targets").appending(.index(i)).appending("sql").appending("maxAge"),
                                    "maxAge \(age) deletes rows younger than a day: check that this is live data you mean to drop"))
            }
        }
        return out
    }

    // MARK: helpers

    func scratchIssues(_ scratch: RestoreTarget, source: BackupSource, path: FieldPath) -> [ValidationIssue] {
        var out = kindMismatch(scratch, source: source, path: path)
        if out.isEmpty, let identity = TargetIdentity(source: source), TargetIdentity(source: source, target: scratch) == identity {
            out.append(.invalid(path, "scratch resolves to the policy's live source (\(identity)): a drill must restore elsewhere; set e.g. scratch.postgres.database to a scratch name"))
        }
        return out
    }

    func kindMismatch(_ target: RestoreTarget, source: BackupSource, path: FieldPath) -> [ValidationIssue] {
        guard let t = target.kinds.first, let s = source.kinds.first, t != s else { return [] }
        return [.invalid(path.appending(t), "the policy backs up \(s), so the target must be \(s) too: rename \(t) to \(s)")]
    }

    static func interval(_ schedule: String, _ zone: String?, now: Date) -> Int64? {
        guard let s = try? Schedule(parsing: schedule, timeZone: zone) else { return nil }
        let times = s.fireTimes(after: now, through: now.addingTimeInterval(400 * 86_400), limit: 12)
        guard times.count >= 2 else { return nil }
        return zip(times, times.dropFirst()).map { Int64($1.timeIntervalSince($0)) }.max()
    }

    /// One definition of "the same S3 endpoint" for validation and the agent (an every-bucket
    /// mirror skips its store's bucket on the same endpoint).
    public static func sameEndpoint(_ a: String, _ b: String) -> Bool {
        func norm(_ s: String) -> String { s.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        return norm(a) == norm(b)
    }

    static func nested(_ a: String, _ b: String) -> Bool {
        func norm(_ s: String) -> String { s.split(separator: "/").joined(separator: "/") }
        let x = norm(a), y = norm(b)
        return x.isEmpty || y.isEmpty || x == y || x.hasPrefix(y + "/") || y.hasPrefix(x + "/")
    }
}

/// What a restore or drill writes to, after applying the target's overrides to the source:
/// equal identities mean "the live source".
public struct TargetIdentity: Sendable, Hashable, CustomStringConvertible {
    public var kind: String
    public var location: [String]

    public init?(source: BackupSource, target: RestoreTarget? = nil) {
        if let p = source.postgres {
            let t = target?.postgres
            kind = "postgres"
            location = [(t?.host ?? p.host).lowercased(), String(t?.port ?? p.port ?? 5432), t?.database ?? p.database]
        } else if let r = source.redis {
            let t = target?.redis
            kind = "redis"
            location = [(t?.host ?? r.host).lowercased(), String(t?.port ?? r.port ?? 6379)]
        } else if let c = source.clickhouse {
            let t = target?.clickhouse
            kind = "clickhouse"
            let renamed = (t?.renameTables ?? [:]).filter { $0.key != $0.value }.isEmpty ? "" : "renamed"
            location = [(t?.url ?? c.url).lowercased(), t?.database ?? c.database, renamed]
        } else if let s = source.s3 {
            let t = target?.s3
            kind = "s3"
            location = [(t?.endpoint ?? s.endpoint).lowercased(), t?.bucket ?? s.bucket ?? "*", t?.prefix ?? s.prefix ?? ""]
        } else if let v = source.volume {
            let t = target?.volume
            kind = "volume"
            location = [t?.claimName ?? v.claimName, (t?.path ?? v.path ?? "").split(separator: "/").joined(separator: "/")]
        } else {
            return nil
        }
    }

    public var description: String { "\(kind) " + location.filter { !$0.isEmpty }.joined(separator: " ") }
}
