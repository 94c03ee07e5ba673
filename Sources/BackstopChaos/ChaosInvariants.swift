import BackstopApp
import BackstopCore
import DynamicJSON
import Foundation
import KubeModel

/// The promises checked after a chaos run, each a count that must be 0.
struct ChaosInvariants {
    let world: ChaosWorld
    let seen: ChaosObserver.Seen
    let tallies: [DriverTally]
    let crashes: [String]
    let logs: [URL]

    func check(idle: Bool, coverage: inout [String: Int]) async -> [ChaosReport.Invariant] {
        let (lost, unreadable, read) = await artifacts()
        let (leaked, places) = secretsSeen()
        coverage["secret values searched for"] = seen.secretValues.count
        coverage["places searched (logs, Events, Jobs, Pods, Backstop objects)"] = places
        coverage["backup ids tracked"] = seen.backupIDs.values.map(\.count).reduce(0, +)
        coverage["artifacts read back"] = read
        coverage["Jobs seen"] = seen.jobUIDs.count
        return [
            duplicateJobs(),
            lost,
            unreadable,
            stuck(idle: idle),
            workloadsNotRestored(),
            await rotationDisagreements(),
            leaked,
            ChaosReport.Invariant(name: "operator replicas that exited by themselves", count: crashes.count, examples: crashes),
        ]
    }

    /// A Job name that had two uids (a step, slot or request run twice), a backup slot with two Jobs.
    func duplicateJobs() -> ChaosReport.Invariant {
        let names = seen.jobUIDs.filter { $0.value.count > 1 }.keys.sorted()
        let slots = seen.backupSlots.filter { $0.value.count > 1 }.keys.sorted().map { "slot \($0)" }
        return .init(name: "duplicate Jobs (per slot/request/step)", count: names.count + slots.count, examples: names + slots)
    }

