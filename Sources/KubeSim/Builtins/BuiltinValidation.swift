import DynamicJSON

/// Built-in validation the operator and kubectl can run into (§I immutability, §Q per-kind rules).
enum BuiltinValidation {
    static func validate(_ obj: JSONValue, type: ResourceType, old: JSONValue?) -> [FieldError] {
        var errors: [FieldError] = []
        switch type.tag {
        case .secret, .configMap:
            errors += dataKeys(obj, fields: type.tag == .secret ? ["data"] : ["data", "binaryData"])
            if type.tag == .configMap {
                for key in (obj["data"]?.objectValue ?? [:]).keys where obj["binaryData"]?[key] != nil {
                    errors.append(FieldError(.duplicate, "data[\(key)]", goQuote(key)))
                }
            }
            if let old, old["immutable"]?.boolValue == true {
                for f in ["data", "binaryData"] where old[f] != obj[f] {
                    errors.append(.forbidden(f, "field is immutable when `immutable` is set"))
                }
                if obj["immutable"]?.boolValue != true { errors.append(.forbidden("immutable", "field is immutable when `immutable` is set")) }
            }
        case .deployment, .replicaSet, .statefulSet:
            errors += workload(obj, old: old, type: type)
        case .job:
            errors += job(obj, old: old)
            errors += JobStatusRules.validate(obj, old: old)
        case .cronJob:
            errors += podTemplate(obj[path: ["spec", "jobTemplate", "spec", "template"]], path: "spec.jobTemplate.spec.template", job: true)
            let schedule = obj["spec"]?["schedule"]?.stringValue ?? ""
            if schedule.isEmpty {
                errors.append(.required("spec.schedule"))
            } else if schedule.hasPrefix("TZ=") || schedule.hasPrefix("CRON_TZ=") {
                errors.append(.invalid("spec.schedule", .string(schedule), "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
            } else if !CronSyntax.isValid(schedule) {
                errors.append(.invalid("spec.schedule", .string(schedule), "unparseable schedule"))
            }
        case .pvc:
            if let old {
                var a = old["spec"] ?? [:], b = obj["spec"] ?? [:]
                a[path: ["resources", "requests"]] = nil
                b[path: ["resources", "requests"]] = nil
                a["volumeAttributesClassName"] = nil
                b["volumeAttributesClassName"] = nil
                a["volumeName"] = nil
                b["volumeName"] = nil
                if a != b {
                    errors.append(.forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"))
                }
            } else {
                if (obj["spec"]?["accessModes"]?.arrayValue ?? []).isEmpty {
                    errors.append(.required("spec.accessModes", "at least 1 access mode is required"))
                }
                if obj["spec"]?["resources"]?["requests"]?["storage"] == nil {
                    errors.append(.required("spec.resources[storage]"))
                }
            }
        case .pod:
            errors += podSpec(obj["spec"], path: "spec", job: false)
        case .eventV1:
            if old == nil {
                for f in ["eventTime", "reportingController", "reportingInstance", "action", "reason"] where obj[f] == nil {
                    errors.append(.required(f))
                }
            }
            if let t = obj["type"]?.stringValue, t != "Normal", t != "Warning" {
                errors.append(.notSupported("type", .string(t), ["Normal", "Warning"]))
            }
            if let note = obj["note"]?.stringValue, note.utf8.count > 1024 {
                errors.append(FieldError(.tooLong, "note", nil, "may not be more than 1024 bytes"))
            }
        default:
            break
        }
        return errors
    }

    private static func dataKeys(_ obj: JSONValue, fields: [String]) -> [FieldError] {
        var errors: [FieldError] = []
        var total = 0
        for f in fields {
            for (key, value) in (obj[f]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                total += value.stringValue?.utf8.count ?? 0
                let valid = !key.isEmpty && key.utf8.count <= 253 && key != "." && key != ".."
                    && key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0) }
                if !valid {
                    errors.append(.invalid("\(f)", .string(key), "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
                }
            }
        }
        if total > 1_048_576 { errors.append(FieldError(.tooLong, fields[0], nil, "may not be more than 1048576 bytes")) }
        return errors
    }

    private static func workload(_ obj: JSONValue, old: JSONValue?, type: ResourceType) -> [FieldError] {
        var errors: [FieldError] = []
        let spec = obj["spec"] ?? [:]
        if let r = spec["replicas"]?.intValue, r < 0 {
            errors.append(.invalid("spec.replicas", .int(r), "must be greater than or equal to 0"))
        }
        if let selector = spec["selector"] {
            let labels = spec["template"]?["metadata"]?["labels"]?.objectValue
            if let parsed = try? LabelSelector(object: selector) {
                if parsed.isEmpty {
                    errors.append(.invalid("spec.selector", selector, "empty selector is invalid for deployment"))
                } else if !parsed.matches(labels) {
                    errors.append(.invalid("spec.template.metadata.labels", spec["template"]?["metadata"]?["labels"],
                                           "`selector` does not match template `labels`"))
                }
            }
            if let old, old["spec"]?["selector"] != selector {
                errors.append(.invalid("spec.selector", selector, "field is immutable"))
            }
        } else {
            errors.append(.required("spec.selector"))
        }
        errors += podTemplate(spec["template"], path: "spec.template", job: false)
        if type.tag == .statefulSet, let old {
            var a = old["spec"] ?? [:], b = spec
            for f in ["replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"] {
                a[f] = nil
                b[f] = nil
            }
            if a != b {
                errors.append(.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
            }
        }
        return errors
    }

    private static func job(_ obj: JSONValue, old: JSONValue?) -> [FieldError] {
        var errors = podTemplate(obj["spec"]?["template"], path: "spec.template", job: true)
        if let old {
            for f in ["selector", "completionMode"] where old["spec"]?[f] != obj["spec"]?[f] {
                errors.append(.invalid("spec.\(f)", obj["spec"]?[f], "field is immutable"))
            }
            if old["spec"]?["template"] != obj["spec"]?["template"], obj["spec"]?["suspend"]?.boolValue != true {
                errors.append(.invalid("spec.template", obj["spec"]?["template"], "field is immutable"))
            }
        }
        for f in ["backoffLimit", "parallelism", "completions", "activeDeadlineSeconds"] {
            if let v = obj["spec"]?[f]?.intValue, v < 0 || (f == "activeDeadlineSeconds" && v == 0) {
                errors.append(.invalid("spec.\(f)", .int(v), f == "activeDeadlineSeconds" ? "must be greater than 0" : "must be greater than or equal to 0"))
            }
        }
        return errors
    }

    private static func podTemplate(_ template: JSONValue?, path: String, job: Bool) -> [FieldError] {
        guard let template else { return [.required(path)] }
        return podSpec(template["spec"], path: "\(path).spec", job: job)
    }

    private static func podSpec(_ spec: JSONValue?, path: String, job: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        let containers = spec?["containers"]?.arrayValue ?? []
        if containers.isEmpty { errors.append(.required("\(path).containers")) }
        var names = Set<String>()
        for (list, items) in [("containers", containers), ("initContainers", spec?["initContainers"]?.arrayValue ?? [])] {
            for (i, c) in items.enumerated() {
                let base = "\(path).\(list)[\(i)]"
                let name = c["name"]?.stringValue ?? ""
                if name.isEmpty {
                    errors.append(.required("\(base).name"))
                } else {
                    errors += MetaValidation.dnsLabelErrors(name).map { .invalid("\(base).name", .string(name), $0) }
                    if !names.insert(name).inserted { errors.append(FieldError(.duplicate, "\(base).name", goQuote(name))) }
                }
                if (c["image"]?.stringValue ?? "").isEmpty { errors.append(.required("\(base).image")) }
            }
        }
        if job {
            let policy = spec?["restartPolicy"]?.stringValue ?? ""
            if policy != "Never", policy != "OnFailure" {
                errors.append(.notSupported("\(path).restartPolicy", .string(policy), ["OnFailure", "Never"]))
            }
        }
        return errors
    }
}

/// Cron schedule syntax: five fields or a macro (no seconds field, no TZ prefix).
enum CronSyntax {
    static let macros: Set<String> = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]

    static func isValid(_ s: String) -> Bool {
        let t = s.trimmingSpaces
        if macros.contains(t) { return true }
        if t.hasPrefix("@every ") { return CELFunctions.parseDuration(String(t.dropFirst(7))) != nil }
        let fields = t.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count == 5 else { return false }
        let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
        let names = [[], [], [], ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
                     ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]]
        for (i, field) in fields.enumerated() {
            for part in field.split(separator: ",", omittingEmptySubsequences: false) {
                let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
                guard pieces.count <= 2, !pieces.isEmpty else { return false }
                if pieces.count == 2, Int(pieces[1]).map({ $0 > 0 }) != true { return false }
                let range = pieces[0]
                if range == "*" || range == "?" { continue }
                for bound in range.split(separator: "-", omittingEmptySubsequences: false) {
                    let lower = bound.lowercased()
                    if let n = Int(bound) {
                        if n < ranges[i].0 || n > ranges[i].1 { return false }
                    } else if !names[i].contains(lower) {
                        return false
                    }
                }
            }
        }
        return true
    }
}
