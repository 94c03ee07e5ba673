import DynamicJSON
import Foundation
import Synchronization

/// The transport-independent API server: authentication, fault injection, routing, and the
/// handlers of contract §A–§O. The NIO front (`HTTPFront`) feeds it `APIRequest`s.
final class APIServer: Sendable {
    let store: Store
    let clock: SimClock
    let auth: Authenticator
    let faults: Faults
    let requestLog: RequestLog
    let podLogs: PodLogs
    let watchTimeout: ClosedRange<TimeInterval>
    let bookmarkInterval: TimeInterval
    private let address = Mutex("127.0.0.1:0")

    init(store: Store, clock: SimClock, auth: Authenticator, faults: Faults, requestLog: RequestLog,
         podLogs: PodLogs, watchTimeout: ClosedRange<TimeInterval>, bookmarkInterval: TimeInterval)
    {
        self.store = store
        self.clock = clock
        self.auth = auth
        self.faults = faults
        self.requestLog = requestLog
        self.podLogs = podLogs
        self.watchTimeout = watchTimeout
        self.bookmarkInterval = bookmarkInterval
    }

    var serverAddress: String {
        get { address.withLock { $0 } }
        set { address.withLock { $0 = newValue } }
    }

    /// Handles one request; the fault injector may add latency (returned for the transport to apply).
    func handle(_ req: APIRequest) -> (APIResponse, delay: TimeInterval) {
        let user: UserInfo
        switch auth.authenticate(req.header("Authorization")) {
        case .success(let u): user = u
        case .failure(let e):
            requestLog.record(req, user: nil, status: e.code)
            return (.error(e), 0)
        }
        let fault = faults.check(req)
        if let error = fault.error {
            requestLog.record(req, user: user.name, status: error.code)
            return (.error(error), fault.delay)
        }
        let response = dispatch(req, user: user)
        requestLog.record(req, user: user.name, status: response.status)
        return (response, fault.delay)
    }

    private func dispatch(_ req: APIRequest, user: UserInfo) -> APIResponse {
        let registry = store.read { $0.registry }
        let route = Router.route(req.path, registry: registry)
        let isRead = req.method == "GET" || req.method == "HEAD"
        switch route {
        case .version: return isRead ? .json(200, KubeSimVersion.document) : .error(.methodNotAllowed(req.method))
        case .health: return .text(200, "ok")
        case .openAPIRoot: return .json(200, OpenAPI.root(registry))
        case .openAPIGroupVersion(let g, let v):
            guard registry.groupVersions[g]?.contains(v) == true else { return .error(.pathNotFound) }
            return .json(200, OpenAPI.document(registry, group: g, version: v))
        case .openAPIV2: return .error(.pathNotFound)
        case .coreVersions, .groupList:
            guard let form = Negotiation.output(accept: req.accept, discovery: true) else { return .error(.notAcceptable) }
            let core = if case .coreVersions = route { true } else { false }
            if form == .aggregatedDiscovery {
                return .json(200, Discovery.aggregated(registry, core: core), contentType: Discovery.aggregatedContentType)
            }
            return .json(200, core ? Discovery.apiVersions(serverAddress: serverAddress) : Discovery.groupList(registry))
        case .group(let g): return .json(200, Discovery.groupDocument(registry, g))
        case .resourceList(let g, let v): return .json(200, Discovery.resourceList(registry, group: g, version: v))
        case .notFound: return .error(.pathNotFound)
        case .resource(let r):
            do {
                let verb = try Self.verb(req, r)
                try auth.authorize(user, verb: verb, route: r, store: store)
                return try handleResource(req, r, verb: verb, user: user)
            } catch {
                return .error(error)
            }
        }
    }

    /// The RBAC verb of a request (§N).
    static func verb(_ req: APIRequest, _ r: ResourceRoute) throws(KubeAPIError) -> String {
        switch (req.method, r.name != nil) {
        case ("GET", false), ("HEAD", false): return req.flag("watch") ? "watch" : "list"
        case ("GET", true), ("HEAD", true): return "get"
        case ("POST", false): return "create"
        case ("PUT", true): return "update"
        case ("PATCH", true): return "patch"
        case ("DELETE", true): return "delete"
        case ("DELETE", false): return "deletecollection"
        default: throw KubeAPIError.methodNotAllowed(req.method)
        }
    }