    /// Every backup a status ever named must be in the store; every artifact there must match
    /// its manifest (size, SHA-256) and list with `pg_restore -l`.
    func artifacts() async -> (ChaosReport.Invariant, ChaosReport.Invariant, read: Int) {
        var manifests: [String: (ArtifactManifest, URL)] = [:]
        var unreadable: [String] = []
        if let root = world.backupDirectory, let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.lastPathComponent.hasSuffix(ArtifactLayout.manifestSuffix) {
                guard let data = try? Data(contentsOf: url), let m = try? ArtifactManifest.decode(Array(data)) else {
                    unreadable.append("\(url.lastPathComponent): manifest does not decode")
                    continue
                }
                let artifact = URL(fileURLWithPath: String(url.path.dropLast(ArtifactLayout.manifestSuffix.count)))
                manifests["\(m.policy)/\(m.id)"] = (m, artifact)
            }
        }
        for (key, (m, artifact)) in manifests.sorted(by: { $0.key < $1.key }) {
            let size = (try? FileManager.default.attributesOfItem(atPath: artifact.path)[.size] as? Int64) ?? nil
            guard size == m.sizeBytes else { unreadable.append("\(key): \(size.map { "\($0) B" } ?? "missing"), manifest says \(m.sizeBytes) B"); continue }
            let sum = try? await ChildProcess.run("/usr/bin/sha256sum", [artifact.path])
            if sum?.stdout.split(separator: " ").first.map(String.init) != m.sha256 { unreadable.append("\(key): SHA-256 differs from the manifest"); continue }
            let list = try? await ChildProcess.run("\(world.postgres.bindir)/pg_restore", ["-l", artifact.path])
            if list?.succeeded != true { unreadable.append("\(key): pg_restore -l failed") }
        }
        var lost: [String] = []
        for (policy, ids) in seen.backupIDs {
            for id in ids.sorted() where manifests["\(policy)/\(id)"] == nil { lost.append("\(policy)/\(id)") }
        }
        return (.init(name: "backups lost from the store", count: lost.count, examples: lost),
                .init(name: "artifacts unreadable", count: unreadable.count, examples: unreadable), manifests.count)
    }

    /// Operations that never finished, and (after the wait) anything still running.
    func stuck(idle: Bool) -> ChaosReport.Invariant {
        var stuck = tallies.flatMap(\.stuck)
        if !idle {
            let jobs = ((try? world.sim.store.list("batch/v1", "Job", namespace: ChaosWorld.namespace)) ?? [])
                .filter { $0[path: ["status", "completionTime"]] == nil && ($0[path: ["status", "failed"]]?.intValue ?? 0) == 0 }
            stuck += jobs.compactMap { $0[path: ["metadata", "name"]]?.stringValue.map { "Job \($0) still running" } }
            if stuck.isEmpty { stuck.append("the cluster never went idle") }
        }
        return .init(name: "resources stuck without progress", count: stuck.count, examples: stuck)
    }

    /// The fenced writer and the rotated consumer must be back at the replicas they had (1).
    func workloadsNotRestored() -> ChaosReport.Invariant {
        var wrong: [String] = []
        for name in [ChaosWorld.writer, ChaosWorld.consumer] {
            let d = try? world.sim.store.get("apps/v1", "Deployment", namespace: ChaosWorld.namespace, name: name)
            let replicas = d?[path: ["spec", "replicas"]]?.intValue
            if replicas != 1 { wrong.append("Deployment \(name) has \(replicas.map(String.init) ?? "no") replicas, saved 1") }
        }
        return .init(name: "workloads not restored to their saved replicas", count: wrong.count, examples: wrong)
    }

    /// The rotated Secret's password must log in at the source.
    func rotationDisagreements() async -> ChaosReport.Invariant {
        let secret = try? world.sim.store.get("v1", "Secret", namespace: ChaosWorld.namespace, name: ChaosWorld.rotatedSecret)
        guard let encoded = secret?[path: ["data", "password"]]?.stringValue, let data = Data(base64Encoded: encoded) else {
            return .init(name: "rotations leaving source and Secret disagreeing", count: 1, examples: ["the Secret has no password"])
        }
        var refused = false
        for _ in 0..<5 {
            let r = try? await ChildProcess.run("\(world.postgres.bindir)/psql", [
                "-X", "-At", "-h", world.postgres.host, "-p", String(world.postgres.port), "-U", world.role, "-d", "postgres", "-c", "select 1",
            ], environment: ["PGPASSWORD": String(decoding: data, as: UTF8.self), "PGCONNECT_TIMEOUT": "5"])
            if r?.succeeded == true { refused = false; break }
            // Only a refused password says they disagree; another failure (a timeout) is tried again.
            refused = r?.stderr.contains("password authentication failed") ?? false
            if refused { break }
            try? await Task.sleep(for: .milliseconds(300))
        }
        return .init(name: "rotations leaving source and Secret disagreeing", count: refused ? 1 : 0,
                     examples: refused ? ["\(ChaosWorld.rotatedSecret)'s password is refused by the server"] : [])
    }

    /// No value any Secret held may appear in an operator log, an Event, a Backstop object, a Job or a Pod.
    func secretsSeen() -> (ChaosReport.Invariant, places: Int) {
        var places: [(String, String)] = logs.map { ("log \($0.lastPathComponent)", (try? String(contentsOf: $0, encoding: .utf8)) ?? "") }
        let store = world.sim.store
        for (apiVersion, kind) in [("v1", "Event"), ("batch/v1", "Job"), ("v1", "Pod")] {
            for o in (try? store.list(apiVersion, kind)) ?? [] {
                places.append(("\(kind) \(o[path: ["metadata", "name"]]?.stringValue ?? "")", String(decoding: o.serialized(), as: UTF8.self)))
            }
        }
        for kind in Backstop.kinds.map(\.kind) {
            for o in world.list(kind) {
                places.append(("\(kind) \(o[path: ["metadata", "name"]]?.stringValue ?? "")", String(decoding: o.serialized(), as: UTF8.self)))
            }
        }
        var found: [String] = []
        for (place, text) in places where seen.secretValues.contains(where: { text.contains($0) }) { found.append(place) }
        return (.init(name: "Secret values in a log, Event or status", count: found.count, examples: found), places.count)
    }
}
