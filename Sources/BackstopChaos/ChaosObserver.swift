import DynamicJSON
import Foundation
import KubeModel
import Synchronization

/// Watches the cluster's store through the whole run (every 100 ms) and keeps what the
/// invariants need afterwards: every Job name with the uids it ever had, every backup slot with
/// its Jobs, every value any Secret held, every backup id a status ever named, leader changes.
final class ChaosObserver: Sendable {
    struct Seen: Sendable {
        var jobUIDs: [String: Set<String>] = [:]
        /// "policy/slot" of backup Jobs → Job names (two names for one slot is a duplicate run).
        var backupSlots: [String: Set<String>] = [:]
        var secretValues: Set<String> = []
        /// Backup ids named by a policy's lastBackup or a drill's backup: each must still be in the store.
        var backupIDs: [String: Set<String>] = [:]
        var leader: String?
        var leaderChanges = 0
    }

    private let state = Mutex(Seen())
    private let world: ChaosWorld

    init(world: ChaosWorld) { self.world = world }

    var seen: Seen { state.withLock { $0 } }

    func run() async {
        while !Task.isCancelled {
            sample()
            try? await Task.sleep(for: .milliseconds(100))
        }
        sample()
    }

    private func sample() {
        let store = world.sim.store, ns = ChaosWorld.namespace
        let jobs = (try? store.list("batch/v1", "Job", namespace: ns)) ?? []
        let secrets = (try? store.list("v1", "Secret", namespace: ns)) ?? []
        let policies = world.list("BackupPolicy").compactMap { try? $0.decode(BackupPolicy.self) }
        let drills = world.list("DrillRun").compactMap { try? $0.decode(DrillRun.self) }
        let holder = (try? store.get("coordination.k8s.io/v1", "Lease", namespace: "backstop-system", name: "backstop-controller"))?[path: ["spec", "holderIdentity"]]?.stringValue
        state.withLock { s in
            for j in jobs {
                guard let name = j[path: ["metadata", "name"]]?.stringValue, let uid = j[path: ["metadata", "uid"]]?.stringValue else { continue }
                s.jobUIDs[name, default: []].insert(uid)
                let labels = j[path: ["metadata", "labels"]]
                // Scheduled slots only: run-now Jobs are all "manual", told apart by name (one per run-now value).
                if labels?["backstop.dev/operation"]?.stringValue == "backup", let p = labels?["backstop.dev/policy"]?.stringValue,
                   let slot = labels?["backstop.dev/slot"]?.stringValue, slot != "manual" {
                    s.backupSlots["\(p)/\(slot)", default: []].insert(name)
                }
            }
            for secret in secrets {
                for (_, v) in secret["data"]?.objectValue ?? [:] {
                    // Short values ("postgres", a port) would match innocent text; every credential here is longer.
                    if let text = v.stringValue, let data = Data(base64Encoded: text), data.count >= 12 {
                        s.secretValues.insert(String(decoding: data, as: UTF8.self))
                    }
                }
            }
            for p in policies {
                if let name = p.metadata.name, let id = p.status?.lastBackup?.id { s.backupIDs[name, default: []].insert(id) }
            }
            for d in drills {
                if let id = d.status?.backup?.id { s.backupIDs[d.spec.policyRef.name, default: []].insert(id) }
            }
            if let holder, !holder.isEmpty, holder != s.leader {
                if s.leader != nil { s.leaderChanges += 1 }
                s.leader = holder
            }
        }
    }
}
