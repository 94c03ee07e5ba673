import DynamicJSON

/// Options of a LIST (one page).
public struct ListOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Page size; nil lets the server decide (everything).
    public var limit: Int?
    public var continueToken: String?
    /// "0" = any cached state (cheapest), nil = most recent.
    public var resourceVersion: String?
    public var resourceVersionMatch: String?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil,
                continueToken: String? = nil, resourceVersion: String? = nil, resourceVersionMatch: String? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
        self.resourceVersionMatch = resourceVersionMatch
    }

    var query: [(String, String)] {
        var q: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { q.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { q.append(("fieldSelector", fieldSelector)) }
        if let limit { q.append(("limit", String(limit))) }
        if let continueToken, !continueToken.isEmpty { q.append(("continue", continueToken)) }
        if let resourceVersion { q.append(("resourceVersion", resourceVersion)) }
        if let resourceVersionMatch { q.append(("resourceVersionMatch", resourceVersionMatch)) }
        return q
    }
}

/// Options of a WATCH.
public struct WatchOptions: Sendable, Hashable {
    /// Start after this version (from a LIST); nil or "0" first replays the current state as ADDED.
    public var resourceVersion: String?
    public var labelSelector: String?
    public var fieldSelector: String?
    public var allowBookmarks: Bool
    /// The server ends the stream after this long; the caller re-watches from the last version.
    public var timeoutSeconds: Int?

    public init(resourceVersion: String? = nil, labelSelector: String? = nil, fieldSelector: String? = nil,
                allowBookmarks: Bool = true, timeoutSeconds: Int? = nil) {
        self.resourceVersion = resourceVersion
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.allowBookmarks = allowBookmarks
        self.timeoutSeconds = timeoutSeconds
    }

    var query: [(String, String)] {
        var q: [(String, String)] = [("watch", "true")]
        if let resourceVersion, !resourceVersion.isEmpty { q.append(("resourceVersion", resourceVersion)) }
        if let labelSelector, !labelSelector.isEmpty { q.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { q.append(("fieldSelector", fieldSelector)) }
        if allowBookmarks { q.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { q.append(("timeoutSeconds", String(timeoutSeconds))) }
        return q
    }
}

/// Options shared by create, update and patch.
public struct WriteOptions: Sendable, Hashable {
    public var fieldManager: String?
    public var dryRun: Bool
    /// "Strict", "Warn" or "Ignore".
    public var fieldValidation: String?

    public init(fieldManager: String? = nil, dryRun: Bool = false, fieldValidation: String? = nil) {
        self.fieldManager = fieldManager
        self.dryRun = dryRun
        self.fieldValidation = fieldValidation
    }

    var query: [(String, String)] {
        var q: [(String, String)] = []
        if let fieldManager { q.append(("fieldManager", fieldManager)) }
        if dryRun { q.append(("dryRun", "All")) }
        if let fieldValidation { q.append(("fieldValidation", fieldValidation)) }
        return q
    }
}

/// A PATCH body and its content type.
public enum Patch: Sendable, Hashable {
    /// RFC 7386 (`application/merge-patch+json`): objects merge, `null` deletes, arrays are replaced.
    case merge(JSONValue)
    /// RFC 6902 (`application/json-patch+json`): a list of operations.
    case json([JSONPatchOperation])
    /// Strategic merge (`application/strategic-merge-patch+json`), built-in kinds only.
    case strategicMerge(JSONValue)
    /// Server-side apply (`application/apply-patch+yaml`, sent as JSON): a partial object with
    /// apiVersion, kind and metadata.name; `force` takes over fields other managers own.
    case apply(JSONValue, fieldManager: String, force: Bool = false)

    var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .json: "application/json-patch+json"
        case .strategicMerge: "application/strategic-merge-patch+json"
        case .apply: "application/apply-patch+yaml"
        }
    }

    var body: [UInt8] {
        switch self {
        case .merge(let v), .strategicMerge(let v), .apply(let v, _, _): v.serialized()
        case .json(let ops): JSONValue.array(ops.map(\.json)).serialized()
        }
    }
}

/// One RFC 6902 operation.
public struct JSONPatchOperation: Sendable, Hashable {
    public var op: String
    public var path: String
    public var value: JSONValue?
    public var from: String?

    public init(op: String, path: String, value: JSONValue? = nil, from: String? = nil) {
        self.op = op
        self.path = path
        self.value = value
        self.from = from
    }

    public static func add(_ path: String, _ value: JSONValue) -> Self { .init(op: "add", path: path, value: value) }
    public static func replace(_ path: String, _ value: JSONValue) -> Self { .init(op: "replace", path: path, value: value) }
    public static func remove(_ path: String) -> Self { .init(op: "remove", path: path) }
    /// A failed test makes the whole patch fail with 422.
    public static func test(_ path: String, _ value: JSONValue) -> Self { .init(op: "test", path: path, value: value) }

    var json: JSONValue {
        var o: [String: JSONValue] = ["op": .string(op), "path": .string(path)]
        if let value { o["value"] = value }
        if let from { o["from"] = .string(from) }
        return .object(o)
    }
}

/// DELETE options.
public struct DeleteOptions: Sendable, Hashable {
    public enum Propagation: String, Sendable, Hashable { case background = "Background", foreground = "Foreground", orphan = "Orphan" }
    public var propagationPolicy: Propagation?
    /// The delete fails with 409 unless the live object still has this uid / resourceVersion.
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public var gracePeriodSeconds: Int?
    public var dryRun: Bool

    public init(propagationPolicy: Propagation? = nil, preconditionUID: String? = nil,
                preconditionResourceVersion: String? = nil, gracePeriodSeconds: Int? = nil, dryRun: Bool = false) {
        self.propagationPolicy = propagationPolicy
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.gracePeriodSeconds = gracePeriodSeconds
        self.dryRun = dryRun
    }

    var body: JSONValue {
        var o: [String: JSONValue] = ["kind": "DeleteOptions", "apiVersion": "v1"]
        if let propagationPolicy { o["propagationPolicy"] = .string(propagationPolicy.rawValue) }
        if preconditionUID != nil || preconditionResourceVersion != nil {
            var p: [String: JSONValue] = [:]
            if let preconditionUID { p["uid"] = .string(preconditionUID) }
            if let preconditionResourceVersion { p["resourceVersion"] = .string(preconditionResourceVersion) }
            o["preconditions"] = .object(p)
        }
        if let gracePeriodSeconds { o["gracePeriodSeconds"] = .int(Int64(gracePeriodSeconds)) }
        if dryRun { o["dryRun"] = ["All"] }
        return .object(o)
    }
}
