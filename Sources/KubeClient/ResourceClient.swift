import DynamicJSON
import Foundation
import HTTP
import KubeModel

/// Operations on one resource type in one namespace (or all namespaces / cluster scope when
/// `namespace` is nil). `Object` is a KubeModel type or `JSONValue` for untyped access.
/// Every method throws `KubeError`.
public struct ResourceClient<Object: Codable & Sendable>: Sendable {
    public let client: KubeClient
    public let type: ResourceType
    public let namespace: String?

    public init(client: KubeClient, type: ResourceType, namespace: String?) {
        self.client = client
        self.type = type
        self.namespace = type.namespaced ? namespace : nil
    }

    /// The same resource type in another namespace.
    public func inNamespace(_ namespace: String?) -> ResourceClient<Object> {
        ResourceClient(client: client, type: type, namespace: namespace)
    }

    private func objectPath(_ name: String, _ subresource: String? = nil) throws(KubeError) -> String {
        guard !name.isEmpty else {
            throw KubeError(kind: .badRequest, request: type.collectionPath(namespace: namespace), detail: "an object name is required")
        }
        if type.namespaced, namespace == nil || namespace!.isEmpty {
            throw KubeError(kind: .badRequest, request: type.collectionPath(namespace: nil),
                            detail: "\(type.qualifiedPlural) \"\(name)\": a namespace is required for a namespaced resource")
        }
        return type.objectPath(namespace: namespace, name: name, subresource: subresource)
    }

    // MARK: Reads

    public func get(_ name: String, subresource: String? = nil) async throws(KubeError) -> Object {
        let path = try objectPath(name, subresource)
        let bytes = try await client.perform(KubeRequest(method: .get, path: path, verb: "get"))
        return try decodeJSON(Object.self, bytes, request: "GET \(path)")
    }

    /// `get` that answers nil for 404.
    public func getIfExists(_ name: String) async throws(KubeError) -> Object? {
        do { return try await get(name) } catch where error.kind == .notFound { return nil }
    }

    /// One page. Items that fail to decode are left out and reported in `undecodable`.
    public func list(_ options: ListOptions = .init()) async throws(KubeError) -> ObjectList<Object> {
        let path = type.collectionPath(namespace: namespace)
        let bytes = try await client.perform(KubeRequest(method: .get, path: path, query: options.query, verb: "list"))
        let envelope = try decodeJSON(ListEnvelope<Object>.self, bytes, request: "GET \(path)")
        var list = ObjectList<Object>(items: [], resourceVersion: envelope.metadata?.resourceVersion ?? "",
                                      continueToken: envelope.metadata?.continue.flatMap { $0.isEmpty ? nil : $0 },
                                      remainingItemCount: envelope.metadata?.remainingItemCount)
        let items = envelope.items ?? []
        list.items.reserveCapacity(items.count)
        for item in items {
            if let value = item.value { list.items.append(value) } else if let failure = item.failure { list.undecodable.append(failure) }
        }
        return list
    }

    /// Every page (`pageSize` items at a time) as one list at the first page's resourceVersion.
    public func listAll(_ options: ListOptions = .init(), pageSize: Int = 500) async throws(KubeError) -> ObjectList<Object> {
        var options = options
        options.limit = pageSize
        var all = try await list(options)
        var token = all.continueToken
        while let next = token {
            var pageOptions = options
            pageOptions.continueToken = next
            pageOptions.resourceVersion = nil
            pageOptions.resourceVersionMatch = nil
            let page = try await list(pageOptions)
            all.items += page.items
            all.undecodable += page.undecodable
            token = page.continueToken
        }
        all.continueToken = nil
        all.remainingItemCount = nil
        return all
    }

    /// Opens a watch. Iterate the stream; it ends when the server closes it.
    public func watch(_ options: WatchOptions = .init()) async throws(KubeError) -> WatchStream<Object> {
        let path = type.collectionPath(namespace: namespace)
        let response = try await client.openStream(KubeRequest(
            method: .get, path: path, query: options.query, verb: "watch",
            timeout: options.timeoutSeconds.map { .seconds($0) }))
        return WatchStream(response: response, request: "GET \(path) (watch)", maxEventBytes: 64 << 20)
    }

