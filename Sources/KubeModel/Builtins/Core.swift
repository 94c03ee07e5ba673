import DynamicJSON
import Foundation

// Minimal typed core/v1 objects Backstop reads and writes. Unknown fields are dropped on decode:
// update built-ins with merge patches, never by PUT of a decoded value.

public struct Secret: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Secret", plural: "secrets")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    /// Base64-encoded values, as on the wire.
    public var data: [String: String]?
    /// Write-only plain values; the server merges them into `data`.
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?

    public init(metadata: ObjectMeta, data: [String: String]? = nil, stringData: [String: String]? = nil,
                type: String? = "Opaque") {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.data = data
        self.stringData = stringData
        self.type = type
    }

    /// The decoded bytes of `data[key]`, nil when absent or not base64.
    public func value(forKey key: String) -> [UInt8]? {
        guard let encoded = data?[key], let bytes = Base64.decode(encoded) else { return nil }
        return bytes
    }
}

enum Base64 {
    static func decode(_ s: String) -> [UInt8]? {
        guard let data = Foundation.Data(base64Encoded: s) else { return nil }
        return [UInt8](data)
    }
}

public struct ConfigMap: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "ConfigMap", plural: "configmaps")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.data = data
    }
}

public struct PersistentVolumeClaim: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "PersistentVolumeClaim",
                                                  plural: "persistentvolumeclaims")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public struct Spec: Codable, Sendable, Hashable {
        public var accessModes: [String]?
        public var resources: ResourceRequirements?
        public var storageClassName: String?
        public var volumeName: String?
        public var volumeMode: String?
        public init() {}
    }
    public struct Status: Codable, Sendable, Hashable {
        public var phase: String?
        public var accessModes: [String]?
        public var capacity: [String: Quantity]?
    }
    public init(metadata: ObjectMeta, spec: Spec? = nil) {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.spec = spec
    }
}

/// core/v1 Event.
public struct Event: KubeResource, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Event", plural: "events")
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    /// `Normal` or `Warning`.
    public var type: String?
    public var count: Int?
    public var firstTimestamp: Time?
    public var lastTimestamp: Time?
    public var eventTime: MicroTime?
    public var source: EventSource?
    public var reportingComponent: String?
    public var reportingInstance: String?
    public var action: String?

    public init(metadata: ObjectMeta, involvedObject: ObjectReference, reason: String, message: String,
                type: String = "Normal") {
        apiVersion = Self.resourceType.apiVersion
        kind = Self.resourceType.kind
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.type = type
    }
}

public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?
    public init(component: String? = nil) { self.component = component }
}

public struct ObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var name: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var fieldPath: String?
    public init(apiVersion: String? = nil, kind: String? = nil, name: String? = nil, namespace: String? = nil,
                uid: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.uid = uid
    }
}

/// A resource quantity (`500m`, `1Gi`, `2`). Kept as written; a bare number stays a number.
public struct Quantity: Codable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var value: String
    public var isNumber: Bool
    public init(_ value: String) {
        self.value = value
        isNumber = false
    }
    public init(stringLiteral value: String) { self.init(value) }
    public var description: String { value }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int64.self) {
            value = String(i)
            isNumber = true
        } else if let d = try? c.decode(Double.self) {
            value = String(d)
            isNumber = true
        } else {
            value = try c.decode(String.self)
            isNumber = false
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if isNumber, let i = Int64(value) { try c.encode(i) }
        else if isNumber, let d = Double(value) { try c.encode(d) }
        else { try c.encode(value) }
    }
}

public struct ResourceRequirements: Codable, Sendable, Hashable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    /// `Exists` or `Equal`.
    public var `operator`: String?
    public var value: String?
    /// `NoSchedule`, `PreferNoSchedule`, `NoExecute`.
    public var effect: String?
    public var tolerationSeconds: Int64?
    public init(key: String? = nil, operator: String? = nil, value: String? = nil, effect: String? = nil) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
    }
}
