import DynamicJSON

/// The garbage collector and namespace finalization (§L), as store-level steps that run under
/// the store lock, driven by `ControllerSet` from store events.
extension StoreState {
    /// True when the owner a reference names exists (same uid; a namespaced dependent may only
    /// be owned by cluster-scoped owners or owners in its own namespace).
    func ownerExists(_ ref: JSONValue, dependentNamespace: String) -> Bool {
        guard let uid = ref["uid"]?.stringValue, let loc = uidIndex[uid] else { return false }
        if !loc.key.namespace.isEmpty, loc.key.namespace != dependentNamespace { return false }
        return tables[loc.resource]?[loc.key] != nil
    }

    /// Deletes a dependent whose owners are all gone, or drops its dangling references.
    mutating func gcDependent(_ ref: StoredRef) {
        guard let obj = tables[ref.resource]?[ref.key], let type = registry.storageType(ref.resource) else { return }
        let owners = obj["metadata"]?["ownerReferences"]?.arrayValue ?? []
        guard !owners.isEmpty, obj["metadata"]?["deletionTimestamp"] == nil else { return }
        let alive = owners.filter { ownerExists($0, dependentNamespace: ref.key.namespace) }
        if alive.isEmpty {
            _ = try? delete(type, namespace: ref.key.namespace, name: ref.key.name, options: DeleteOptions(propagation: .background))
        } else if alive.count < owners.count {
            setOwnerReferences(type, ref.key, alive)
        }
    }

    private mutating func setOwnerReferences(_ type: ResourceType, _ key: ObjectKey, _ refs: [JSONValue]) {
        _ = try? update(type, namespace: key.namespace, name: key.name, subresource: .main, options: WriteOptions(fieldManager: "garbage-collector")) { old in
            var o = old!
            o[path: ["metadata", "ownerReferences"]] = refs.isEmpty ? nil : .array(refs)
            return o
        }
    }

    /// An owner deleted with `propagationPolicy=Foreground`: delete its dependents, and drop the
    /// `foregroundDeletion` finalizer once no blocking dependent remains.
    mutating func gcForeground(_ ref: StoredRef) {
        guard let owner = tables[ref.resource]?[ref.key], let uid = owner["metadata"]?["uid"]?.stringValue else { return }
        var blocking = false
        for dep in dependents[uid] ?? [] {
            guard let obj = tables[dep.resource]?[dep.key], let type = registry.storageType(dep.resource) else { continue }
            let refToOwner = (obj["metadata"]?["ownerReferences"]?.arrayValue ?? []).first { $0["uid"]?.stringValue == uid }
            if obj["metadata"]?["deletionTimestamp"] == nil {
                _ = try? delete(type, namespace: dep.key.namespace, name: dep.key.name, options: DeleteOptions(propagation: .foreground))
            }
            if refToOwner?["blockOwnerDeletion"]?.boolValue == true, tables[dep.resource]?[dep.key] != nil { blocking = true }
        }
        if !blocking { removeFinalizer(ref.resource, ref.key, Self.foregroundFinalizer) }
    }

    /// An owner deleted with `propagationPolicy=Orphan`: strip it from its dependents' references.
    mutating func gcOrphan(_ ref: StoredRef) {
        guard let owner = tables[ref.resource]?[ref.key], let uid = owner["metadata"]?["uid"]?.stringValue else { return }
        for dep in dependents[uid] ?? [] {
            guard let obj = tables[dep.resource]?[dep.key], let type = registry.storageType(dep.resource) else { continue }
            let refs = (obj["metadata"]?["ownerReferences"]?.arrayValue ?? []).filter { $0["uid"]?.stringValue != uid }
            setOwnerReferences(type, dep.key, refs)
        }
        removeFinalizer(ref.resource, ref.key, Self.orphanFinalizer)
    }

    /// The whole-store scan the collector runs at start.
    mutating func gcScanAll() {
        for (gr, table) in tables {
            for (key, obj) in table {
                let ref = StoredRef(resource: gr, key: key)
                if obj["metadata"]?["ownerReferences"] != nil { gcDependent(ref) }
                gcFinalizers(ref)
            }
        }
    }

    /// Runs the policy finalizers an object being deleted carries.
    mutating func gcFinalizers(_ ref: StoredRef) {
        guard let obj = tables[ref.resource]?[ref.key], obj["metadata"]?["deletionTimestamp"] != nil else { return }
        let finalizers = (obj["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue)
        if finalizers.contains(Self.orphanFinalizer) { gcOrphan(ref) }
        if finalizers.contains(Self.foregroundFinalizer) { gcForeground(ref) }
    }

    // MARK: - Namespaces

    /// Deletes everything in a terminating namespace; once it is empty, drops the `kubernetes`
    /// finalizer so the namespace goes away.
    mutating func finalizeNamespace(_ name: String) {
        let nsGR = GroupResource(group: "", resource: "namespaces")
        let nsKey = ObjectKey(namespace: "", name: name)
        guard let ns = tables[nsGR]?[nsKey], ns["metadata"]?["deletionTimestamp"] != nil else { return }
        var remaining = false
        for gr in tables.keys.sorted() {
            guard let type = registry.storageType(gr), type.namespaced else { continue }
            for key in cachedSortedKeys(gr) where key.namespace == name {
                guard let obj = tables[gr]?[key] else { continue }
                if obj["metadata"]?["deletionTimestamp"] == nil {
                    _ = try? delete(type, namespace: name, name: key.name, options: DeleteOptions(propagation: .background))
                }
                if tables[gr]?[key] != nil { remaining = true }
            }
        }
        guard !remaining, let type = registry.storageType(nsGR) else { return }
        let finalizers = (ns["spec"]?["finalizers"]?.arrayValue ?? []).filter { $0.stringValue != "kubernetes" }
        _ = try? update(type, namespace: nil, name: name, subresource: .finalize,
                        options: WriteOptions(fieldManager: "namespace-controller")) { old in
            var o = old!
            o[path: ["spec", "finalizers"]] = .array(finalizers)
            return o
        }
    }
}
