import AgentContract
import DynamicJSON
import Foundation
import KubeModel

/// Reading the agent's result from a finished Job's Pod: the termination message the agent
/// wrote (its result JSON, at most 4 KiB), or — with `FallbackToLogsOnError` — the tail of its
/// log. Pure, for any owner kind: the planner calls it with cached objects.

/// What one finished agent Job reported.
public struct AgentResult: Sendable, Hashable {
    public var ok: Bool
    /// The agent's reason (`AuthenticationFailed`, …) or the Job's (`DeadlineExceeded`).
    public var reason: String?
    public var message: String?
    /// The full result document when the termination message was JSON.
    public var json: JSONValue?
    /// The same, in the contract's types (empty when the message was not a result document).
    public var report: AgentReport

    public init(ok: Bool, reason: String? = nil, message: String? = nil, json: JSONValue? = nil) {
        self.ok = ok
        self.reason = reason
        self.message = message
        self.json = json
        report = (try? json?.decode(AgentReport.self)) ?? AgentReport()
    }

    /// Total run time the agent measured.
    var durationSeconds: Double? {
        report.durations?.totalSeconds ?? report.durations?.backupSeconds
    }
}

public enum AgentResultReader {
    /// The result of a finished Job, or nil while its Pod's termination state is not in the
    /// cache yet (and the grace period has not passed).
    public static func result(of job: Job, pods: [Pod], now: Date, grace: TimeInterval) -> AgentResult? {
        let terminated = pods
            .filter { $0.metadata.labels?[BackstopLabels.job] == job.name }
            .compactMap { pod -> ContainerStateTerminated? in
                pod.status?.containerStatuses?.first { $0.name == "agent" }?.state?.terminated
                    ?? pod.status?.containerStatuses?.first?.state?.terminated
            }
            .sorted { ($0.finishedAt?.date ?? .distantPast) > ($1.finishedAt?.date ?? .distantPast) }
        if let t = terminated.first {
            return parse(message: t.message, exitCode: t.exitCode, jobSucceeded: job.succeeded)
        }
        let finished = job.finishedAt ?? job.createdAt
        guard now.timeIntervalSince(finished) >= grace || (job.status?.failed ?? 0) + (job.status?.succeeded ?? 0) == 0 else {
            return nil
        }
        let condition = job.status?.conditions?.first { ($0.type == "Failed" || $0.type == "Complete") && $0.status == .true }
        return AgentResult(ok: job.succeeded, reason: job.succeeded ? nil : (condition?.reason ?? "JobFailed"),
                           message: job.succeeded ? nil : (condition?.message ?? "the Job failed without a result from the agent"))
    }

    /// Parses a termination message: the agent's JSON, or (FallbackToLogsOnError) a log tail.
    public static func parse(message: String?, exitCode: Int32, jobSucceeded: Bool) -> AgentResult {
        let text = message ?? ""
        if let json = try? JSONValue(parsing: text), case .object = json {
            let ok = json["ok"]?.boolValue ?? (exitCode == 0)
            return AgentResult(ok: ok && exitCode == 0, reason: json["reason"]?.stringValue ?? (ok ? nil : "AgentFailed"),
                               message: json["message"]?.stringValue, json: json)
        }
        if exitCode == 0 && jobSucceeded { return AgentResult(ok: true) }
        let tail = text.split(separator: "\n").last.map(String.init) ?? ""
        return AgentResult(ok: false, reason: "AgentFailed",
                           message: "exit code \(exitCode)" + (tail.isEmpty ? "" : ": " + String(tail.suffix(300))))
    }
}