    private func handleResource(_ req: APIRequest, _ r: ResourceRoute, verb: String, user: UserInfo) throws(KubeAPIError) -> APIResponse {
        if r.type.namespaced, r.namespace == nil, verb != "list", verb != "watch" {
            throw KubeAPIError.methodNotAllowed(req.method)
        }
        switch r.subresource {
        case "scale"?: return try handleScale(req, r, verb: verb)
        case "log"?:
            guard verb == "get" else { throw KubeAPIError.methodNotAllowed(req.method) }
            return try podLog(req, r)
        case "finalize"?:
            guard verb == "update" else { throw KubeAPIError.methodNotAllowed(req.method) }
            return try update(req, r, user: user, subresource: .finalize)
        default: break
        }
        let sub: Subresource = r.subresource == "status" ? .status : .main
        switch verb {
        case "get": return try get(req, r)
        case "list": return try list(req, r)
        case "watch": return try watch(req, r)
        case "create": return try create(req, r, user: user)
        case "update": return try update(req, r, user: user, subresource: sub)
        case "patch": return try patch(req, r, user: user, subresource: sub)
        case "delete": return try delete(req, r)
        case "deletecollection": return try deleteCollection(req, r)
        default: throw KubeAPIError.methodNotAllowed(req.method)
        }
    }

    // MARK: - Shared helpers

    func outputForm(_ req: APIRequest) throws(KubeAPIError) -> OutputForm {
        guard let form = Negotiation.output(accept: req.accept, discovery: false) else { throw KubeAPIError.notAcceptable }
        return form
    }

    /// Reads `dryRun` (only `All` is valid; 422 on the request's options kind otherwise).
    func dryRun(_ req: APIRequest, optionsKind: String) throws(KubeAPIError) -> Bool {
        guard let v = req.query["dryRun"], !v.isEmpty else { return false }
        guard v == "All" else {
            throw KubeAPIError.invalidOptions(optionsKind, [.notSupported("dryRun", .string(v), ["All"])])
        }
        return true
    }

    func writeOptions(_ req: APIRequest, optionsKind: String, operation: String = "Update") throws(KubeAPIError) -> WriteOptions {
        var o = WriteOptions()
        o.dryRun = try dryRun(req, optionsKind: optionsKind)
        o.operation = operation
        let manager = req.query["fieldManager"] ?? ""
        o.fieldManager = manager.isEmpty ? Self.defaultManager(req.userAgent) : manager
        switch req.query["fieldValidation"] ?? "" {
        case "Strict": o.fieldValidation = .strict
        case "Ignore": o.fieldValidation = .ignore
        case "", "Warn": o.fieldValidation = .warn
        case let other:
            throw KubeAPIError.invalidOptions(optionsKind, [.notSupported("fieldValidation", .string(other), ["Ignore", "Strict", "Warn"])])
        }
        return o
    }

    /// The default field manager: the User-Agent up to the first `/`.
    static func defaultManager(_ ua: String) -> String {
        let m = ua.split(separator: "/").first.map(String.init) ?? ""
        return m.isEmpty ? "unknown" : m
    }

    func decodeBody(_ req: APIRequest, _ t: ResourceType) throws(KubeAPIError) -> JSONValue {
        let type = Negotiation.bodyType(req.contentType)
        guard ["application/json", "application/yaml", "text/yaml", "*/*"].contains(type) || req.contentType == nil else {
            throw KubeAPIError.unsupportedMediaType(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])
        }
        let body = try Negotiation.decodeBody(req.body, contentType: type, kindHint: t)
        guard case .object = body else {
            throw KubeAPIError.badRequest("\(t.kind) in version \(goQuote(t.version)) cannot be handled as a \(t.kind): json: cannot unmarshal \(body.typeName) into Go value of type struct")
        }
        return body
    }

    static func warningHeaders(_ warnings: [String]) -> [(String, String)] {
        warnings.map { ("Warning", "299 - \(goQuote($0))") }
    }

    /// Serialises one object in the negotiated form (JSON, Table row, or PartialObjectMetadata).
    func render(_ obj: JSONValue, _ t: ResourceType, form: OutputForm, req: APIRequest, status: Int = 200,
                headers: [(String, String)] = []) -> APIResponse
    {
        switch form {
        case .table:
            let meta: JSONValue = ["resourceVersion": obj["metadata"]?["resourceVersion"] ?? ""]
            return .json(status, TableConverter.table(t, [obj], metadata: meta, includeObject: req.query["includeObject"] ?? "Metadata",
                                                      now: clock.now), headers: headers)
        case .partialMetadata: return .json(status, TableConverter.partialMetadata(obj), headers: headers)
        default: return .json(status, obj, headers: headers)
        }
    }
}