    // MARK: Writes

    public func create(_ object: Object, options: WriteOptions = .init()) async throws(KubeError) -> Object {
        let path = type.collectionPath(namespace: namespace)
        return try await write(.post, path: path, body: try encodeObject(object), contentType: "application/json",
                               query: options.query, verb: "create")
    }

    /// `create` answering only the stored object's metadata (uid, resourceVersion). For callers
    /// that need no more: decoding a whole Job or Event answer took CPU from the simulator's (or
    /// API server's) fan-out of the very object just created.
    @discardableResult
    public func createReturningMetadata(_ object: Object, options: WriteOptions = .init()) async throws(KubeError) -> ObjectMeta {
        let path = type.collectionPath(namespace: namespace)
        return try await write(.post, path: path, body: try encodeObject(object), contentType: "application/json",
                               query: options.query, verb: "create", as: MetadataOnly.self).metadata ?? ObjectMeta()
    }

    /// `updateStatus` answering only the stored object's metadata.
    @discardableResult
    public func updateStatusReturningMetadata(_ object: Object, options: WriteOptions = .init()) async throws(KubeError) -> ObjectMeta {
        let path = try objectPath(try nameOf(object), "status")
        return try await write(.put, path: path, body: try encodeObject(object), contentType: "application/json",
                               query: options.query, verb: "update", as: MetadataOnly.self).metadata ?? ObjectMeta()
    }

    /// PUT; the object's `metadata.resourceVersion` makes it conditional (409 when stale).
    public func update(_ object: Object, options: WriteOptions = .init()) async throws(KubeError) -> Object {
        let path = try objectPath(try nameOf(object))
        return try await write(.put, path: path, body: try encodeObject(object), contentType: "application/json",
                               query: options.query, verb: "update")
    }

    /// PUT to `/status`: only `.status` of `object` is taken by the server.
    public func updateStatus(_ object: Object, options: WriteOptions = .init()) async throws(KubeError) -> Object {
        let path = try objectPath(try nameOf(object), "status")
        return try await write(.put, path: path, body: try encodeObject(object), contentType: "application/json",
                               query: options.query, verb: "update")
    }

    /// PATCH the object (or its `subresource`, e.g. "status").
    public func patch(_ name: String, _ patch: Patch, subresource: String? = nil,
                      options: WriteOptions = .init()) async throws(KubeError) -> Object {
        let path = try objectPath(name, subresource)
        var query = options.query
        if case .apply(_, let manager, let force) = patch {
            query.removeAll { $0.0 == "fieldManager" }
            query.append(("fieldManager", manager))
            if force { query.append(("force", "true")) }
        }
        return try await write(.patch, path: path, body: patch.body, contentType: patch.contentType, query: query, verb: "patch")
    }

    /// Server-side apply of a (partial) typed object; apiVersion and kind are filled in.
    public func apply(_ object: Object, fieldManager: String, force: Bool = false,
                      subresource: String? = nil) async throws(KubeError) -> Object {
        try await patch(try nameOf(object), .apply(try encodeValue(object), fieldManager: fieldManager, force: force),
                        subresource: subresource)
    }

    /// DELETE. Returns the object when the server answers with it (finalizers pending, or kinds
    /// that return the object), nil when it answers with a Success `Status`.
    @discardableResult
    public func delete(_ name: String, options: DeleteOptions = .init()) async throws(KubeError) -> Object? {
        let path = try objectPath(name)
        let bytes = try await client.perform(KubeRequest(method: .delete, path: path, body: options.body.serialized(),
                                                         contentType: "application/json", verb: "delete"))
        if let kind = (try? JSONValue(parsing: bytes))?["kind"]?.stringValue, kind == "Status" { return nil }
        return try? JSONDecoder().decode(Object.self, from: Data(bytes))
    }

    // MARK: Scale

    public func getScale(_ name: String) async throws(KubeError) -> Scale {
        let path = try objectPath(name, "scale")
        let bytes = try await client.perform(KubeRequest(method: .get, path: path, verb: "get"))
        return try decodeJSON(Scale.self, bytes, request: "GET \(path)")
    }

