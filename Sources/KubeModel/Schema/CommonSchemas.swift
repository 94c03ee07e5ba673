import DynamicJSON

/// Schema fragments shared by the five kinds.
enum S {
    static let dnsSubdomainPattern = #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"#
    static let dnsLabelPattern = #"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"#
    static let durationPattern = #"^([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"#
    static let schedulePattern =
        #"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every ([0-9]+[wdhms])+|[0-9A-Za-z*,/?-]+( +[0-9A-Za-z*,/?-]+){4})$"#
    static let secretKeyPattern = #"^[-._a-zA-Z0-9]+$"#
    static let urlPattern = #"^https?://[^\s/]+(/[^\s]*)?$"#
    static let identifierPattern = #"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$"#
    static let bucketPattern = #"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"#
    static let quantityPattern =
        #"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"#

    static func name(_ what: String) -> Schema {
        .string("Name of the \(what) in the same namespace.", pattern: dnsSubdomainPattern, minLength: 1,
                example: "example", semantic: .dnsSubdomain)
    }

    static func duration(_ description: String, default value: String? = nil, example: String = "90d") -> Schema {
        .string(description + " A duration such as `90d`, `26h`, `30m` or `1h30m` (units w, d, h, m, s, largest first).",
                pattern: durationPattern, minLength: 1, maxLength: 32, default: value, example: example,
                semantic: .duration)
    }

    static func schedule(_ description: String) -> Schema {
        .string(description + " Five cron fields (minute hour day-of-month month day-of-week, with ranges, steps, lists and names), a macro (`@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`) or `@every <duration>` (e.g. `@every 6h`). Set the zone with `timeZone`, not a `TZ=` prefix.",
                pattern: schedulePattern, minLength: 1, maxLength: 100, example: "0 2 * * *", semantic: .schedule)
    }

    static let timeZone: Schema = .string(
        "IANA time zone the schedule is read in, e.g. `UTC`, `Europe/Berlin`. Wall-clock times skipped by a daylight-saving change run at the end of the gap; repeated times run once.",
        minLength: 1, maxLength: 64, default: "UTC", example: "UTC", semantic: .timeZone)

    static let suspend: Schema = .boolean("Stop starting new runs; runs in progress finish.", default: false)

    static let host: Schema = .string("Host name or IP address of the server.", pattern: #"^[^\s/]+$"#,
                                      minLength: 1, example: "postgres")
    static func port(_ value: Int64) -> Schema {
        .integer("TCP port.", min: 1, max: 65535, default: value)
    }
    static let url: Schema = .string("Base URL, `http://` or `https://`.", pattern: urlPattern, minLength: 1,
                                     maxLength: 2048, example: "http://minio:9000")

    static func secretKeyRef(_ what: String) -> Schema {
        .object("A key of a Secret in the same namespace holding \(what).", [
            "name": name("Secret").required,
            "key": .string("Key inside the Secret.", pattern: secretKeyPattern, minLength: 1, example: "password",
                           semantic: .secretKey).required,
            "optional": .boolean("Treat a missing Secret or key as empty instead of failing."),
        ])
    }

    static let s3Credentials: Schema = .object(
        "A Secret holding the S3 access key id and secret access key.", [
            "name": name("Secret").required,
            "accessKeyIDKey": .string("Key holding the access key id.", pattern: secretKeyPattern, minLength: 1,
                                      default: "AWS_ACCESS_KEY_ID", semantic: .secretKey),
            "secretAccessKeyKey": .string("Key holding the secret access key.", pattern: secretKeyPattern,
                                          minLength: 1, default: "AWS_SECRET_ACCESS_KEY", semantic: .secretKey),
        ])

    static let adminCredentials: Schema = .object(
        "A Secret holding an administrator login used to change the password at the source.", [
            "name": name("Secret").required,
            "userKey": .string("Key holding the user name.", pattern: secretKeyPattern, minLength: 1,
                               default: "username", semantic: .secretKey),
            "passwordKey": .string("Key holding the password.", pattern: secretKeyPattern, minLength: 1,
                                   default: "password", semantic: .secretKey),
        ])

