import DynamicJSON
import Foundation

/// GET, LIST, WATCH setup, POST, PUT and DELETE on resources.
extension APIServer {
    func get(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let form = try outputForm(req)
        let obj = try store.withState { (s: inout StoreState) throws(KubeAPIError) in try s.get(r.type, namespace: r.namespace, name: r.name!) }
        return render(obj, r.type, form: form, req: req)
    }

    func parseSelectors(_ req: APIRequest, _ t: ResourceType) throws(KubeAPIError) -> (LabelSelector?, FieldSelector?) {
        let label = try req.query["labelSelector"].map { (s) throws(KubeAPIError) in try LabelSelector(parsing: s) }
        let field = try req.query["fieldSelector"].map { (s) throws(KubeAPIError) in try FieldSelector(parsing: s) }
        if let field { try FieldLabels.check(field, t) }
        return (label, field)
    }

    /// Validates `resourceVersion`/`resourceVersionMatch`/`continue` (§G).
    private func checkListRV(_ req: APIRequest, isWatch: Bool) throws(KubeAPIError) -> Int64? {
        let rvText = req.query["resourceVersion"] ?? ""
        let match = req.query["resourceVersionMatch"] ?? ""
        if !match.isEmpty, rvText.isEmpty {
            throw KubeAPIError.invalidOptions("ListOptions", [.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided")])
        }
        if let c = req.query["continue"], !c.isEmpty, !rvText.isEmpty, rvText != "0" {
            throw KubeAPIError.badRequest("specifying resource version is not allowed when using continue")
        }
        guard !rvText.isEmpty else { return nil }
        guard let rv = Int64(rvText), rv >= 0 else {
            throw KubeAPIError.badRequest("invalid resource version \(goQuote(rvText))")
        }
        let (current, oldest) = store.read { ($0.rv, $0.history.compactedThrough) }
        if rv > current, !isWatch {
            throw KubeAPIError.timeout("Too large resource version: \(rv), current: \(current)")
        }
        if match == "Exact", rv < oldest { throw KubeAPIError.tooOld(requested: rv, oldest: oldest) }
        if !match.isEmpty, !["Exact", "NotOlderThan"].contains(match) {
            throw KubeAPIError.invalidOptions("ListOptions", [.notSupported("resourceVersionMatch", .string(match), ["Exact", "NotOlderThan"])])
        }
        return rv
    }

    func list(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let form = try outputForm(req)
        let (label, field) = try parseSelectors(req, r.type)
        if req.flag("sendInitialEvents") {
            throw KubeAPIError.invalidOptions("ListOptions", [.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list")])
        }
        _ = try checkListRV(req, isWatch: false)
        let limit = req.query["limit"].flatMap { Int($0) }
        let query = ListQuery(namespace: r.namespace, label: label, field: field, limit: limit, continueToken: req.query["continue"])
        let result = try store.withState { (s: inout StoreState) throws(KubeAPIError) in try s.list(r.type, query) }
        var meta: JSONValue = ["resourceVersion": .string(String(result.resourceVersion))]
        if let c = result.continueToken { meta["continue"] = .string(c) }
        if let n = result.remainingItemCount { meta["remainingItemCount"] = .int(n) }
        switch form {
        case .table:
            return .json(200, TableConverter.table(r.type, result.items, metadata: meta,
                                                   includeObject: req.query["includeObject"] ?? "Metadata", now: clock.now))
        case .partialMetadata:
            return .json(200, ["kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                               "items": .array(result.items.map(TableConverter.partialMetadata))])
        default:
            return .json(200, ["kind": .string(r.type.listKind), "apiVersion": .string(r.type.apiVersion), "metadata": meta,
                               "items": .array(result.items)])
        }
    }

    func watch(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let form = try outputForm(req)
        let (label, field) = try parseSelectors(req, r.type)
        let bookmarks = req.flag("allowWatchBookmarks")
        let sendInitial = req.flag("sendInitialEvents")
        if sendInitial {
            var errors: [FieldError] = []
            if req.query["resourceVersionMatch"] != "NotOlderThan" {
                errors.append(.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan"))
            }
            if !bookmarks { errors.append(.forbidden("allowWatchBookmarks", "allowWatchBookmarks must be set to true when sendInitialEvents is set")) }
            if !errors.isEmpty { throw KubeAPIError.invalidOptions("ListOptions", errors) }
        } else if req.query["resourceVersionMatch"] != nil, req.query["resourceVersionMatch"] != "" {
            throw KubeAPIError.invalidOptions("ListOptions", [.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch")])
        }
        let rv = try checkListRV(req, isWatch: true)
        let start: WatchStart
        if sendInitial {
            start = .snapshot(endBookmark: true)
        } else if let rv, rv != 0 {
            start = .after(rv)
        } else {
            start = .snapshot(endBookmark: false)
        }
        var timeout = TimeInterval.random(in: watchTimeout)
        if let t = req.query["timeoutSeconds"].flatMap({ Int($0) }), t > 0 { timeout = TimeInterval(t) }
        let plan = WatchPlan(type: r.type, namespace: r.namespace, match: StoreState.matcher(r.type, label: label, field: field),
                             start: start, form: form, includeObject: req.query["includeObject"] ?? "Metadata",
                             timeout: timeout, bookmarks: bookmarks, bookmarkInterval: bookmarkInterval,
                             store: store, clock: clock)
        return .watch(plan)
    }

    func create(_ req: APIRequest, _ r: ResourceRoute, user: UserInfo) throws(KubeAPIError) -> APIResponse {
        let body = try decodeBody(req, r.type)
        let options = try writeOptions(req, optionsKind: "CreateOptions")
        let form = try outputForm(req)
        let result = try store.withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.create(r.type, namespace: r.namespace, body: body, options: options)
        }
        return render(result.object, r.type, form: form, req: req, status: 201, headers: Self.warningHeaders(result.warnings))
    }

    func update(_ req: APIRequest, _ r: ResourceRoute, user: UserInfo, subresource: Subresource) throws(KubeAPIError) -> APIResponse {
        let body = try decodeBody(req, r.type)
        let options = try writeOptions(req, optionsKind: "UpdateOptions")
        let form = try outputForm(req)
        let result = try store.withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.update(r.type, namespace: r.namespace, name: r.name!, subresource: subresource, options: options,
                         allowCreate: r.type.createOnUpdate) { _ in body }
        }
        return render(result.object, r.type, form: form, req: req, status: result.created ? 201 : 200,
                      headers: Self.warningHeaders(result.warnings))
    }

    /// DeleteOptions from the JSON body and the query (§L).
    func deleteOptions(_ req: APIRequest) throws(KubeAPIError) -> DeleteOptions {
        var o = DeleteOptions()
        var body: JSONValue = [:]
        if !req.body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 }) {
            do { body = try JSONValue(parsing: req.body) } catch {
                throw KubeAPIError.badRequest("json: \(error)")
            }
        }
        let policy = body["propagationPolicy"]?.stringValue ?? req.query["propagationPolicy"]
        if let policy, !policy.isEmpty {
            guard let p = PropagationPolicy(rawValue: policy) else {
                throw KubeAPIError.invalidOptions("DeleteOptions", [.notSupported("propagationPolicy", .string(policy), ["Foreground", "Background", "Orphan", "nil"])])
            }
            o.propagation = p
        }
        let orphan = body["orphanDependents"]?.boolValue ?? req.query["orphanDependents"].map { $0 == "true" }
        if let orphan {
            if o.propagation != nil {
                throw KubeAPIError.invalidOptions("DeleteOptions", [.invalid("propagationPolicy", .string(o.propagation!.rawValue), "orphanDependents and deletionPropagation cannot be both set")])
            }
            if orphan { o.propagation = .orphan } else { o.explicitNoOrphan = true }
        }
        let dry = body["dryRun"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if let bad = dry.first(where: { $0 != "All" }) {
            throw KubeAPIError.invalidOptions("DeleteOptions", [.notSupported("dryRun", .string(bad), ["All"])])
        }
        o.dryRun = try dryRun(req, optionsKind: "DeleteOptions") || !dry.isEmpty
        if let grace = body["gracePeriodSeconds"]?.intValue ?? req.query["gracePeriodSeconds"].flatMap({ Int64($0) }) {
            o.gracePeriodSeconds = grace
        }
        o.preconditionUID = body["preconditions"]?["uid"]?.stringValue
        o.preconditionRV = body["preconditions"]?["resourceVersion"]?.stringValue
        return o
    }

    func delete(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let options = try deleteOptions(req)
        let outcome = try store.withState { (s: inout StoreState) throws(KubeAPIError) in
            try s.delete(r.type, namespace: r.namespace, name: r.name!, options: options)
        }
        switch outcome {
        case .pending(let obj):
            return .json(options.explicitNoOrphan ? 202 : 200, obj)
        case .deleted(let obj):
            if [.pod, .serviceAccount, .namespace].contains(r.type.tag) { return .json(200, obj) }
            var details: JSONValue = ["name": .string(r.name!), "kind": .string(r.type.resource)]
            if !r.type.group.isEmpty { details["group"] = .string(r.type.group) }
            if let uid = obj["metadata"]?["uid"] { details["uid"] = uid }
            return .json(200, ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": details])
        }
    }

    func deleteCollection(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> APIResponse {
        let options = try deleteOptions(req)
        let (label, field) = try parseSelectors(req, r.type)
        let deleted = try store.withState { (s: inout StoreState) throws(KubeAPIError) -> [JSONValue] in
            let items = try s.list(r.type, ListQuery(namespace: r.namespace, label: label, field: field)).items
            var out: [JSONValue] = []
            for item in items {
                let name = item["metadata"]?["name"]?.stringValue ?? ""
                let ns = item["metadata"]?["namespace"]?.stringValue
                switch try s.delete(r.type, namespace: ns, name: name, options: options) {
                case .deleted(let o), .pending(let o): out.append(o)
                }
            }
            return out
        }
        let rv = store.resourceVersion
        return .json(200, ["kind": .string(r.type.listKind), "apiVersion": .string(r.type.apiVersion),
                           "metadata": ["resourceVersion": .string(String(rv))], "items": .array(deleted)])
    }
}
