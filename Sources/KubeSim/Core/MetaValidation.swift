import DynamicJSON

/// Name, label, annotation, finalizer and ownerReference validation with apimachinery's wording.
enum MetaValidation {
    static let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    static let labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    static let qualifiedNameMessage = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    private static func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (c >= 65 && c <= 90) }

    /// RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
    static func dnsLabelErrors(_ s: String) -> [String] {
        var errors: [String] = []
        if s.utf8.count > 63 { errors.append("must be no more than 63 characters") }
        if !isDNSLabel(s) { errors.append(labelMessage) }
        return errors
    }

    static func isDNSLabel(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard let first = b.first, let last = b.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        return b.allSatisfy { isLowerAlnum($0) || $0 == 45 }
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    static func dnsSubdomainErrors(_ s: String) -> [String] {
        var errors: [String] = []
        if s.utf8.count > 253 { errors.append("must be no more than 253 characters") }
        if !isDNSSubdomain(s) { errors.append(subdomainMessage) }
        return errors
    }

    static func isDNSSubdomain(_ s: String) -> Bool {
        guard !s.isEmpty else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// Qualified names (label and annotation keys, finalizers): `[prefix/]name`.
    static func qualifiedNameErrors(_ s: String) -> [String] {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var name = s
        var errors: [String] = []
        switch parts.count {
        case 1: break
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errors.append("prefix part must be non-empty")
            } else {
                errors += dnsSubdomainErrors(prefix).map { "prefix part \($0)" }
            }
        default:
            return ["a qualified name " + qualifiedNameMessage.dropFirst("name part ".count) +
                    " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        if name.isEmpty {
            errors.append("name part must be non-empty")
        } else {
            if name.utf8.count > 63 { errors.append("name part must be no more than 63 characters") }
            let b = Array(name.utf8)
            let ok = isAlnum(b.first!) && isAlnum(b.last!) && b.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
            if !ok { errors.append(qualifiedNameMessage) }
        }
        return errors
    }

    static func labelValueErrors(_ s: String) -> [String] {
        var errors: [String] = []
        if s.utf8.count > 63 { errors.append("must be no more than 63 characters") }
        let b = Array(s.utf8)
        if !b.isEmpty {
            let ok = isAlnum(b.first!) && isAlnum(b.last!) && b.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
            if !ok { errors.append(labelValueMessage) }
        }
        return errors
    }

    enum NameRule { case subdomain, label, path }

    /// Validates `metadata` of an object about to be stored.
    static func validate(_ meta: JSONValue, nameRule: NameRule, namespaced: Bool, maxNameLength: Int? = nil) -> [FieldError] {
        var errors: [FieldError] = []
        let name = meta["name"]?.stringValue ?? ""
        if name.isEmpty {
            errors.append(.required("metadata.name", "name or generateName is required"))
        } else {
            let messages: [String]
            switch nameRule {
            case .subdomain: messages = dnsSubdomainErrors(name)
            case .label: messages = dnsLabelErrors(name)
            case .path: messages = pathSegmentErrors(name)
            }
            errors += messages.map { .invalid("metadata.name", .string(name), $0) }
            if let max = maxNameLength, name.utf8.count > max {
                errors.append(.invalid("metadata.name", .string(name), "must be no more than \(max) characters"))
            }
        }
        if namespaced, let ns = meta["namespace"]?.stringValue, !ns.isEmpty {
            errors += dnsLabelErrors(ns).map { .invalid("metadata.namespace", .string(ns), $0) }
        }
        errors += validateStringMap(meta["labels"], field: "metadata.labels", isLabels: true)
        errors += validateStringMap(meta["annotations"], field: "metadata.annotations", isLabels: false)
        if let finalizers = meta["finalizers"]?.arrayValue {
            for (i, f) in finalizers.enumerated() {
                let s = f.stringValue ?? ""
                errors += qualifiedNameErrors(s).map { .invalid("metadata.finalizers[\(i)]", .string(s), $0) }
            }
        }
        errors += validateOwnerReferences(meta["ownerReferences"])
        return errors
    }

    static func pathSegmentErrors(_ name: String) -> [String] {
        if name == "." || name == ".." { return ["may not be '\(name)'"] }
        for bad in ["/", "%"] where name.contains(bad) { return ["may not contain '\(bad)'"] }
        return []
    }

    static func validateStringMap(_ value: JSONValue?, field: String, isLabels: Bool) -> [FieldError] {
        guard let map = value?.objectValue else { return [] }
        var errors: [FieldError] = []
        var total = 0
        for key in map.keys.sorted() {
            errors += qualifiedNameErrors(key).map { .invalid(field, .string(key), $0) }
            let v = map[key]?.stringValue ?? ""
            total += key.utf8.count + v.utf8.count
            if isLabels { errors += labelValueErrors(v).map { .invalid(field, .string(v), $0) } }
        }
        if !isLabels, total > 262_144 {
            errors.append(FieldError(.tooLong, field, nil, "must have at most 262144 bytes"))
        }
        return errors
    }

    static func validateOwnerReferences(_ value: JSONValue?) -> [FieldError] {
        guard let refs = value?.arrayValue else { return [] }
        var errors: [FieldError] = []
        var controllers: [String] = []
        let base = "metadata.ownerReferences"
        for ref in refs {
            let apiVersion = ref["apiVersion"]?.stringValue ?? ""
            let (group, version) = splitAPIVersion(apiVersion)
            if version.isEmpty || apiVersion.isEmpty {
                errors.append(.invalid("\(base).apiVersion", .string(apiVersion), "version must not be empty"))
            }
            _ = group
            for field in ["kind", "name", "uid"] where (ref[field]?.stringValue ?? "").isEmpty {
                errors.append(.invalid("\(base).\(field)", .string(""), "\(field) must not be empty"))
            }
            if ref["controller"]?.boolValue == true {
                controllers.append("\(ref["kind"]?.stringValue ?? "")/\(ref["name"]?.stringValue ?? "")")
            }
        }
        if controllers.count > 1 {
            errors.append(.invalid(base, value, "Only one reference can have Controller set to true. Found \"true\" in references for \(controllers.joined(separator: " and "))"))
        }
        return errors
    }
}
