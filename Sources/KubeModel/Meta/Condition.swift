/// `metav1.Condition` with the API-convention fields. Reasons are CamelCase; messages are
/// written for a person who must act on them.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: ConditionStatus
    public var observedGeneration: Int64?
    public var lastTransitionTime: Time
    public var reason: String
    public var message: String

    public init(type: String, status: ConditionStatus, reason: String, message: String = "",
                observedGeneration: Int64? = nil, lastTransitionTime: Time = .now()) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
    }
}

public struct ConditionStatus: OpenEnum {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let `true`: ConditionStatus = "True"
    public static let `false`: ConditionStatus = "False"
    public static let unknown: ConditionStatus = "Unknown"
    public static let knownValues: [ConditionStatus] = [.true, .false, .unknown]
}

extension Array where Element == Condition {
    public func find(_ type: String) -> Condition? { first { $0.type == type } }

    public func isTrue(_ type: String) -> Bool { find(type)?.status == .true }
    public func isFalse(_ type: String) -> Bool { find(type)?.status == .false }

    /// Adds or updates the condition of `condition.type`. `lastTransitionTime` changes only when
    /// the status flips (then it becomes `now`); reason, message and observedGeneration always
    /// follow the new value. Returns true when anything changed.
    @discardableResult
    public mutating func set(_ condition: Condition, now: Time = .now()) -> Bool {
        guard let index = firstIndex(where: { $0.type == condition.type }) else {
            var added = condition
            added.lastTransitionTime = now
            append(added)
            return true
        }
        var updated = condition
        updated.lastTransitionTime = self[index].status == condition.status ? self[index].lastTransitionTime : now
        guard updated != self[index] else { return false }
        self[index] = updated
        return true
    }

    /// Convenience form of `set(_:now:)`.
    @discardableResult
    public mutating func set(type: String, status: ConditionStatus, reason: String, message: String,
                             observedGeneration: Int64?, now: Time = .now()) -> Bool {
        set(Condition(type: type, status: status, reason: reason, message: message,
                      observedGeneration: observedGeneration, lastTransitionTime: now), now: now)
    }

    @discardableResult
    public mutating func remove(_ type: String) -> Bool {
        let before = count
        removeAll { $0.type == type }
        return count != before
    }
}

/// `metav1.Status`: the error body of a failed request (and the body of some successes).
public struct Status: Codable, Sendable, Hashable, Error {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: StatusDetails?
    public var code: Int?

    public init(status: String? = "Failure", message: String? = nil, reason: String? = nil,
                details: StatusDetails? = nil, code: Int? = nil) {
        apiVersion = "v1"
        kind = "Status"
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

public struct StatusDetails: Codable, Sendable, Hashable {
    public var name: String?
    public var group: String?
    public var kind: String?
    public var uid: String?
    public var causes: [StatusCause]?
    public var retryAfterSeconds: Int?
    public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [StatusCause]? = nil) {
        self.name = name
        self.group = group
        self.kind = kind
        self.causes = causes
    }
}

public struct StatusCause: Codable, Sendable, Hashable {
    /// e.g. `FieldValueInvalid`, `FieldValueRequired`.
    public var reason: String?
    public var message: String?
    public var field: String?
    public init(reason: String? = nil, message: String? = nil, field: String? = nil) {
        self.reason = reason
        self.message = message
        self.field = field
    }
}

/// A condition type with its own reason vocabulary (declared beside each kind's API types).
public protocol ConditionKind {
    associatedtype Reason: OpenEnum
    static var type: String { get }
}

extension Array where Element == Condition {
    public func find<Kind: ConditionKind>(_ kind: Kind.Type) -> Condition? { find(Kind.type) }
    public func isTrue<Kind: ConditionKind>(_ kind: Kind.Type) -> Bool { isTrue(Kind.type) }

    /// Sets condition `Kind` with one of its own reasons.
    @discardableResult
    public mutating func set<Kind: ConditionKind>(_ kind: Kind.Type, _ status: ConditionStatus, _ reason: Kind.Reason,
                                                  message: String, observedGeneration: Int64?, now: Time) -> Bool {
        set(type: Kind.type, status: status, reason: reason.rawValue, message: message,
            observedGeneration: observedGeneration, now: now)
    }
}
