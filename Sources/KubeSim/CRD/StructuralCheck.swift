import DynamicJSON

/// The structural-schema rules checked when a CRD is written (§P3).
enum StructuralCheck {
    static let forbiddenKeys = ["$ref", "definitions", "dependencies", "id", "patternProperties", "readOnly",
                                "writeOnly", "xml", "discriminator", "additionalItems"]
    static let junctorForbidden = ["type", "default", "additionalProperties", "nullable", "description"]
    static let statusRootAllowed: Set<String> = ["properties", "type", "required", "description", "x-kubernetes-validations",
                                                 "x-kubernetes-preserve-unknown-fields", "title", "additionalProperties",
                                                 "x-kubernetes-embedded-resource", "x-kubernetes-int-or-string"]

    static func check(_ schema: JSONValue, path: String, isRoot: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        walk(schema, path: path, inJunctor: false, isRoot: isRoot, underMetadata: false, into: &errors)
        return errors
    }

    private static func walk(_ s: JSONValue, path: String, inJunctor: Bool, isRoot: Bool, underMetadata: Bool,
                             into errors: inout [FieldError])
    {
        guard case .object(let node) = s else { return }
        for key in forbiddenKeys where node[key] != nil {
            errors.append(.forbidden("\(path).\(key)", "\(key) is forbidden in structural schemas"))
        }
        if node["uniqueItems"]?.boolValue == true {
            errors.append(.forbidden("\(path).uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
        }
        if node["additionalProperties"]?.boolValue == false {
            errors.append(.forbidden("\(path).additionalProperties", "additionalProperties cannot be set to false"))
        }
        if node["additionalProperties"] != nil, node["properties"] != nil {
            errors.append(.forbidden("\(path).additionalProperties", "additionalProperties and properties are mutual exclusive"))
        }
        if inJunctor {
            for key in junctorForbidden where node[key] != nil {
                errors.append(.forbidden("\(path).\(key)", "must be empty to be structural"))
            }
        } else {
            let exempt = node["x-kubernetes-int-or-string"]?.boolValue == true
                || node["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
            if node["type"] == nil, !exempt {
                errors.append(.required("\(path).type", "must not be empty for specified object fields"))
            }
        }
        if node["x-kubernetes-embedded-resource"]?.boolValue == true, node["x-kubernetes-preserve-unknown-fields"] == nil,
           node["properties"] == nil
        {
            errors.append(.required("\(path).properties", "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"))
        }
        for (name, child) in (node["properties"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            let childPath = "\(path).properties[\(name)]"
            if isRoot, name == "metadata" {
                checkMetadata(child, path: childPath, into: &errors)
                continue
            }
            walk(child, path: childPath, inJunctor: inJunctor, isRoot: false, underMetadata: false, into: &errors)
        }
        if let items = node["items"] {
            if items.arrayValue != nil {
                errors.append(.forbidden("\(path).items", "items must be a schema object and not an array"))
            } else {
                walk(items, path: "\(path).items", inJunctor: inJunctor, isRoot: false, underMetadata: false, into: &errors)
            }
        }
        if let ap = node["additionalProperties"], ap.objectValue != nil {
            walk(ap, path: "\(path).additionalProperties", inJunctor: inJunctor, isRoot: false, underMetadata: false, into: &errors)
        }
        for junctor in ["allOf", "anyOf", "oneOf"] {
            for (i, sub) in (node[junctor]?.arrayValue ?? []).enumerated() {
                walk(sub, path: "\(path).\(junctor)[\(i)]", inJunctor: true, isRoot: false, underMetadata: false, into: &errors)
            }
        }
        if let not = node["not"] {
            walk(not, path: "\(path).not", inJunctor: true, isRoot: false, underMetadata: false, into: &errors)
        }
        if isRoot, let type = node["type"]?.stringValue, type != "object" {
            errors.append(.invalid("\(path).type", .string(type), "must be object at the root"))
        }
    }

    /// Under `metadata` only `name` and `generateName` may be constrained.
    private static func checkMetadata(_ s: JSONValue, path: String, into errors: inout [FieldError]) {
        guard case .object(let node) = s else { return }
        for (name, _) in node["properties"]?.objectValue ?? [:] where name != "name" && name != "generateName" {
            errors.append(.forbidden("\(path).properties[\(name)]", "must not be specified"))
        }
        if node["type"] != nil, node["type"]?.stringValue != "object" {
            errors.append(.invalid("\(path).type", node["type"], "must be object"))
        }
        for key in node.keys where !["type", "properties", "description"].contains(key) {
            errors.append(.forbidden("\(path).\(key)", "must not be specified"))
        }
    }
}
