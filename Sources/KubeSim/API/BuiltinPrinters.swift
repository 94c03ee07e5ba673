import DynamicJSON
import Foundation

/// Columns and cells of kube's built-in printers (pkg/printers/internalversion) for the kinds served.
enum BuiltinPrinters {
    private static func c(_ name: String, _ type: String = "string", _ priority: Int = 0, format: String = "") -> ColumnDef {
        ColumnDef(name: name, type: type, format: format, description: "", priority: priority)
    }
    private static let name = ColumnDef(name: "Name", type: "string", format: "name", description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
    private static let age = c("Age")

    static func columns(_ tag: KindTag) -> [ColumnDef]? {
        switch tag {
        case .deployment: [name, c("Ready"), c("Up-to-date", "integer"), c("Available", "integer"), age,
                           c("Containers", "string", 1), c("Images", "string", 1), c("Selector", "string", 1)]
        case .statefulSet: [name, c("Ready"), age, c("Containers", "string", 1), c("Images", "string", 1)]
        case .replicaSet: [name, c("Desired", "integer"), c("Current", "integer"), c("Ready", "integer"), age,
                           c("Containers", "string", 1), c("Images", "string", 1), c("Selector", "string", 1)]
        case .job: [name, c("Status"), c("Completions"), c("Duration"), age,
                    c("Containers", "string", 1), c("Images", "string", 1), c("Selector", "string", 1)]
        case .cronJob: [name, c("Schedule"), c("Timezone"), c("Suspend", "boolean"), c("Active", "integer"), c("Last Schedule"), age,
                        c("Containers", "string", 1), c("Images", "string", 1), c("Selector", "string", 1)]
        case .configMap: [name, c("Data", "integer"), age]
        case .secret: [name, c("Type"), c("Data", "integer"), age]
        case .namespace: [name, c("Status"), age]
        case .serviceAccount: [name, c("Secrets", "integer"), age]
        case .pvc: [name, c("Status"), c("Volume"), c("Capacity"), c("Access Modes"), c("StorageClass"), c("VolumeAttributesClass"), age,
                    c("VolumeMode", "string", 1)]
        case .pod: [name, c("Ready"), c("Status"), c("Restarts"), age, c("IP", "string", 1), c("Node", "string", 1),
                    c("Nominated Node", "string", 1), c("Readiness Gates", "string", 1)]
        case .event: [c("Last Seen"), c("Type"), c("Reason"), c("Object"), c("Subobject", "string", 1), c("Source", "string", 1),
                      c("Message"), c("First Seen", "string", 1), c("Count", "string", 1), c("Name", "string", 1)]
        case .lease: [name, c("Holder"), age]
        case .roleBinding, .clusterRoleBinding: [name, c("Role"), age, c("Users", "string", 1), c("Groups", "string", 1),
                                                 c("ServiceAccounts", "string", 1)]
        default: nil
        }
    }

    static func cells(_ tag: KindTag, _ o: JSONValue, now: Date) -> [JSONValue]? {
        let n = JSONValue.string(o["metadata"]?["name"]?.stringValue ?? "")
        let ageCell = JSONValue.string(TableConverter.age(o["metadata"]?["creationTimestamp"], now))
        let spec = o["spec"] ?? [:], status = o["status"] ?? [:]
        func int(_ v: JSONValue?) -> Int64 { v?.intValue ?? 0 }
        func podSpec(_ path: [String]) -> (String, String) {
            let containers = spec[path: path]?["containers"]?.arrayValue ?? []
            return (containers.compactMap { $0["name"]?.stringValue }.joined(separator: ","),
                    containers.compactMap { $0["image"]?.stringValue }.joined(separator: ","))
        }
        func selector() -> String {
            guard let s = spec["selector"], let parsed = try? LabelSelector(object: s) else { return "<none>" }
            return parsed.isEmpty ? "<none>" : parsed.string
        }
        switch tag {
        case .deployment:
            let (cs, im) = podSpec(["template", "spec"])
            return [n, .string("\(int(status["readyReplicas"]))/\(int(spec["replicas"]))"), .int(int(status["updatedReplicas"])),
                    .int(int(status["availableReplicas"])), ageCell, .string(cs), .string(im), .string(selector())]
        case .statefulSet:
            let (cs, im) = podSpec(["template", "spec"])
            return [n, .string("\(int(status["readyReplicas"]))/\(int(spec["replicas"]))"), ageCell, .string(cs), .string(im)]
        case .replicaSet:
            let (cs, im) = podSpec(["template", "spec"])
            return [n, .int(int(spec["replicas"])), .int(int(status["replicas"])), .int(int(status["readyReplicas"])), ageCell,
                    .string(cs), .string(im), .string(selector())]
        case .job:
            let (cs, im) = podSpec(["template", "spec"])
            let completions = spec["completions"]?.intValue.map { "\(int(status["succeeded"]))/\($0)" } ?? "\(int(status["succeeded"]))/1 of \(int(spec["parallelism"]))"
            var duration = ""
            if let start = status["startTime"]?.stringValue.flatMap(Timestamp.parse) {
                let end = status["completionTime"]?.stringValue.flatMap(Timestamp.parse) ?? now
                duration = Timestamp.human(end.timeIntervalSince(start))
            }
            return [n, .string(jobStatus(o)), .string(completions), .string(duration), ageCell, .string(cs), .string(im), .string(selector())]
        case .cronJob:
            let (cs, im) = podSpec(["jobTemplate", "spec", "template", "spec"])
            let last = status["lastScheduleTime"].map { TableConverter.age($0, now) } ?? "<none>"
            return [n, .string(spec["schedule"]?.stringValue ?? ""), .string(spec["timeZone"]?.stringValue ?? "<none>"),
                    .bool(spec["suspend"]?.boolValue ?? false), .int(Int64(status["active"]?.arrayValue?.count ?? 0)),
                    .string(last), ageCell, .string(cs), .string(im), .string("<none>")]
        case .configMap:
            return [n, .int(Int64((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))), ageCell]
        case .secret:
            return [n, .string(o["type"]?.stringValue ?? ""), .int(Int64(o["data"]?.objectValue?.count ?? 0)), ageCell]
        case .namespace:
            return [n, .string(status["phase"]?.stringValue ?? ""), ageCell]
        case .serviceAccount:
            return [n, .int(Int64(o["secrets"]?.arrayValue?.count ?? 0)), ageCell]
        case .pvc:
            let modes = (status["accessModes"]?.arrayValue ?? []).compactMap(\.stringValue).map {
                ["ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"][$0] ?? $0
            }.joined(separator: ",")
            return [n, .string(status["phase"]?.stringValue ?? ""), .string(spec["volumeName"]?.stringValue ?? ""),
                    .string(status["capacity"]?["storage"]?.stringValue ?? ""), .string(modes),
                    .string(spec["storageClassName"]?.stringValue ?? "<unset>"),
                    .string(spec["volumeAttributesClassName"]?.stringValue ?? "<unset>"), ageCell,
                    .string(spec["volumeMode"]?.stringValue ?? "Filesystem")]
        case .pod:
            let statuses = status["containerStatuses"]?.arrayValue ?? []
            let total = spec["containers"]?.arrayValue?.count ?? 0
            let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
            let restarts = statuses.reduce(Int64(0)) { $0 + ($1["restartCount"]?.intValue ?? 0) }
            var phase = status["reason"]?.stringValue ?? status["phase"]?.stringValue ?? ""
            if let terminated = statuses.first?["state"]?["terminated"], let reason = terminated["reason"]?.stringValue { phase = reason }
            if o["metadata"]?["deletionTimestamp"] != nil { phase = "Terminating" }
            return [n, .string("\(ready)/\(total)"), .string(phase), .string(String(restarts)), ageCell,
                    .string(status["podIP"]?.stringValue ?? "<none>"), .string(spec["nodeName"]?.stringValue ?? "<none>"),
                    "<none>", "<none>"]
        case .event:
            let first = o["firstTimestamp"] ?? o["eventTime"]
            let last = o["lastTimestamp"] ?? o["series"]?["lastObservedTime"] ?? o["eventTime"] ?? first
            let obj = o["involvedObject"] ?? [:]
            let objectRef = "\((obj["kind"]?.stringValue ?? "").lowercased())/\(obj["name"]?.stringValue ?? "")"
            let source = o["source"]?["component"]?.stringValue ?? o["reportingComponent"]?.stringValue ?? ""
            return [.string(TableConverter.age(last, now)), .string(o["type"]?.stringValue ?? ""), .string(o["reason"]?.stringValue ?? ""),
                    .string(objectRef), .string(obj["fieldPath"]?.stringValue ?? ""), .string(source),
                    .string(o["message"]?.stringValue ?? ""), .string(TableConverter.age(first, now)),
                    .string(String(o["count"]?.intValue ?? 1)), n]
        case .lease:
            return [n, .string(spec["holderIdentity"]?.stringValue ?? "<unknown>"), ageCell]
        case .roleBinding, .clusterRoleBinding:
            let subjects = o["subjects"]?.arrayValue ?? []
            func names(_ kind: String) -> String {
                let list = subjects.filter { $0["kind"]?.stringValue == kind }.map { s -> String in
                    kind == "ServiceAccount" ? "\(s["namespace"]?.stringValue ?? "")/\(s["name"]?.stringValue ?? "")" : (s["name"]?.stringValue ?? "")
                }
                return list.joined(separator: ", ")
            }
            let role = "\(o["roleRef"]?["kind"]?.stringValue ?? "")/\(o["roleRef"]?["name"]?.stringValue ?? "")"
            return [n, .string(role), ageCell, .string(names("User")), .string(names("Group")), .string(names("ServiceAccount"))]
        default:
            return nil
        }
    }

    static func jobStatus(_ o: JSONValue) -> String {
        let conditions = o["status"]?["conditions"]?.arrayValue ?? []
        func has(_ t: String) -> Bool { conditions.contains { $0["type"]?.stringValue == t && $0["status"]?.stringValue == "True" } }
        if has("Complete") { return "Complete" }
        if has("Failed") { return "Failed" }
        if o["metadata"]?["deletionTimestamp"] != nil { return "Terminating" }
        if has("Suspended") { return "Suspended" }
        if has("FailureTarget") { return "FailureTarget" }
        if has("SuccessCriteriaMet") { return "SuccessCriteriaMet" }
        return "Running"
    }
}
