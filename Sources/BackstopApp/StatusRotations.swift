import Foundation
import KubeModel

/// `backstop status`, the rotation part: when was each Secret last rotated, and did every
/// consumer come back healthy. Rotations in trouble (rolled back, failed, or running) first.
extension StatusReport {
    public static func renderRotations(_ rotations: [SecretRotation], now: Date) -> String {
        guard !rotations.isEmpty else { return "" }
        func trouble(_ r: SecretRotation) -> Int {
            switch r.status?.phase?.rawValue {
            case "RolledBack", "Failed": 0
            case "Succeeded", "Idle", nil: 2
            default: 1  // running
            }
        }
        let sorted = rotations.sorted {
            (trouble($0), $0.metadata.namespace ?? "", $0.metadata.name ?? "") < (trouble($1), $1.metadata.namespace ?? "", $1.metadata.name ?? "")
        }
        var table = [["NAMESPACE", "ROTATION", "SECRET", "LAST ROTATED", "NEXT", "PHASE", "CONSUMERS", "DETAIL"]]
        for r in sorted {
            let s = r.status
            table.append([r.metadata.namespace ?? "", r.metadata.name ?? "", r.spec.secretRef.name,
                          s?.lastRotationTime.map { "\(age($0.date, now: now)) ago" } ?? "never",
                          s?.nextRotationTime.map { next($0.date, now: now) } ?? (r.spec.schedule == nil ? "on demand" : "-"),
                          s?.phase?.rawValue ?? "Pending", consumers(s), String(detail(r).prefix(100))])
        }
        let healthy = sorted.filter { trouble($0) == 2 && $0.status?.consumers?.allSatisfy { $0.ready == true } != false }.count
        return "\n" + columns(table) + "\n\(sorted.count) rotation(s), \(healthy) healthy (last run succeeded, every consumer ready).\n"
    }

    /// `2/2 ready`, or the consumers that were not ready after the last run.
    static func consumers(_ s: SecretRotationStatus?) -> String {
        guard let list = s?.consumers, !list.isEmpty else { return "-" }
        let notReady = list.filter { $0.ready != true }.map { "\($0.kind)/\($0.name)" }
        return notReady.isEmpty ? "\(list.count)/\(list.count) ready" : "not ready: " + notReady.joined(separator: ", ")
    }

    static func detail(_ r: SecretRotation) -> String {
        let s = r.status
        if let running = s?.steps?.first(where: { $0.phase == .running }) { return "\(running.name): \(running.message ?? "")" }
        return s?.message ?? ""
    }
}
