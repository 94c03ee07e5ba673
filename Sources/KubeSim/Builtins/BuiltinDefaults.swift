import DynamicJSON
import Foundation

/// Built-in defaulting and normalisation (§E, §Q), so live objects look like a real cluster's.
enum BuiltinDefaults {
    static func apply(_ obj: inout JSONValue, type: ResourceType, old: JSONValue?, subresource: Subresource,
                      now: Date) throws(KubeAPIError)
    {
        let creating = old == nil
        switch type.tag {
        case .namespace:
            let name = obj["metadata"]?["name"]?.stringValue ?? ""
            obj[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(name)
            if creating {
                if obj["spec"]?["finalizers"] == nil { obj[path: ["spec", "finalizers"]] = ["kubernetes"] }
                obj["status"] = ["phase": "Active"]
            } else if subresource == .main {
                obj[path: ["spec", "finalizers"]] = old?["spec"]?["finalizers"]
            }
        case .secret:
            if obj["type"] == nil { obj["type"] = "Opaque" }
            try mergeStringData(&obj, type)
        case .configMap:
            try checkBase64(obj["binaryData"], field: "binaryData", type)
        case .pvc:
            if obj["spec"]?["volumeMode"] == nil, obj["spec"] != nil { obj[path: ["spec", "volumeMode"]] = "Filesystem" }
            canonicalQuantities(&obj, ["spec", "resources", "requests"])
            canonicalQuantities(&obj, ["spec", "resources", "limits"])
            canonicalQuantities(&obj, ["status", "capacity"])
            if creating { obj["status"] = ["phase": "Pending"] }
        case .pod:
            if var spec = obj["spec"] {
                defaultPodSpec(&spec)
                if spec["enableServiceLinks"] == nil { spec["enableServiceLinks"] = true }
                obj["spec"] = spec
            }
            if creating { obj["status"] = ["phase": "Pending", "qosClass": "BestEffort"] }
        case .deployment:
            defaultWorkload(&obj)
            if obj["spec"]?["strategy"] == nil {
                obj[path: ["spec", "strategy"]] = ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": "25%"]]
            } else if obj["spec"]?["strategy"]?["type"] == nil {
                obj[path: ["spec", "strategy", "type"]] = "RollingUpdate"
            }
            setDefault(&obj, ["spec", "progressDeadlineSeconds"], 600)
        case .statefulSet:
            defaultWorkload(&obj)
            setDefault(&obj, ["spec", "podManagementPolicy"], "OrderedReady")
            if obj["spec"]?["updateStrategy"] == nil {
                obj[path: ["spec", "updateStrategy"]] = ["type": "RollingUpdate", "rollingUpdate": ["partition": 0]]
            }
            setDefault(&obj, ["spec", "persistentVolumeClaimRetentionPolicy"], ["whenDeleted": "Retain", "whenScaled": "Retain"])
            if var templates = obj["spec"]?["volumeClaimTemplates"]?.arrayValue {
                for i in templates.indices {
                    setDefault(&templates[i], ["apiVersion"], "v1")
                    setDefault(&templates[i], ["kind"], "PersistentVolumeClaim")
                    setDefault(&templates[i], ["spec", "volumeMode"], "Filesystem")
                    canonicalQuantities(&templates[i], ["spec", "resources", "requests"])
                    setDefault(&templates[i], ["status"], ["phase": "Pending"])
                }
                obj[path: ["spec", "volumeClaimTemplates"]] = .array(templates)
            }
        case .replicaSet:
            setDefault(&obj, ["spec", "replicas"], 1)
            defaultTemplate(&obj, ["spec", "template"])
        case .job:
            defaultJob(&obj, creating: creating)
        case .cronJob:
            setDefault(&obj, ["spec", "concurrencyPolicy"], "Allow")
            setDefault(&obj, ["spec", "suspend"], false)
            setDefault(&obj, ["spec", "successfulJobsHistoryLimit"], 3)
            setDefault(&obj, ["spec", "failedJobsHistoryLimit"], 1)
            defaultTemplate(&obj, ["spec", "jobTemplate", "spec", "template"])
        case .lease:
            for f in ["acquireTime", "renewTime"] { normalizeTime(&obj, ["spec", f], micro: true) }
        case .event, .eventV1:
            for f in ["firstTimestamp", "lastTimestamp", "deprecatedFirstTimestamp", "deprecatedLastTimestamp"] {
                normalizeTime(&obj, [f], micro: false)
            }
            normalizeTime(&obj, ["eventTime"], micro: true)
            normalizeTime(&obj, ["series", "lastObservedTime"], micro: true)
        default:
            break
        }
        if subresource == .status || creating { normalizeConditionTimes(&obj) }
    }

    static func setDefault(_ obj: inout JSONValue, _ path: [String], _ value: JSONValue) {
        if obj[path: path] == nil { obj[path: path] = value }
    }

    static func normalizeTime(_ obj: inout JSONValue, _ path: [String], micro: Bool) {
        if let s = obj[path: path]?.stringValue, let n = Timestamp.normalize(s, micro: micro) { obj[path: path] = .string(n) }
    }

    private static func normalizeConditionTimes(_ obj: inout JSONValue) {
        guard var conditions = obj["status"]?["conditions"]?.arrayValue else { return }
        for i in conditions.indices {
            for f in ["lastTransitionTime", "lastUpdateTime", "lastProbeTime", "lastHeartbeatTime"] {
                normalizeTime(&conditions[i], [f], micro: false)
            }
        }
        obj[path: ["status", "conditions"]] = .array(conditions)
        for f in ["startTime", "completionTime", "lastScheduleTime", "lastSuccessfulTime"] {
            normalizeTime(&obj, ["status", f], micro: false)
        }
    }

    private static func defaultWorkload(_ obj: inout JSONValue) {
        setDefault(&obj, ["spec", "replicas"], 1)
        setDefault(&obj, ["spec", "revisionHistoryLimit"], 10)
        defaultTemplate(&obj, ["spec", "template"])
    }

    static func defaultTemplate(_ obj: inout JSONValue, _ path: [String]) {
        guard var template = obj[path: path] else { return }
        if template["metadata"]?["creationTimestamp"] == nil { template[path: ["metadata", "creationTimestamp"]] = .null }
        if var spec = template["spec"] {
            defaultPodSpec(&spec)
            template["spec"] = spec
        }
        obj[path: path] = template
    }

    static func defaultPodSpec(_ spec: inout JSONValue) {
        setDefault(&spec, ["restartPolicy"], "Always")
        setDefault(&spec, ["dnsPolicy"], "ClusterFirst")
        setDefault(&spec, ["schedulerName"], "default-scheduler")
        setDefault(&spec, ["terminationGracePeriodSeconds"], 30)
        setDefault(&spec, ["securityContext"], [:])
        for list in ["containers", "initContainers"] {
            guard var containers = spec[list]?.arrayValue else { continue }
            for i in containers.indices { defaultContainer(&containers[i]) }
            spec[list] = .array(containers)
        }
        if var volumes = spec["volumes"]?.arrayValue {
            for i in volumes.indices {
                if volumes[i]["secret"] != nil { setDefault(&volumes[i], ["secret", "defaultMode"], 420) }
                if volumes[i]["configMap"] != nil { setDefault(&volumes[i], ["configMap", "defaultMode"], 420) }
            }
            spec["volumes"] = .array(volumes)
        }
    }

    private static func defaultContainer(_ c: inout JSONValue) {
        setDefault(&c, ["terminationMessagePath"], "/dev/termination-log")
        setDefault(&c, ["terminationMessagePolicy"], "File")
        if c["imagePullPolicy"] == nil {
            let image = c["image"]?.stringValue ?? ""
            let lastSegment = image.split(separator: "/").last.map(String.init) ?? image
            let tagged = lastSegment.contains(":") || image.contains("@")
            c["imagePullPolicy"] = (!tagged || image.hasSuffix(":latest")) ? "Always" : "IfNotPresent"
        }
        setDefault(&c, ["resources"], [:])
        canonicalQuantities(&c, ["resources", "requests"])
        canonicalQuantities(&c, ["resources", "limits"])
        if var ports = c["ports"]?.arrayValue {
            for i in ports.indices { setDefault(&ports[i], ["protocol"], "TCP") }
            c["ports"] = .array(ports)
        }
        if var env = c["env"]?.arrayValue {
            for i in env.indices where env[i]["valueFrom"]?["fieldRef"] != nil {
                setDefault(&env[i], ["valueFrom", "fieldRef", "apiVersion"], "v1")
            }
            c["env"] = .array(env)
        }
    }

    static func canonicalQuantities(_ obj: inout JSONValue, _ path: [String]) {
        guard var map = obj[path: path]?.objectValue else { return }
        for (k, v) in map {
            if let s = v.stringValue { map[k] = .string(Quantity.canonical(s)) } else if let i = v.intValue { map[k] = .string(Quantity.canonical(String(i))) }
        }
        obj[path: path] = .object(map)
    }

    private static func defaultJob(_ obj: inout JSONValue, creating: Bool) {
        guard obj["spec"] != nil else { return }
        if obj["spec"]?["completions"] == nil, obj["spec"]?["parallelism"] == nil, creating {
            obj[path: ["spec", "completions"]] = 1
        }
        setDefault(&obj, ["spec", "parallelism"], 1)
        setDefault(&obj, ["spec", "backoffLimit"], obj["spec"]?["backoffLimitPerIndex"] == nil ? 6 : 2_147_483_647)
        setDefault(&obj, ["spec", "completionMode"], "NonIndexed")
        setDefault(&obj, ["spec", "suspend"], false)
        if obj["spec"]?["podFailurePolicy"] == nil { setDefault(&obj, ["spec", "podReplacementPolicy"], "TerminatingOrFailed") }
        if creating, obj["spec"]?["manualSelector"]?.boolValue != true, let uid = obj["metadata"]?["uid"]?.stringValue {
            let name = obj["metadata"]?["name"]?.stringValue ?? ""
            obj[path: ["spec", "selector"]] = ["matchLabels": ["batch.kubernetes.io/controller-uid": .string(uid)]]
            for (k, v) in [("batch.kubernetes.io/controller-uid", uid), ("batch.kubernetes.io/job-name", name),
                           ("controller-uid", uid), ("job-name", name)]
            {
                obj[path: ["spec", "template", "metadata", "labels", k]] = .string(v)
            }
        }
        defaultTemplate(&obj, ["spec", "template"])
    }

    private static func mergeStringData(_ obj: inout JSONValue, _ type: ResourceType) throws(KubeAPIError) {
        try checkBase64(obj["data"], field: "data", type)
        guard let stringData = obj["stringData"]?.objectValue else {
            obj["stringData"] = nil
            return
        }
        var data = obj["data"]?.objectValue ?? [:]
        for (k, v) in stringData { data[k] = .string(Data((v.stringValue ?? "").utf8).base64EncodedString()) }
        obj["data"] = .object(data)
        obj["stringData"] = nil
    }

    private static func checkBase64(_ map: JSONValue?, field: String, _ type: ResourceType) throws(KubeAPIError) {
        for (_, v) in map?.objectValue ?? [:] {
            guard let s = v.stringValue, Data(base64Encoded: s) != nil else {
                throw KubeAPIError.badRequest("\(type.kind) in version \(goQuote(type.version)) cannot be handled as a \(type.kind): illegal base64 data at input byte 0")
            }
        }
    }
}
