import KubeModel

/// The guard's acknowledgment: `backstop.dev/allow-delete: "<target>=<count>[,<target>=<count>]"`
/// lets one run delete up to `count` items of `target` although that is over its limits. The
/// count is the one the refused run reported, so an acknowledgment covers what was seen, not
/// whatever a later mistake would delete; once a run used it, it is spent
/// (`status.allowDeleteUsed`, see `CleanupPlanner.spendAcknowledgments`).
public enum AllowDelete {
    /// The allowances, or a message saying what is wrong with the annotation.
    public static func parse(_ text: String?, targets: [String]) -> Result<[String: Int64], CleanupSpecProblem> {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .success([:]) }
        var out: [String: Int64] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let count = Int64(pair[1]), count >= 0 else {
                return .failure(CleanupSpecProblem(message: "annotation \(Backstop.allowDeleteAnnotation): \"\(part)\" is not <target>=<count> (e.g. agent-runs=1200)"))
            }
            guard targets.contains(pair[0]) else {
                return .failure(CleanupSpecProblem(message: "annotation \(Backstop.allowDeleteAnnotation) names \(pair[0]), which is not a target of this policy (targets: \(targets.joined(separator: ", ")))"))
            }
            out[pair[0]] = count
        }
        return .success(out)
    }
}

/// What makes a CleanupPolicy unusable (its spec, or its allow-delete annotation), in words
/// for `Ready=False InvalidSpec`.
public struct CleanupSpecProblem: Error, Sendable, Hashable {
    public var message: String
}
