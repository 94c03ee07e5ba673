import AgentContract
import Foundation
import KubeClient
import KubeModel

/// What a planner needs to know about a referenced Secret.
public enum SecretState: Sendable, Hashable {
    /// Present, with these keys.
    case present(keys: Set<String>)
    case missing
}

/// The Secrets an owner's spec names: read by GET only when a Job may start (existence and key
/// names; values are never kept, logged or copied), and what is missing, in words for a condition.
public enum SecretChecks {
    /// "Secret x not found" / "Secret x has no key y", once each, in reference order.
    public static func missing(_ refs: [SecretKeySelector], _ secrets: [String: SecretState]) -> [String] {
        var out: [String] = []
        for ref in refs {
            switch secrets[ref.name] {
            case .missing?, nil:
                let text = "Secret \(ref.name) not found"
                if !out.contains(text) { out.append(text) }
            case .present(let keys)?:
                if !keys.contains(ref.key) { out.append("Secret \(ref.name) has no key \(ref.key)") }
            }
        }
        return out
    }

    public static func read(_ names: [String], namespace: String, client: KubeClient) async throws -> [String: SecretState] {
        var out: [String: SecretState] = [:]
        let api = client.resource(Secret.self, namespace: namespace)
        for name in names {
            if let secret = try await api.getIfExists(name) {
                out[name] = .present(keys: Set((secret.data ?? [:]).keys).union((secret.stringData ?? [:]).keys))
            } else {
                out[name] = .missing
            }
        }
        return out
    }
}

/// S3 credentials as agent Secret files, for every spec that talks to a bucket.
extension AgentMounts {
    static let defaultAccessKeyKey = "AWS_ACCESS_KEY_ID"
    static let defaultSecretKeyKey = "AWS_SECRET_ACCESS_KEY"

    /// The two keys of an S3 credentials reference (AWS names unless the reference says otherwise).
    public static func s3Keys(_ c: S3CredentialsRef) -> [SecretKeySelector] {
        [SecretKeySelector(name: c.name, key: c.accessKeyIDKey ?? defaultAccessKeyKey),
         SecretKeySelector(name: c.name, key: c.secretAccessKeyKey ?? defaultSecretKeyKey)]
    }

    /// The endpoint, region (us-east-1 unless given) and the mounted key files of `credentials`.
    public mutating func s3Connection(_ endpoint: String, region: String?, credentials: S3CredentialsRef?) -> S3Connection {
        let keys = credentials.map(Self.s3Keys)
        return S3Connection(endpoint: endpoint, region: region ?? "us-east-1", accessKeyIdFile: keys.map { secretFile($0[0]) },
                            secretAccessKeyFile: keys.map { secretFile($0[1]) })
    }
}

/// The Secret gate a scheduled planner passes before it may start a Job. Secrets are read (one
/// GET each) only when it matters: a Job may start, the spec changed, or the last plan found one
/// missing or the spec invalid. Pure.
public enum SecretGate {
    public enum Verdict: Sendable, Hashable {
        /// Nothing is missing (or nothing to check now).
        case proceed
        /// Read the Secrets and plan again.
        case read
        /// A Secret or key is missing: the message for `Ready=False SecretMissing`.
        case missing(String)
    }

    /// `work`: what does not run until the Secret exists (`backup`, `cleanup`).
    public static func check(_ refs: [SecretKeySelector], secrets: [String: SecretState]?, specChanged: Bool,
                             lastReadyReason: String?, work: String) -> Verdict {
        if let secrets {
            let missing = SecretChecks.missing(refs, secrets)
            guard !missing.isEmpty else { return .proceed }
            return .missing(missing.joined(separator: "; ") + ". Create it (or fix the reference in spec); no \(work) runs until then")
        }
        if !refs.isEmpty, specChanged || lastReadyReason == "SecretMissing" || lastReadyReason == "InvalidSpec" { return .read }
        return .proceed
    }
}

/// When a planner looks again: the soonest of the moments it noted, a little past the instant
/// (so a slot is due when the reconcile runs); nil when there is none.
public enum Requeue {
    public static func after(_ intervals: [TimeInterval]) -> Duration? {
        guard let soonest = intervals.filter({ $0 >= 0 }).min() else { return nil }
        return .milliseconds(Int64((soonest * 1000).rounded(.up)) + 50)
    }

    public static func seconds(_ d: Duration) -> TimeInterval {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
