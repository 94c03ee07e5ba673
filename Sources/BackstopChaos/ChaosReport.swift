import Foundation

/// What a chaos run did and which promises held. Every invariant must be 0.
public struct ChaosReport: Sendable {
    public struct Invariant: Sendable {
        public var name: String
        public var count: Int
        /// What was found, for a person to look at (names, never values of Secrets).
        public var examples: [String]
    }

    public var kills = 0
    /// Kills that landed while a restore, drill, rotation, cleanup or backup Job was running.
    public var killsMidOperation = 0
    /// Leadership changes seen on the Lease (holder identity changed).
    public var leaderChanges = 0
    /// Requests the API server answered with an injected 5xx/429/409.
    public var faultResponses = 0
    public var watchDrops = 0
    public var compactions = 0
    public var apiServerRestarts = 0
    /// Completed operations by kind ("backups", "restores", …) → count, outcomes beside.
    public var operations: [String: Int] = [:]
    public var outcomes: [String: [String: Int]] = [:]
    /// Operations that ended other than well, with their status messages.
    public var failures: [String] = []
    public var wallSeconds = 0.0
    /// From the last fault (kill or API fault) until every resource finished what it started.
    public var convergeSeconds: Double?
    public var invariants: [Invariant] = []
    /// What the invariants looked at (a check over nothing proves nothing): Secret values
    /// searched for, places searched, backup ids tracked, artifacts read back, Jobs seen.
    public var coverage: [String: Int] = [:]

    public var holds: Bool { invariants.allSatisfy { $0.count == 0 } }

    public func render() -> String {
        var lines = ["chaos run: \(kills) kills (\(killsMidOperation) mid-operation), \(leaderChanges) leadership changes, "
            + "\(faultResponses) injected API errors, \(watchDrops) watch drops, \(compactions) compactions (410), "
            + "\(apiServerRestarts) API-server restarts"]
        let ops = operations.keys.sorted().map { kind -> String in
            let detail = (outcomes[kind] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            return "\(kind) \(operations[kind] ?? 0)" + (detail.isEmpty ? "" : " (\(detail))")
        }
        lines.append("operations completed: " + ops.joined(separator: "; "))
        for f in failures.prefix(10) { lines.append("  not well: \(f)") }
        lines.append(String(format: "wall time %.0f s; converged %@ after the last fault", wallSeconds,
                            convergeSeconds.map { String(format: "%.1f s", $0) } ?? "NOT"))
        lines.append("checked: " + coverage.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        lines.append("invariants (all must be 0):")
        for i in invariants {
            lines.append(String(format: "  %-44@ %d", i.name as NSString, i.count)
                + (i.examples.isEmpty ? "" : "   e.g. " + i.examples.prefix(3).joined(separator: "; ")))
        }
        lines.append(holds ? "RESULT: every invariant held" : "RESULT: FAILED")
        return lines.joined(separator: "\n")
    }
}
