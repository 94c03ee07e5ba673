import DynamicJSON
import Foundation

/// Deletion propagation (§L).
public enum PropagationPolicy: String, Sendable {
    case background = "Background", foreground = "Foreground", orphan = "Orphan"
}

/// `DeleteOptions` after merging the body and the query.
struct DeleteOptions: Sendable {
    var propagation: PropagationPolicy?
    var dryRun = false
    var preconditionUID: String?
    var preconditionRV: String?
    /// Set when the request said `orphanDependents=false` explicitly (then a pending delete is 202).
    var explicitNoOrphan = false
    /// `gracePeriodSeconds`: for Pods the kubelet's SIGTERM → SIGKILL window; 0 removes at once.
    var gracePeriodSeconds: Int64?
}

enum DeleteOutcome: Sendable {
    /// Gone now; the last state carries the deletion's resourceVersion.
    case deleted(JSONValue)
    /// Still present with a deletionTimestamp, waiting for finalizers.
    case pending(JSONValue)
}

extension StoreState {
    static let foregroundFinalizer = "foregroundDeletion"
    static let orphanFinalizer = "orphan"
    static let crdCleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

    mutating func delete(_ type: ResourceType, namespace: String?, name: String,
                         options: DeleteOptions) throws(KubeAPIError) -> DeleteOutcome
    {
        let key = ObjectKey(namespace: type.namespaced ? (namespace ?? "") : "", name: name)
        guard let stored = tables[type.storage]?[key] else { throw KubeAPIError.notFound(type.groupResource, name) }
        let uid = stored["metadata"]?["uid"]?.stringValue ?? ""
        let currentRV = stored["metadata"]?["resourceVersion"]?.stringValue ?? ""
        if let want = options.preconditionUID, want != uid {
            throw KubeAPIError.conflict(type.groupResource, name,
                                        "Precondition failed: UID in precondition: \(want), UID in object meta: \(uid)")
        }
        if let want = options.preconditionRV, want != currentRV {
            throw KubeAPIError.conflict(type.groupResource, name,
                                        "Precondition failed: ResourceVersion in precondition: \(want), ResourceVersion in object meta: \(currentRV)")
        }
        // A repeat DELETE while finalizers run changes nothing (a forced Pod delete finishes it).
        if stored["metadata"]?["deletionTimestamp"] != nil {
            if type.tag == .pod, options.gracePeriodSeconds == 0, !options.dryRun {
                return finishPodDeletion(type, key)
            }
            return .pending(Conversion.toServed(stored, type))
        }
        let podGrace = type.tag == .pod ? podGracePeriod(stored, options) : 0

        var obj = stored
        var finalizers = (obj["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
        switch options.propagation {
        case .orphan?: if !finalizers.contains(Self.orphanFinalizer) { finalizers.append(Self.orphanFinalizer) }
        case .foreground?: if !finalizers.contains(Self.foregroundFinalizer) { finalizers.append(Self.foregroundFinalizer) }
        default: break
        }
        if type.tag == .crd {
            let group = obj["spec"]?["group"]?.stringValue ?? ""
            let plural = obj["spec"]?["names"]?["plural"]?.stringValue ?? ""
            let crs = GroupResource(group: group, resource: plural)
            if !(tables[crs]?.isEmpty ?? true) { finalizers.append(Self.crdCleanupFinalizer) }
        }
        var waiting = !finalizers.isEmpty || podGrace > 0
        if type.tag == .namespace {
            // Namespaces always pass through Terminating; the namespace controller empties them.
            obj[path: ["status", "phase"]] = "Terminating"
            if !(obj["spec"]?["finalizers"]?.arrayValue ?? []).isEmpty { waiting = true }
        }
        if options.dryRun {
            return waiting ? .pending(Conversion.toServed(obj, type)) : .deleted(Conversion.toServed(obj, type))
        }
        let rv = nextRV()
        if waiting {
            obj[path: ["metadata", "finalizers"]] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
            obj[path: ["metadata", "deletionTimestamp"]] = .string(Timestamp.format(clock.now))
            obj[path: ["metadata", "deletionGracePeriodSeconds"]] = .int(podGrace)
            setRV(&obj, rv)
            put(type.storage, key, obj)
            emit(StoreEvent(type: .modified, resource: type.storage, object: obj, oldObject: stored, resourceVersion: rv))
            afterDeletionStarted(type, obj)
            return .pending(Conversion.toServed(obj, type))
        }
        setRV(&obj, rv)
        remove(type.storage, key)
        emit(StoreEvent(type: .deleted, resource: type.storage, object: obj, resourceVersion: rv))
        afterRemove(type.storage, obj)
        return .deleted(Conversion.toServed(obj, type))
    }

    /// Graceful deletion (§L): a Pod the kubelet runs (not yet Succeeded/Failed) keeps a
    /// deletionTimestamp for its grace period; the kubelet stops its processes and then removes it.
    func podGracePeriod(_ pod: JSONValue, _ options: DeleteOptions) -> Int64 {
        guard gracefulPodDeletion else { return 0 }
        let phase = pod["status"]?["phase"]?.stringValue ?? "Pending"
        if phase == "Succeeded" || phase == "Failed" { return 0 }
        return max(0, options.gracePeriodSeconds ?? pod["spec"]?["terminationGracePeriodSeconds"]?.intValue ?? 30)
    }

    /// The kubelet's (or a forced) final delete of a Pod whose processes are gone: removed now
    /// unless finalizers remain, which then keep it with a zero grace period.
    mutating func finishPodDeletion(_ type: ResourceType, _ key: ObjectKey) -> DeleteOutcome {
        guard var obj = tables[type.storage]?[key] else { return .deleted([:]) }
        let old = obj
        let rv = nextRV()
        if !(obj["metadata"]?["finalizers"]?.arrayValue ?? []).isEmpty {
            obj[path: ["metadata", "deletionGracePeriodSeconds"]] = 0
            setRV(&obj, rv)
            put(type.storage, key, obj)
            emit(StoreEvent(type: .modified, resource: type.storage, object: obj, oldObject: old, resourceVersion: rv))
            return .pending(Conversion.toServed(obj, type))
        }
        setRV(&obj, rv)
        remove(type.storage, key)
        emit(StoreEvent(type: .deleted, resource: type.storage, object: obj, resourceVersion: rv))
        afterRemove(type.storage, obj)
        return .deleted(Conversion.toServed(obj, type))
    }

    /// Removes one finalizer (controllers: GC, namespace, CRD cleanup) through the normal update path.
    mutating func removeFinalizer(_ gr: GroupResource, _ key: ObjectKey, _ finalizer: String) {
        guard let type = registry.storageType(gr), let current = tables[gr]?[key] else { return }
        let list = (current["metadata"]?["finalizers"]?.arrayValue ?? []).filter { $0.stringValue != finalizer }
        _ = try? update(type, namespace: key.namespace, name: key.name, subresource: .main,
                        options: WriteOptions(fieldManager: nil)) { old in
            var o = old!
            o[path: ["metadata", "finalizers"]] = list.isEmpty ? nil : .array(list)
            return o
        }
    }

    /// Hooks after an object gets its deletionTimestamp.
    mutating func afterDeletionStarted(_ type: ResourceType, _ stored: JSONValue) {
        if type.tag == .crd {
            // Delete every CR of this CRD; their own finalizers are honoured.
            let group = stored["spec"]?["group"]?.stringValue ?? ""
            let plural = stored["spec"]?["names"]?["plural"]?.stringValue ?? ""
            let crs = GroupResource(group: group, resource: plural)
            guard let crType = registry.storageType(crs) else { return }
            for key in cachedSortedKeys(crs) {
                _ = try? delete(crType, namespace: key.namespace, name: key.name, options: DeleteOptions())
            }
            finishCRDCleanupIfDone(crs)
        }
    }

    /// Hooks after an object left the store.
    mutating func afterRemove(_ gr: GroupResource, _ stored: JSONValue) {
        if gr == GroupResource(group: "apiextensions.k8s.io", resource: "customresourcedefinitions") {
            registry.setCRD(stored["metadata"]?["name"]?.stringValue ?? "", [])
        } else if registry.storageType(gr)?.tag == .custom {
            finishCRDCleanupIfDone(gr)
        }
    }

    private mutating func finishCRDCleanupIfDone(_ crs: GroupResource) {
        guard tables[crs]?.isEmpty ?? true else { return }
        let crdGR = GroupResource(group: "apiextensions.k8s.io", resource: "customresourcedefinitions")
        let key = ObjectKey(namespace: "", name: "\(crs.resource).\(crs.group)")
        guard let crd = tables[crdGR]?[key], crd["metadata"]?["deletionTimestamp"] != nil else { return }
        removeFinalizer(crdGR, key, Self.crdCleanupFinalizer)
    }

    /// Hooks after a create or update was stored.
    mutating func afterCommit(_ type: ResourceType, old: JSONValue?, new: JSONValue) {
        if type.tag == .crd, new["metadata"]?["deletionTimestamp"] == nil || old == nil {
            registry.setCRD(new["metadata"]?["name"]?.stringValue ?? "", CRDSupport.resourceTypes(from: new))
        }
    }
}
