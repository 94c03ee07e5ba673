import DynamicJSON
import Foundation
import KubeModel

/// Other objects known while validating (e.g. every BackupPolicy in the files being linted, or
/// the controller's cache), so references can be resolved.
public struct ValidationContext: Sendable {
    /// BackupPolicy specs by `namespace/name` (namespace `""` when the manifest has none).
    public var policies: [String: BackupPolicySpec]
    public var now: Date

    public init(policies: [String: BackupPolicySpec] = [:], now: Date = Date()) {
        self.policies = policies
        self.now = now
    }

    public func policy(_ name: String, namespace: String?) -> BackupPolicySpec? {
        policies["\(namespace ?? "")/\(name)"] ?? (namespace == nil ? nil : policies["/\(name)"])
    }

    public mutating func add(_ policy: BackupPolicy) {
        policies["\(policy.metadata.namespace ?? "")/\(policy.name)"] = policy.spec
    }
}

/// The validator shared by `backstop validate` and the controllers.
public struct BackstopValidator: Sendable {
    public var context: ValidationContext

    public init(context: ValidationContext = ValidationContext()) { self.context = context }

    /// True when the document is `apiVersion: backstop.dev/...`.
    public static func isBackstopDocument(_ document: JSONValue) -> Bool {
        document["apiVersion"]?.stringValue?.hasPrefix(Backstop.group + "/") ?? false
    }

    /// Schema checks (as the API server would run them) and semantic checks of one manifest.
    public func validate(document: JSONValue) -> [ValidationIssue] {
        guard case .object = document else { return [.invalid(FieldPath(), "a manifest must be a mapping")] }
        guard let apiVersion = document["apiVersion"]?.stringValue, apiVersion == Backstop.apiVersion else {
            return [ValidationIssue("apiVersion", "FieldValueNotSupported",
                                    "Unsupported value: \"\(document["apiVersion"]?.stringValue ?? "")\": Backstop serves \(Backstop.apiVersion)")]
        }
        let kindName = document["kind"]?.stringValue ?? ""
        guard let kind = Backstop.kind(named: kindName) else {
            return [ValidationIssue("kind", "FieldValueNotSupported",
                                    "Unsupported value: \"\(kindName)\": supported kinds: " + Backstop.kinds.map(\.kind).joined(separator: ", "))]
        }
        var issues = metadataIssues(document["metadata"])
        // metadata is validated above (the CRD may constrain only its name); skip it in the schema walk.
        var body = document
        body["metadata"] = nil
        body["status"] = nil
        let (schemaIssues, defaulted) = SchemaValidator.validate(body, against: kind.objectSchema.removing(["metadata", "status"]))
        issues += schemaIssues
        // Semantic checks need the typed object; skip them when the schema already failed there.
        var typed = defaulted
        typed["metadata"] = document["metadata"] ?? [:]
        guard !schemaIssues.contains(where: { $0.severity == .error }) else { return issues }
        do {
            switch kindName {
            case "BackupPolicy": issues += validate(try typed.decode(BackupPolicy.self))
            case "RestoreRequest": issues += validate(try typed.decode(RestoreRequest.self))
            case "DrillRun": issues += validate(try typed.decode(DrillRun.self))
            case "SecretRotation": issues += validate(try typed.decode(SecretRotation.self))
            case "CleanupPolicy": issues += validate(try typed.decode(CleanupPolicy.self))
            default: break
            }
        } catch {
            issues.append(.invalid("spec", "cannot be read: \(error)"))
        }
        return issues
    }

    func metadataIssues(_ metadata: JSONValue?) -> [ValidationIssue] {
        guard let metadata, case .object = metadata else {
            return [ValidationIssue("metadata.name", "FieldValueRequired", "Required value: add metadata.name")]
        }
        guard let name = metadata["name"]?.stringValue else {
            if metadata["generateName"]?.stringValue != nil { return [] }
            return [ValidationIssue("metadata.name", "FieldValueRequired", "Required value: add metadata.name")]
        }
        if let problem = NameRules.dnsSubdomainProblem(name) {
            return [.invalid("metadata.name", "Invalid value: \"\(name)\": \(problem)")]
        }
        if name.count > Backstop.maxNameLength {
            return [ValidationIssue("metadata.name", "FieldValueTooLong",
                                    "Too long: \(name.count) characters; at most \(Backstop.maxNameLength) so that Job names derived from it (name-purpose-hash) fit in 63")]
        }
        return []
    }
}