    static let sslMode: Schema = .enumeration("libpq `sslmode`.", PostgresSSLMode.self, default: "prefer")
    static let region: Schema = .string("S3 region used for request signing.", minLength: 1, maxLength: 64,
                                        default: "us-east-1")
    static let pathStyle: Schema = .boolean("Path-style addressing (`endpoint/bucket/key`), as MinIO expects.",
                                            default: true)
    static let bucket: Schema = .string("Bucket name.", pattern: bucketPattern, minLength: 3, maxLength: 63,
                                        example: "backups")
    static let prefix: Schema = .string("Key prefix inside the bucket, without a leading `/`.",
                                        pattern: #"^[^/].*$|^$"#, maxLength: 512, example: "agentfs/pg")
    /// A leading `/` means the root of the claim (`/` is the whole claim), not of the node: the
    /// controller strips it, so `/data` and `data` name the same directory.
    static let relativePath: Schema = .string(
        "Path inside the volume; `/` or empty is the whole volume, a leading `/` is read as the volume's root, `..` is not allowed.",
        maxLength: 1024, example: "data")
        .with(rules: [Rule("!self.contains('..')", message: "use a path inside the volume: `..` is not allowed",
                           check: { !($0.stringValue ?? "").contains("..") })])
    static func identifier(_ description: String) -> Schema {
        .string(description, pattern: identifierPattern, minLength: 1, maxLength: 127, example: "entries")
    }
    static func tables(_ description: String) -> Schema {
        .array(description, identifier("Table name, optionally schema-qualified."), maxItems: 256, listType: .set)
    }

    static let workloadRef: Schema = .object("A Deployment or StatefulSet in the same namespace.", [
        "kind": .enumeration("Workload kind.", WorkloadKind.self).required,
        "name": name("workload").required,
    ])

    static let jobTemplate: Schema = .object(
        "How Backstop's data-plane Jobs run (image and scheduling). Pods always run with a restricted security context.", [
            "image": .string("Backstop agent image; the operator's own image when omitted.", minLength: 1,
                             maxLength: 512, example: "ghcr.io/backstop/backstop:0.1.0"),
            "imagePullPolicy": .string("Image pull policy.", enum: ["Always", "IfNotPresent", "Never"]),
            "imagePullSecrets": .array("Secrets for pulling the image.", .object("A Secret reference.", [
                "name": name("Secret").required,
            ]), maxItems: 16, listType: .map(keys: ["name"])),
            "resources": .object("Compute resources of the agent container.", [
                "requests": .map("Minimum resources, e.g. `cpu: 100m`.", .intOrString("A resource quantity.", pattern: quantityPattern).example("100m")),
                "limits": .map("Maximum resources, e.g. `memory: 512Mi`.", .intOrString("A resource quantity.", pattern: quantityPattern).example("512Mi")),
            ]),
            "nodeSelector": .map("Node labels the pod must match.", .string("Label value.", maxLength: 63)),
            "tolerations": .array("Taints the pod tolerates.", .object("A toleration.", [
                "key": .string("Taint key; empty matches all keys.", maxLength: 316),
                "operator": .string("How the value is compared.", enum: ["Exists", "Equal"]),
                "value": .string("Taint value.", maxLength: 63),
                "effect": .string("Taint effect to match; empty matches all.", enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                "tolerationSeconds": .integer("How long a NoExecute taint is tolerated.", min: 0, format: "int64"),
            ]), maxItems: 32, listType: .atomic),
            "serviceAccountName": .string("Service account of the pod.", pattern: dnsSubdomainPattern, example: "backstop-agent"),
            "activeDeadlineSeconds": .integer("Kill the Job after this many seconds.", min: 1, format: "int64", example: 3600),
            "backoffLimit": .integer("Retries of a failed pod before the run fails.", min: 0, max: 10, default: 1),
            "podLabels": .map("Extra labels on the pod.", .string("Label value.", maxLength: 63)),
            "podAnnotations": .map("Extra annotations on the pod.", .string("Annotation value.", maxLength: 4096)),
        ])

    /// `spec.notify` accepting only the events a kind can emit (see docs/notifications.md).
    static func notify(_ events: [NotificationEvent], _ description: String = "Webhooks to call on events.") -> Schema {
        .array(description, .object("One webhook and the events it receives.", [
            "webhook": .object("An HTTP endpoint that receives a JSON POST (a Slack-compatible `text` plus structured fields).", [
                "urlSecretRef": secretKeyRef("the webhook URL (URLs of chat webhooks are credentials)").required,
            ]).required,
            "events": .array("Events that trigger the webhook (named `events`, not `on`, because YAML 1.1 reads `on` as true).",
                             .string("An event.", enum: events.map(\.rawValue)), minItems: 1, maxItems: 11,
                             listType: .set).required,
        ]), maxItems: 8, listType: .atomic)
    }

    static let notificationStatus: Schema = .object("Webhook deliveries (no URL or Secret value is ever recorded).", [
        "pending": .array("Messages decided but not yet delivered, oldest first.", .object("One message.", [
            "id": .string("Stable per transition: a receiver may drop a repeat.", maxLength: 128).required,
            "event": .enumeration("The event.", NotificationEvent.self).required,
            "reason": .string("CamelCase reason.", maxLength: 128).required,
            "message": .string("What happened.", maxLength: 4096).required,
            "time": .time("When the transition was observed.").required,
        ]), maxItems: 10, listType: .atomic),
        "lastDelivery": .object("How the last delivery went.", [
            "id": .string("The message id.", maxLength: 128).required,
            "event": .enumeration("The event.", NotificationEvent.self).required,
            "time": .time("When delivery finished.").required,
            "result": .enumeration("Delivered; Failed (after all retries); Skipped (every listening webhook is optional and its Secret is missing).", DeliveryResult.self).required,
            "attempts": .integer("HTTP attempts made.", min: 0).required,
            "message": .string("The HTTP outcome or why it failed.", maxLength: 1024),
        ]),
    ])

    static let sqlCheck: Schema = .object("A query whose single result must equal `expect`.", [
        "name": .string("Name of the check, shown in status.", pattern: dnsLabelPattern, minLength: 1, maxLength: 63,
                        example: "fk-entries").required,
        "query": .string("SQL returning one row with one column.", minLength: 1, maxLength: 8192,
                         example: "SELECT count(*) FROM entries").required,
        "expect": .string("Expected value, compared as text.", maxLength: 1024, example: "0").required,
    ])

    static let restoreVerification: Schema = .object("Checks run after the restore.", [
        "rowCounts": .boolean("Compare per-table row counts with those recorded in the artifact's manifest.", default: true),
        "sql": .array("Queries that must return the expected value.", sqlCheck, maxItems: 32,
                      listType: .map(keys: ["name"])),
    ])

    static let backupSelector: Schema = .object(
        "Which artifact to restore. `{}` (the default) is the newest; `verifiedOnly` skips unverified artifacts; `before` picks the newest created at or before a time; `id` names one.", [
            "id": .string("Artifact id, e.g. `20260208T120000Z-3f9a0c1e`.",
                          pattern: #"^[0-9]{8}T[0-9]{6}Z-[a-z0-9]{4,32}$"#, maxLength: 64,
                          example: "20260208T120000Z-3f9a0c1e"),
            "before": .time("Newest artifact created at or before this time (point-in-time choice)."),
            "verifiedOnly": .boolean("Only consider artifacts whose verification passed.", default: false),
        ], rules: [
            Rule("!(has(self.id) && has(self.before))", message: "set either id or before, not both", fieldPath: ".before",
                 check: { !($0["id"] != nil && $0["before"] != nil) }),
        ])

    static let step: Schema = .object("One step and its outcome.", [
        "name": .string("Step name.", maxLength: 63).required,
        "phase": .enumeration("Step phase.", StepPhase.self).required,
        "startedAt": .time("When the step started."),
        "finishedAt": .time("When the step finished."),
        "job": .string("Job that ran the step.", maxLength: 63),
        "message": .string("What happened, for a person.", maxLength: 4096),
    ])

    static let conditions: Schema = .array(
        "Current state as conditions (`Ready` summarises).", .object("A condition (Kubernetes API conventions).", [
            "type": .string("Condition type, CamelCase.", maxLength: 316, example: "Ready").required,
            "status": .enumeration("True, False or Unknown.", ConditionStatus.self).required,
            "observedGeneration": .integer("Generation the condition was computed from.", min: 0, format: "int64"),
            "lastTransitionTime": .time("When the status last changed.").required,
            "reason": .string("Machine-readable reason, CamelCase.", maxLength: 1024, example: "BackupSucceeded").required,
            "message": .string("What happened and what to do.", maxLength: 32768).required,
        ]), maxItems: 16, listType: .map(keys: ["type"]))

    static let observedGeneration: Schema = .integer("The spec generation this status describes.", min: 0, format: "int64")

    static let manualRun: Schema = .object("The last `backstop.dev/run-now` annotation value handled.", [
        "value": .string("Annotation value.", maxLength: 253).required,
        "job": .string("Job it started.", maxLength: 63),
        "result": .enumeration("Outcome.", OperationResult.self),
        "startedAt": .time("Start time."),
        "finishedAt": .time("End time."),
        "message": .string("Details.", maxLength: 4096),
    ])

    static let activeJob: Schema = .object("The Job running now.", [
        "name": .string("Job name.", maxLength: 63).required,
        "startedAt": .time("When it started."),
    ])

    static let backupReference: Schema = .object("The artifact used.", [
        "id": .string("Artifact id.", maxLength: 64).required,
        "time": .time("When the backup was taken."),
        "sha256": .string("SHA-256 of the artifact.", maxLength: 64),
        "sizeBytes": .integer("Size in bytes.", min: 0, format: "int64"),
    ])

    /// `metadata` is constrained only in `name` (all the API server allows).
    static let metadata: Schema = {
        var s = Schema.object("Standard object metadata.", [
            "name": .string("Object name: at most \(Backstop.maxNameLength) characters so that Job names derived from it fit 63.",
                            maxLength: Int(Backstop.maxNameLength)),
        ])
        s.isRequired = false
        return s
    }()
}