    /// Sets `spec.replicas` through `/scale` (merge patch; no resourceVersion check).
    public func scale(_ name: String, replicas: Int) async throws(KubeError) -> Scale {
        let path = try objectPath(name, "scale")
        let body = JSONValue.object(["spec": ["replicas": .int(Int64(replicas))]]).serialized()
        let bytes = try await client.perform(KubeRequest(method: .patch, path: path, body: body,
                                                         contentType: "application/merge-patch+json", verb: "patch"))
        return try decodeJSON(Scale.self, bytes, request: "PATCH \(path)")
    }

    /// PUT of a whole `Scale`; its resourceVersion makes it conditional.
    public func updateScale(_ name: String, _ scale: Scale) async throws(KubeError) -> Scale {
        let path = try objectPath(name, "scale")
        let body: [UInt8]
        do { body = Array(try JSONEncoder().encode(scale)) } catch {
            throw KubeError(kind: .badRequest, request: "PUT \(path)", detail: "cannot encode Scale: \(describe(error))")
        }
        let bytes = try await client.perform(KubeRequest(method: .put, path: path, body: body,
                                                         contentType: "application/json", verb: "update"))
        return try decodeJSON(Scale.self, bytes, request: "PUT \(path)")
    }

    // MARK: Helpers

    private func write<Answer: Decodable>(_ method: HTTPMethod, path: String, body: [UInt8], contentType: String,
                                          query: [(String, String)], verb: String, as answer: Answer.Type = Object.self)
        async throws(KubeError) -> Answer {
        let bytes = try await client.perform(KubeRequest(method: method, path: path, query: query, body: body,
                                                         contentType: contentType, verb: verb))
        return try decodeJSON(Answer.self, bytes, request: "\(method) \(path)")
    }

    private struct MetadataOnly: Decodable { var metadata: ObjectMeta? }

    private func encodeObject(_ object: Object) throws(KubeError) -> [UInt8] { try encodeValue(object).serialized() }

    /// JSON of `object` with apiVersion and kind filled in when it left them out.
    private func encodeValue(_ object: Object) throws(KubeError) -> JSONValue {
        var value: JSONValue
        do { value = try JSONValue.encode(object) } catch {
            throw KubeError(kind: .badRequest, request: type.collectionPath(namespace: namespace),
                            detail: "cannot encode \(type.kind): \(describe(error))")
        }
        if value["apiVersion"]?.stringValue == nil { value["apiVersion"] = .string(type.apiVersion) }
        if value["kind"]?.stringValue == nil { value["kind"] = .string(type.kind) }
        if type.namespaced, let namespace, value["metadata"]?["namespace"]?.stringValue == nil {
            var meta = value["metadata"] ?? .object([:])
            meta["namespace"] = .string(namespace)
            value["metadata"] = meta
        }
        return value
    }

    private func nameOf(_ object: Object) throws(KubeError) -> String {
        let name: String?
        if let resource = object as? any KubeResource { name = resource.metadata.name }
        else if let json = object as? JSONValue { name = json["metadata"]?["name"]?.stringValue }
        else { name = (try? JSONValue.encode(object))?["metadata"]?["name"]?.stringValue }
        guard let name, !name.isEmpty else {
            throw KubeError(kind: .badRequest, request: type.collectionPath(namespace: namespace),
                            detail: "the \(type.kind) has no metadata.name")
        }
        return name
    }
}

/// `autoscaling/v1` Scale, as served by `/scale`.
public struct Scale: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec
    public var status: ScaleStatus?

    public struct Spec: Codable, Sendable, Hashable {
        public var replicas: Int?
        public init(replicas: Int? = nil) { self.replicas = replicas }
    }
    public struct ScaleStatus: Codable, Sendable, Hashable {
        public var replicas: Int?
        public var selector: String?
    }

    public init(metadata: ObjectMeta, replicas: Int) {
        apiVersion = "autoscaling/v1"
        kind = "Scale"
        self.metadata = metadata
        spec = Spec(replicas: replicas)
    }
}
