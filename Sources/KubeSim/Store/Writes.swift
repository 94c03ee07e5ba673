import DynamicJSON
import Foundation

/// Create and update: the write pipeline of contract §E, §F, §I and §P4.
extension StoreState {
    static let systemMetaFields = ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                                   "generation", "selfLink"]

    /// POST (and the create half of apply / create-on-PUT).
    mutating func create(_ type: ResourceType, namespace: String?, body: JSONValue, options: WriteOptions,
                         urlName: String? = nil) throws(KubeAPIError) -> WriteResult
    {
        var obj = body
        try checkTypeMeta(&obj, type)
        var meta = obj["metadata"] ?? [:]
        if type.namespaced {
            let bodyNS = meta["namespace"]?.stringValue ?? ""
            let ns = namespace ?? bodyNS
            if !bodyNS.isEmpty, bodyNS != ns {
                throw KubeAPIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            meta["namespace"] = .string(ns)
        } else {
            meta["namespace"] = nil
        }
        if let urlName, let bodyName = meta["name"]?.stringValue, !bodyName.isEmpty, bodyName != urlName {
            throw KubeAPIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(urlName))")
        }
        if let urlName, (meta["name"]?.stringValue ?? "").isEmpty { meta["name"] = .string(urlName) }
        if let rv = meta["resourceVersion"]?.stringValue, !rv.isEmpty, options.operation != "Apply" {
            throw KubeAPIError.badRequest("resourceVersion should not be set on objects to be created")
        }
        meta["resourceVersion"] = nil
        for field in Self.systemMetaFields { meta[field] = nil }
        meta["managedFields"] = nil
        obj["metadata"] = meta
        if type.hasStatus { obj["status"] = nil }

        if type.namespaced {
            let ns = meta["namespace"]?.stringValue ?? ""
            switch namespaceState(ns) {
            case .missing: throw KubeAPIError.namespaceNotFound(ns)
            case .terminating:
                let name = meta["name"]?.stringValue ?? ""
                var e = KubeAPIError.forbidden(type.groupResource, name.isEmpty ? nil : name,
                                               "unable to create new content in namespace \(ns) because it is being terminated")
                e.details?["causes"] = [["reason": "NamespaceTerminating", "message": .string("namespace \(ns) is being terminated"),
                                         "field": "metadata.namespace"]]
                throw e
            case .active: break
            }
        }
        if (meta["name"]?.stringValue ?? "").isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
            obj[path: ["metadata", "name"]] = .string(Self.generateName(prefix))
        }

        let now = clock.now
        obj[path: ["metadata", "uid"]] = .string(uidGenerator())
        obj[path: ["metadata", "creationTimestamp"]] = .string(Timestamp.format(now))
        let warnings = try Admission.admit(&obj, type: type, old: nil, subresource: .main, options: options, state: self)
        let name = obj["metadata"]?["name"]?.stringValue ?? ""
        var errors = MetaValidation.validate(obj["metadata"] ?? [:], nameRule: Admission.nameRule(type),
                                             namespaced: type.namespaced, maxNameLength: Admission.maxNameLength(type))
        errors += Admission.validateFinal(obj, type: type, old: nil)
        if !errors.isEmpty { throw KubeAPIError.invalid(group: type.group, kind: type.kind, name: name, errors) }

        let key = ObjectKey(namespace: type.namespaced ? (obj["metadata"]?["namespace"]?.stringValue ?? "") : "", name: name)
        if tables[type.storage]?[key] != nil { throw KubeAPIError.alreadyExists(type.groupResource, name) }

        if type.generation != .none { obj[path: ["metadata", "generation"]] = 1 }
        ManagedFields.record(&obj, old: nil, type: type, options: options, subresource: .main, now: now)
        if options.dryRun { return WriteResult(object: obj, created: true, warnings: warnings) }

        var stored = Conversion.toStorage(obj, type)
        let rv = nextRV()
        setRV(&stored, rv)
        put(type.storage, key, stored)
        emit(StoreEvent(type: .added, resource: type.storage, object: stored, resourceVersion: rv))
        afterCommit(type, old: nil, new: stored)
        return WriteResult(object: Conversion.toServed(stored, type), created: true, warnings: warnings)
    }

    /// PUT, PATCH and status writes. `transform` turns the current object (served form, nil when
    /// absent and `allowCreate`) into the requested one; it runs under the lock, so patches never race.
    mutating func update(_ type: ResourceType, namespace: String?, name: String, subresource: Subresource,
                         options: WriteOptions, allowCreate: Bool = false,
                         transform: (JSONValue?) throws(KubeAPIError) -> JSONValue) throws(KubeAPIError) -> WriteResult
    {
        let key = ObjectKey(namespace: type.namespaced ? (namespace ?? "") : "", name: name)
        guard let oldStored = tables[type.storage]?[key] else {
            guard allowCreate, subresource == .main else { throw KubeAPIError.notFound(type.groupResource, name) }
            let body = try transform(nil)
            return try create(type, namespace: namespace, body: body, options: options, urlName: name)
        }
        let old = Conversion.toServed(oldStored, type)
        var new = try transform(old)
        try checkTypeMeta(&new, type)
        var meta = new["metadata"] ?? [:]
        let bodyName = meta["name"]?.stringValue ?? ""
        if !bodyName.isEmpty, bodyName != name {
            throw KubeAPIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if type.namespaced {
            let bodyNS = meta["namespace"]?.stringValue ?? ""
            if !bodyNS.isEmpty, bodyNS != key.namespace {
                throw KubeAPIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            meta["namespace"] = .string(key.namespace)
        }
        meta["name"] = .string(name)

        // Optimistic concurrency (§I).
        let oldRV = old["metadata"]?["resourceVersion"]?.stringValue ?? ""
        let bodyRV = meta["resourceVersion"]?.stringValue ?? ""
        if !bodyRV.isEmpty, bodyRV != oldRV { throw KubeAPIError.staleConflict(type.groupResource, name) }
        if bodyRV.isEmpty, type.requireResourceVersion, options.operation != "Apply" {
            throw KubeAPIError.invalid(group: type.group, kind: type.kind, name: name,
                                       [FieldError(.invalid, "metadata.resourceVersion", "0x0", "must be specified for an update")])
        }
        meta["resourceVersion"] = .string(oldRV)
        new["metadata"] = meta

        // Status split (§I).
        if subresource == .status {
            var merged = old
            merged["status"] = new["status"]
            new = merged
        } else if subresource == .finalize {
            var merged = old
            merged[path: ["spec", "finalizers"]] = new["spec"]?["finalizers"]
            new = merged
        } else if type.hasStatus {
            new["status"] = old["status"]
        }
        let oldMeta = old["metadata"] ?? [:]
        for field in Self.systemMetaFields { new[path: ["metadata", field]] = oldMeta[field] }
        new[path: ["metadata", "managedFields"]] = oldMeta["managedFields"]

        if oldMeta["deletionTimestamp"] != nil {
            let before = Set((oldMeta["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue))
            let added = (new["metadata"]?["finalizers"]?.arrayValue ?? []).compactMap(\.stringValue).filter { !before.contains($0) }
            if !added.isEmpty {
                throw KubeAPIError.invalid(group: type.group, kind: type.kind, name: name, [
                    .forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted, found new finalizers []string{\(added.map(goQuote).joined(separator: ", "))}"),
                ])
            }
        }

        let warnings = try Admission.admit(&new, type: type, old: old, subresource: subresource, options: options, state: self)
        var errors = MetaValidation.validate(new["metadata"] ?? [:], nameRule: Admission.nameRule(type),
                                             namespaced: type.namespaced, maxNameLength: nil)
        errors += Admission.validateFinal(new, type: type, old: old)
        if !errors.isEmpty { throw KubeAPIError.invalid(group: type.group, kind: type.kind, name: name, errors) }

        if Generation.changed(type, old: old, new: new) {
            let gen = old["metadata"]?["generation"]?.intValue ?? 0
            new[path: ["metadata", "generation"]] = .int(gen + 1)
        }
        // A write that changes nothing is a no-op: same RV, no event (§F).
        if ManagedFields.strip(new) == ManagedFields.strip(old) {
            return WriteResult(object: old, warnings: warnings)
        }
        let now = clock.now
        ManagedFields.record(&new, old: old, type: type, options: options, subresource: subresource, now: now)
        if options.dryRun { return WriteResult(object: new, warnings: warnings) }

        var stored = Conversion.toStorage(new, type)
        let rv = nextRV()
        setRV(&stored, rv)
        let finalizers = stored["metadata"]?["finalizers"]?.arrayValue ?? []
        if stored["metadata"]?["deletionTimestamp"] != nil, finalizers.isEmpty, Admission.canFinishDeletion(type, stored) {
            // The last finalizer went away: the object is deleted now (§L).
            remove(type.storage, key)
            emit(StoreEvent(type: .deleted, resource: type.storage, object: stored, resourceVersion: rv))
            afterRemove(type.storage, stored)
            return WriteResult(object: Conversion.toServed(stored, type), warnings: warnings)
        }
        put(type.storage, key, stored)
        emit(StoreEvent(type: .modified, resource: type.storage, object: stored, oldObject: oldStored, resourceVersion: rv))
        afterCommit(type, old: oldStored, new: stored)
        return WriteResult(object: Conversion.toServed(stored, type), warnings: warnings)
    }

    /// Checks and fills `apiVersion`/`kind` against the URL's type (400 on mismatch).
    func checkTypeMeta(_ obj: inout JSONValue, _ type: ResourceType) throws(KubeAPIError) {
        guard case .object = obj else {
            throw KubeAPIError.badRequest("Object 'Kind' is missing in '\(obj.jsonString)'")
        }
        let apiVersion = obj["apiVersion"]?.stringValue ?? ""
        let kind = obj["kind"]?.stringValue ?? ""
        if !kind.isEmpty, kind != type.kind {
            throw KubeAPIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
        }
        if !apiVersion.isEmpty, apiVersion != type.apiVersion {
            throw KubeAPIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(type.apiVersion))")
        }
        if type.tag == .custom, kind.isEmpty || apiVersion.isEmpty {
            throw KubeAPIError.badRequest("Object 'Kind' is missing in '\(obj.jsonString)'")
        }
        obj["apiVersion"] = .string(type.apiVersion)
        obj["kind"] = .string(type.kind)
        if let meta = obj["metadata"], meta.objectValue == nil, !meta.isNull {
            throw KubeAPIError.badRequest("\(type.kind) in version \(goQuote(type.version)) cannot be handled as a \(type.kind): json: cannot unmarshal \(meta.typeName) into Go struct field \(type.kind).metadata of type v1.ObjectMeta")
        }
        try Admission.checkMetadataTypes(obj, type)
    }

    static func generateName(_ prefix: String) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        let base = prefix.count > 58 ? String(prefix.prefix(58)) : prefix
        return base + String((0..<5).map { _ in alphabet.randomElement()! })
    }
}

/// Per-kind generation rules (§F).
enum Generation {
    static func changed(_ type: ResourceType, old: JSONValue, new: JSONValue) -> Bool {
        switch type.generation {
        case .none: return false
        case .spec: return old["spec"] != new["spec"]
        case .specOrAnnotations:
            return old["spec"] != new["spec"] || old["metadata"]?["annotations"] != new["metadata"]?["annotations"]
        case .allButMetadata:
            var a = old, b = new
            a["metadata"] = nil
            b["metadata"] = nil
            if type.hasStatus {
                a["status"] = nil
                b["status"] = nil
            }
            return a != b
        }
    }
}
