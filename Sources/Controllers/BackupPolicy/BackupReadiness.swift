import BackstopCore
import Foundation
import KubeModel

private typealias Ready = BackupPolicyConditions.Ready
private typealias Stale = BackupPolicyConditions.Stale
private typealias LastBackupSucceeded = BackupPolicyConditions.LastBackupSucceeded

/// The BackupPolicy planner's checks and its summary conditions: is the spec usable, are the
/// referenced Secrets there, is the newest backup too old (Stale), and the Ready summary.
extension BackupPlanner {
    /// Schema and semantic checks; nil when the spec is usable.
    func validationProblem(_ policy: BackupPolicy) -> String? {
        do {
            _ = try Schedule(parsing: policy.spec.schedule, timeZone: policy.spec.timeZone)
        } catch {
            return "spec.schedule: \(error.message). Fix the schedule; no backups run until then"
        }
        let errors = BackstopValidator().validate(policy).filter { $0.severity == .error }
        guard !errors.isEmpty else { return nil }
        return errors.prefix(3).map(\.description).joined(separator: "; ")
            + (errors.count > 3 ? " (and \(errors.count - 3) more)" : "") + ". Fix the policy; no backups run until then"
    }

    func staleness(_ w: inout Work) {
        guard let text = w.o.policy.spec.verify?.staleAfter, let span = try? TimeSpan(parsing: text) else {
            if w.conditions.find(Stale.self) == nil {
                w.set(Stale.self, .false, .notConfigured, "spec.verify.staleAfter is not set")
            }
            return
        }
        let since = w.plan.status.lastSuccessfulTime?.date ?? w.o.policy.metadata.creationTimestamp?.date ?? w.o.now
        let staleAt = since.addingTimeInterval(Double(span.seconds))
        let wasStale = w.conditions.isTrue(Stale.self)
        if w.o.now >= staleAt {
            let message = "No successful backup since \(Time(since).rfc3339) (staleAfter \(text))"
            w.set(Stale.self, .true, .backupStale, message)
            if !wasStale { w.event("BackupStale", message, warning: true) }
        } else {
            w.set(Stale.self, .false, .fresh, "Stale after \(Time(staleAt).rfc3339) without a successful backup")
            w.requeue.append(staleAt.timeIntervalSince(w.o.now))
        }
    }

    func readiness(_ w: inout Work, suspended: Bool, next: Date?, oldReady: Condition?) {
        let nextText = next.map { "next backup at \(Time($0).rfc3339)" } ?? "no scheduled backups"
        if w.conditions.isTrue(Stale.self) {
            w.set(Ready.self, .false, .backupStale, w.conditions.find(Stale.self)?.message ?? "stale")
        } else if let last = w.conditions.find(LastBackupSucceeded.self), last.status == .false {
            w.set(Ready.self, .false, .backupFailed, "Last backup failed (\(last.reason)): \(last.message); \(nextText)")
        } else if suspended {
            w.set(Ready.self, .true, .suspended, "spec.suspend is true: no scheduled backups (run-now still works)")
        } else {
            w.set(Ready.self, .true, .scheduled, nextText.prefix(1).uppercased() + nextText.dropFirst())
        }
        if let oldReady, oldReady.status == .false, w.conditions.isTrue(Ready.self),
           ["InvalidSpec", "SecretMissing"].contains(oldReady.reason) {
            w.event("Recovered", "\(oldReady.reason) resolved; backups are scheduled again")
        }
    }
}
