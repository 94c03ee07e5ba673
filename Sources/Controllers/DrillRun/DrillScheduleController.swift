import BackstopCore
import DynamicJSON
import Foundation
import KubeClient
import KubeModel
import KubeRuntime
import Logging

/// `BackupPolicy.spec.drill`: DrillRuns created on their own schedule, the way a CronJob
/// creates Jobs — a deterministic name per slot (a repeated create adopts), the slot's time
/// on the DrillRun, no new drill while one of the policy still runs, and finished drills
/// trimmed to `passedHistoryLimit` passed plus `failedHistoryLimit` failed ones (each
/// defaulting to `historyLimit`).
public enum DrillScheduleController {
    public static let name = "drillschedule"
    /// On a DrillRun a policy's schedule created: the policy's name.
    public static let scheduledLabel = "backstop.dev/drill-schedule"

    @discardableResult
    public static func setup(_ manager: Manager, _ settings: ControllerSettings) -> Controller {
        let policies = manager.informer(BackupPolicy.self)
        let drills = manager.informer(DrillRun.self)
        let controller = manager.controller(name: name, workers: 1) { key, context in
            try await reconcile(key, context, client: manager.client, recorder: manager.recorder, policies: policies, drills: drills, now: settings.clock())
        }
        // Only policies with (or, on this change, without any more) a drill schedule.
        controller.watches(policies, where: { $0.spec.drill != nil })
        controller.watches(drills) { drill in
            drill.metadata.labels?[scheduledLabel].map { [ObjectKey(namespace: drill.metadata.namespace, name: $0)] } ?? []
        }
        return controller
    }

    /// What the schedule asks for now, pure.
    public struct Plan: Sendable, Hashable {
        public var create: DrillRun?
        public var delete: [String] = []
        public var next: Date?
        public var waiting: String?
    }

    public static func plan(policy: BackupPolicy, drills: [DrillRun], now: Date) -> Plan {
        var plan = Plan()
        guard let drill = policy.spec.drill, let schedule = try? Schedule(parsing: drill.schedule, timeZone: drill.timeZone) else { return plan }
        let mine = drills.filter { $0.metadata.labels?[scheduledLabel] == policy.metadata.name }
        func slot(_ d: DrillRun) -> Date? { d.metadata.annotations?[BackstopLabels.slotTime].flatMap(UTCTimestamp.parseRFC3339) }
        let lastSlot = mine.compactMap(slot).max()
        let decision = SlotPlanner.decide(SlotPlanner.Input(schedule: schedule, suspended: drill.suspend ?? false, lastSlot: lastSlot,
                                                            created: policy.metadata.creationTimestamp?.date, now: now))
        plan.next = decision.next
        if case .start(let due, _)? = decision.due {
            if let running = mine.first(where: { $0.status?.phase != .completed }) {
                plan.waiting = "DrillRun \(running.metadata.name ?? "") is still running"
            } else {
                plan.create = newDrill(policy: policy, template: drill.template, slot: due)
            }
        }
        func order(_ d: DrillRun) -> Date { d.status?.finishedAt?.date ?? d.metadata.creationTimestamp?.date ?? .distantPast }
        for (result, kept) in [(DrillResult.passed, drill.passedHistoryLimit), (.failed, drill.failedHistoryLimit)] {
            let limit = max(0, kept ?? drill.historyLimit ?? 3)
            let finished = mine.filter { $0.status?.phase == .completed && $0.status?.result == result }.sorted { order($0) > order($1) }
            plan.delete += finished.dropFirst(limit).compactMap(\.metadata.name)
        }
        return plan
    }

    static func newDrill(policy: BackupPolicy, template: DrillTemplate, slot: Date) -> DrillRun {
        let name = ChildOwner(policy).childName(purpose: "drill", token: UTCTimestamp.compact(slot))
        var meta = ObjectMeta(name: name, namespace: policy.metadata.namespace)
        meta.labels = [scheduledLabel: policy.metadata.name ?? "", BackstopLabels.policy: policy.metadata.name ?? "",
                       BackstopLabels.managedBy: "backstop"]
        meta.annotations = [BackstopLabels.slotTime: UTCTimestamp.rfc3339(slot)]
        meta.ownerReferences = [ChildOwner(policy).reference]
        return DrillRun(metadata: meta, spec: template.spec(policy: policy.metadata.name ?? ""))
    }

    static func reconcile(_ key: ObjectKey, _ context: ReconcileContext, client: KubeClient, recorder: EventRecorder,
                          policies: Informer<BackupPolicy>, drills: Informer<DrillRun>, now: Date) async throws -> ReconcileResult {
        guard let policy = policies.cache.get(key), let drill = policy.spec.drill, policy.metadata.deletionTimestamp == nil else { return .done }
        do { _ = try Schedule(parsing: drill.schedule, timeZone: drill.timeZone) } catch {
            // Backups go on; only the drills wait for a schedule that parses.
            recorder.record(policy, type: .warning, reason: "DrillScheduleInvalid",
                            message: "spec.drill.schedule: \(error.message). No drills are created until it is fixed")
            return .done
        }
        let plan = plan(policy: policy, drills: drills.cache.list(namespace: key.namespace), now: now)
        let api = client.resource(DrillRun.self, namespace: key.namespace)
        if let drill = plan.create {
            do {
                _ = try await api.create(drill)
                recorder.record(policy, type: .normal, reason: "DrillCreated", message: "scheduled DrillRun \(drill.metadata.name ?? "")")
            } catch {
                if error.kind != .alreadyExists { throw error }
            }
        }
        for name in plan.delete {
            do { _ = try await api.delete(name, options: DeleteOptions(propagationPolicy: .background)) } catch {
                if error.kind != .notFound { throw error }
            }
        }
        guard let next = plan.next else { return .done }
        let wait = max(0.05, next.timeIntervalSince(now))
        return .requeue(after: .milliseconds(Int64(wait * 1000) + 20))
    }
}
