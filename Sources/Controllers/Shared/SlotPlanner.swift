import BackstopCore
import Foundation

/// The one decision every scheduled kind makes (BackupPolicy now; CleanupPolicy, SecretRotation
/// and drill schedules next): given the schedule, the last recorded slot, a run-now request,
/// `suspend` and `startingDeadlineSeconds`, what is due right now and when to look again.
/// A pure function, like `LeaseElection.decide`: callers order it among their own work (a
/// BackupPolicy runs its prune and catalog follow-ups first) and act on the answer.
public enum SlotPlanner {
    public struct Input: Sendable, Hashable {
        public var schedule: Schedule
        public var suspended: Bool
        /// `status.lastScheduleTime`: the newest slot already answered (started or skipped).
        public var lastSlot: Date?
        /// The object's creation: slots before it are never due.
        public var created: Date?
        /// The run-now annotation value, and the value the last manual run answered.
        public var runNow: String?
        public var answeredRunNow: String?
        public var startingDeadlineSeconds: Int64?
        public var now: Date

        public init(schedule: Schedule, suspended: Bool = false, lastSlot: Date? = nil, created: Date? = nil,
                    runNow: String? = nil, answeredRunNow: String? = nil, startingDeadlineSeconds: Int64? = nil, now: Date) {
            self.schedule = schedule
            self.suspended = suspended
            self.lastSlot = lastSlot
            self.created = created
            self.runNow = runNow
            self.answeredRunNow = answeredRunNow
            self.startingDeadlineSeconds = startingDeadlineSeconds
            self.now = now
        }
    }

    /// A scheduled slot that fell due.
    public enum Due: Sendable, Hashable {
        /// Start a run for `slot`; `skipped` earlier slots were due too and are not run (only
        /// the latest runs, like a CronJob after downtime).
        case start(slot: Date, skipped: Int)
        /// The slot is more than `startingDeadlineSeconds` late: record it as answered, run nothing.
        case missed(slot: Date, skipped: Int, deadlineSeconds: Int64)

        public var slot: Date {
            switch self {
            case .start(let slot, _), .missed(let slot, _, _): slot
            }
        }
        public var skipped: Int {
            switch self {
            case .start(_, let n), .missed(_, let n, _): n
            }
        }
    }

    public struct Decision: Sendable, Hashable {
        /// Where counting starts: the last slot, else the creation time, else now.
        public var anchor: Date
        /// The next slot after now (nil when suspended or the schedule never fires again).
        public var next: Date?
        /// A run-now value not answered yet (suspend does not stop run-now).
        public var runNow: String?
        /// The due scheduled slot, nil when suspended or none is due.
        public var due: Due?

        /// Something wants to run now (a run-now value or a due slot, even a missed one: a
        /// `Replace` policy stops the running Job for either).
        public var wantsRun: Bool { runNow != nil || due != nil }
    }

    public static func decide(_ input: Input) -> Decision {
        let anchor = input.lastSlot ?? input.created ?? input.now
        let next = input.suspended ? nil : input.schedule.nextFireTime(after: max(input.now, anchor))
        let runNow = input.runNow.flatMap { !$0.isEmpty && $0 != input.answeredRunNow ? $0 : nil }
        guard !input.suspended, let slot = input.schedule.mostRecentFireTime(after: anchor, atOrBefore: input.now) else {
            return Decision(anchor: anchor, next: next, runNow: runNow, due: nil)
        }
        // Without a recorded slot, earlier slots since creation are not "skipped": none was owed.
        let skipped = input.lastSlot == nil ? 0
            : input.schedule.fireTimes(after: anchor, through: slot.addingTimeInterval(-0.001), limit: 100).count
        let due: Due
        if let deadline = input.startingDeadlineSeconds, input.now.timeIntervalSince(slot) > Double(deadline) {
            due = .missed(slot: slot, skipped: skipped, deadlineSeconds: deadline)
        } else {
            due = .start(slot: slot, skipped: skipped)
        }
        return Decision(anchor: anchor, next: next, runNow: runNow, due: due)
    }
}
