import BackstopApp
import DynamicJSON
import Foundation
import KubeModel
import Postgres
import TestSupport

/// What the rotation kill test watches and reads afterwards: real logins, the values the
/// Secrets hold, overlapping runs in the store's history, and everything that is not a Secret.
enum RotationWatch {
    /// False only when the server refuses the password: a connection that fails for another
    /// reason (a timeout on a loaded CI machine) is tried again, it says nothing of the password.
    static func login(_ pg: TestServices.Postgres, _ role: String, _ password: String) async -> Bool {
        for attempt in 0..<5 {
            do {
                let db = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: role, password: password,
                                                                             connectTimeout: .seconds(3)))
                await db.close()
                return true
            } catch let error as PostgresError where error.kind == .authenticationFailed {
                return false
            } catch {
                if attempt < 4 { try? await Task.sleep(for: .milliseconds(200)) }
            }
        }
        return false
    }

    /// Every value the rotated Secret and the pending Secrets hold now (plain text); not the admin's.
    static func heldValues(_ e2e: E2E, _ ns: String) -> Set<String> {
        var values = Set<String>()
        for secret in (try? e2e.sim.store.list("v1", "Secret", namespace: ns)) ?? [] where secret[path: ["metadata", "name"]] != "pg-admin" {
            for (_, v) in secret["data"]?.objectValue ?? [:] {
                if let text = v.stringValue, let data = Data(base64Encoded: text) { values.insert(String(decoding: data, as: UTF8.self)) }
            }
        }
        return values
    }

    static func secretValue(_ e2e: E2E, _ ns: String, _ name: String, _ key: String) -> String? {
        (try? e2e.sim.store.get("v1", "Secret", namespace: ns, name: name))?["data"]?[key]?.stringValue
            .flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Pins the consumer to `value`: while `pin` exists, a consumer started with another password
    /// exits at once (CrashLoopBackOff), so a run rolls back. The file holds a hash, computed the
    /// way the consumer computes it.
    static func pin(_ pin: URL, to value: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "printf %s \"$V\" | sha256sum | cut -d' ' -f1 > \"$PIN\""]
        p.environment = ["V": value, "PIN": pin.path, "PATH": "/usr/bin:/bin"]
        try p.run()
        p.waitUntilExit()
    }

    /// The consumer's command: pinned to another password (see `pin`), it exits; else it runs.
    static func pinnedConsumer(_ pin: URL) -> String {
        "if [ -e \(pin.path) ] && [ \"$(printf %s \"$PGPASSWORD\" | sha256sum | cut -d' ' -f1)\" != \"$(cat \(pin.path))\" ]; then exit 1; fi; "
            + "while true; do sleep 1; done"
    }

    /// From the store's history of SecretRotations: how many times two runs were both past
    /// Validate and unfinished, and how many runs waited at Validate for another one.
    /// nil when the history no longer holds the rotations' creation (it was compacted).
    static func overlaps(_ e2e: E2E, _ ns: String, names: [String]) throws -> (overlaps: Int, waitedRuns: Int)? {
        let history = try e2e.sim.store.history(Backstop.apiVersion, "SecretRotation", namespace: ns, name: nil)
        let created = Set(history.filter { $0.type == .added }.compactMap { $0.object["metadata"]?["name"]?.stringValue })
        guard Set(names).isSubset(of: created) else { return nil }
        var pastValidate: [String: Bool] = [:]
        var overlaps = 0
        var waited = Set<String>()
        for event in history {
            let name = event.object["metadata"]?["name"]?.stringValue ?? ""
            let steps = event.object[path: ["status", "steps"]]?.arrayValue ?? []
            let open = event.object[path: ["status", "run"]] != nil && event.object[path: ["status", "run", "finishedAt"]] == nil
            pastValidate[name] = event.type != .deleted && open && steps.contains { $0["name"] == "Validate" && $0["phase"] == "Succeeded" }
            if pastValidate.values.filter({ $0 }).count > 1 { overlaps += 1 }
            if open, steps.contains(where: { $0["name"] == "Validate" && ($0["message"]?.stringValue ?? "").contains("which rotates the same Secret") }) {
                waited.insert(event.object[path: ["status", "run", "id"]]?.stringValue ?? "")
            }
        }
        return (overlaps, waited.count)
    }

    /// Everything but the Secrets: operator logs, Events, Jobs, Pods and their containers' output
    /// (agents and consumers), workloads, the rotations.
    static func nonSecretText(_ e2e: E2E, _ ns: String, operatorLogs: [String]) -> String {
        var text = operatorLogs.joined(separator: "\n")
        for (api, kind) in [("v1", "Event"), ("batch/v1", "Job"), ("v1", "Pod"), ("apps/v1", "Deployment"), (Backstop.apiVersion, "SecretRotation")] {
            for object in (try? e2e.sim.store.list(api, kind, namespace: ns)) ?? [] {
                text += String(decoding: object.serialized(sortedKeys: true), as: UTF8.self)
                if kind == "Pod", let uid = object["metadata"]?["uid"]?.stringValue {
                    for c in object[path: ["spec", "containers"]]?.arrayValue ?? [] {
                        text += e2e.sim.logs(podUID: uid, container: c["name"]?.stringValue ?? "") ?? ""
                    }
                }
            }
        }
        return text
    }
}
