import BackstopCore
import Foundation
import KubeModel

/// RTO, RPO and the verdict of a finished drill, pure.
/// - RTO: the wall time of Restore plus Verify (from each step's start to its end as the
///   operator recorded them: Job scheduling included, as in a real recovery).
/// - RPO: how old the restored data was when the drill began. With a fresh backup and a
///   marker it is the gap between the marker and the backup (writes after the marker are what
///   a recovery from that backup would lose); otherwise the backup's age at the drill's start.
public enum DrillMeasurement {
    public static func measure(_ status: DrillRunStatus, spec: DrillRunSpec) -> DrillMeasurements {
        func seconds(_ step: DrillStep) -> Int? {
            guard let s = status.steps?.first(where: { $0.name == step.rawValue }), s.phase == .succeeded,
                  let start = s.startedAt?.date, let end = s.finishedAt?.date else { return nil }
            return max(0, Int(end.timeIntervalSince(start).rounded()))
        }
        var m = DrillMeasurements()
        m.restoreSeconds = seconds(.restore)
        if let restore = m.restoreSeconds, let verify = seconds(.verify) { m.rtoSeconds = restore + verify }
        m.backupBytes = status.backup?.sizeBytes
        if let backupTime = status.backup?.time?.date {
            if spec.takesFreshBackup, let marked = status.marker?.writtenAt?.date {
                m.rpoSeconds = max(0, Int(backupTime.timeIntervalSince(marked).rounded()))
            } else if let started = status.startedAt?.date {
                m.rpoSeconds = max(0, Int(started.timeIntervalSince(backupTime).rounded()))
            }
        }
        return m
    }

    /// Why the measurements miss the objectives, in sentences a person can act on.
    public static func missedObjectives(_ m: DrillMeasurements, objectives: DrillObjectives?, backupTime: Date?) -> [String] {
        var reasons: [String] = []
        if let text = objectives?.rto, let limit = try? TimeSpan(parsing: text) {
            if let rto = m.rtoSeconds {
                if Int64(rto) > limit.seconds {
                    reasons.append("RTO \(TimeSpan(seconds: Int64(rto))) exceeds objective \(limit): restore took \(TimeSpan(seconds: Int64(m.restoreSeconds ?? 0))), verify the rest")
                }
            } else {
                reasons.append("RTO not measured (the restore or verify did not succeed), objective \(limit)")
            }
        }
        if let text = objectives?.rpo, let limit = try? TimeSpan(parsing: text) {
            if let rpo = m.rpoSeconds {
                if Int64(rpo) > limit.seconds {
                    let from = backupTime.map { " the restored backup is from \(UTCTimestamp.rfc3339($0))" } ?? ""
                    reasons.append("RPO \(TimeSpan(seconds: Int64(rpo))) exceeds objective \(limit):\(from); back up more often or check the policy's schedule")
                }
            } else {
                reasons.append("RPO not measured (no backup was chosen), objective \(limit)")
            }
        }
        return reasons
    }
}
