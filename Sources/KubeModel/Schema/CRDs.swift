import DynamicJSON

public struct PrinterColumn: Sendable {
    public var name: String
    public var type: String
    public var jsonPath: String
    public var description: String
    public var priority: Int = 0
}

/// Everything the CRD of one Backstop kind is generated from.
public struct KindDescription: Sendable {
    public var kind: String
    public var plural: String
    public var shortName: String
    public var description: String
    public var spec: Schema
    public var status: Schema
    public var columns: [PrinterColumn]
    /// Top-level rules (on the object, e.g. name length).
    public var singular: String { kind.lowercased() }
    public var crdName: String { "\(plural).\(Backstop.group)" }

    /// The whole object schema (`openAPIV3Schema`).
    public var objectSchema: Schema {
        var spec = self.spec
        spec.isRequired = true
        return .object(description, [
            "apiVersion": .string("APIVersion defines the versioned schema of this representation of an object.", maxLength: nil),
            "kind": .string("Kind is a string value representing the REST resource this object represents.", maxLength: nil),
            "metadata": S.metadata,
            "spec": spec,
            "status": status,
        ])
    }

    /// The CustomResourceDefinition (apiextensions.k8s.io/v1).
    public var crd: JSONValue {
        let columns: [JSONValue] = columns.map { c in
            var o: [String: JSONValue] = ["name": .string(c.name), "type": .string(c.type), "jsonPath": .string(c.jsonPath),
                                          "description": .string(c.description)]
            if c.priority != 0 { o["priority"] = .int(Int64(c.priority)) }
            return .object(o)
        }
        return [
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": ["name": .string(crdName), "labels": ["app.kubernetes.io/part-of": "backstop"]],
            "spec": [
                "group": .string(Backstop.group),
                "names": [
                    "kind": .string(kind), "listKind": .string(kind + "List"), "plural": .string(plural),
                    "singular": .string(singular), "shortNames": [.string(shortName)], "categories": [.string(Backstop.category)],
                ],
                "scope": "Namespaced",
                "versions": [[
                    "name": .string(Backstop.version), "served": true, "storage": true,
                    "subresources": ["status": [:]],
                    "additionalPrinterColumns": .array(columns),
                    "schema": ["openAPIV3Schema": objectSchema.openAPI],
                ]],
            ],
        ]
    }
}

private let ready = PrinterColumn(name: "Ready", type: "string", jsonPath: #".status.conditions[?(@.type=="Ready")].status"#,
                                  description: "Ready condition status.")
/// The Ready condition's reason: why a resource is not ready, next to READY, in `kubectl get` itself.
private let reason = PrinterColumn(name: "Reason", type: "string", jsonPath: #".status.conditions[?(@.type=="Ready")].reason"#,
                                   description: "Ready condition reason: why it is (not) ready.")
private let age = PrinterColumn(name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Age.")

extension Backstop {
    /// The five kinds, in the order CRDs and reference pages are written.
    public static let kinds: [KindDescription] = [
        KindDescription(
            kind: "BackupPolicy", plural: "backuppolicies", shortName: "bp",
            description: "Scheduled backups of one source (PostgreSQL, Redis, ClickHouse, S3 or a volume) to one destination, with verification, retention and optional scheduled drills. Run one now with `kubectl annotate bp NAME backstop.dev/run-now=<new value>`.",
            spec: S.backupPolicySpec, status: S.backupPolicyStatus,
            columns: [
                PrinterColumn(name: "Source", type: "string", jsonPath: ".status.source", description: "What is backed up."),
                PrinterColumn(name: "Schedule", type: "string", jsonPath: ".spec.schedule", description: "Cron schedule."),
                PrinterColumn(name: "Last Success", type: "date", jsonPath: ".status.lastSuccessfulTime", description: "Last successful backup."),
                PrinterColumn(name: "Last Verified", type: "date", jsonPath: ".status.lastVerifiedTime", description: "Last verified artifact."),
                PrinterColumn(name: "Last Backup", type: "string", jsonPath: #".status.conditions[?(@.type=="LastBackupSucceeded")].reason"#,
                              description: "Outcome of the newest backup: BackupSucceeded, or why it failed (e.g. AuthenticationFailed)."),
                PrinterColumn(name: "Next", type: "string", jsonPath: ".status.nextScheduleTime", description: "Next slot (UTC)."),
                PrinterColumn(name: "Artifacts", type: "integer", jsonPath: ".status.artifacts.count", description: "Artifacts in the store."),
                PrinterColumn(name: "Last Drill", type: "string", jsonPath: ".status.lastDrill.result", description: "Result of the newest finished drill."),
                PrinterColumn(name: "Drilled", type: "date", jsonPath: ".status.lastDrill.time", description: "When the newest drill finished.", priority: 1),
                PrinterColumn(name: "Next Prune", type: "string", jsonPath: ".status.retentionPlan.nextPruneTime",
                              description: "When retention next deletes (status.retentionPlan.wouldDelete lists what).", priority: 1),
                ready, reason, age,
            ]),
        KindDescription(
            kind: "RestoreRequest", plural: "restorerequests", shortName: "rr",
            description: "A one-shot, fenced restore of one backup of a BackupPolicy: optional quiesce of workloads, restore, verification, resume. The spec is immutable.",
            spec: S.restoreRequestSpec, status: S.restoreRequestStatus,
            columns: [
                PrinterColumn(name: "Policy", type: "string", jsonPath: ".spec.policyRef.name", description: "BackupPolicy."),
                PrinterColumn(name: "Backup", type: "string", jsonPath: ".status.backup.id", description: "Artifact restored."),
                PrinterColumn(name: "Phase", type: "string", jsonPath: ".status.phase", description: "Phase."),
                PrinterColumn(name: "Step", type: "string", jsonPath: ".status.currentStep", description: "Current step."),
                PrinterColumn(name: "Duration", type: "integer", jsonPath: ".status.durationSeconds", description: "Seconds."),
                reason,
                PrinterColumn(name: "Waiting For", type: "string", jsonPath: #".status.steps[?(@.phase=="Running")].message"#,
                              description: "What the running step waits for.", priority: 1),
                age,
            ]),
        KindDescription(
            kind: "DrillRun", plural: "drillruns", shortName: "drill",
            description: "A disaster-recovery drill: marker, backup, list, restore into a scratch target, verify, clean up; measures RTO and RPO against objectives. The spec is immutable.",
            spec: S.drillRunSpec, status: S.drillRunStatus,
            columns: [
                PrinterColumn(name: "Policy", type: "string", jsonPath: ".spec.policyRef.name", description: "BackupPolicy."),
                PrinterColumn(name: "Phase", type: "string", jsonPath: ".status.phase", description: "Phase."),
                PrinterColumn(name: "Step", type: "string", jsonPath: ".status.currentStep", description: "Current step (the failed one after a failure)."),
                PrinterColumn(name: "Result", type: "string", jsonPath: ".status.result", description: "Passed or Failed."),
                PrinterColumn(name: "RTO", type: "integer", jsonPath: ".status.measured.rtoSeconds", description: "Measured RTO, seconds."),
                PrinterColumn(name: "RPO", type: "integer", jsonPath: ".status.measured.rpoSeconds", description: "Measured RPO, seconds."),
                PrinterColumn(name: "Finished", type: "date", jsonPath: ".status.finishedAt", description: "When the drill finished."),
                PrinterColumn(name: "Why", type: "string", jsonPath: ".status.reasons[0]", description: "First reason a drill failed.", priority: 1),
                age,
            ]),
        KindDescription(
            kind: "SecretRotation", plural: "secretrotations", shortName: "srot",
            description: "Closed-loop rotation of keys of one Secret: new value, applied at the source, consumers restarted, previous value kept until they are healthy. Run one now with the `backstop.dev/run-now` annotation.",
            spec: S.secretRotationSpec, status: S.secretRotationStatus,
            columns: [
                PrinterColumn(name: "Secret", type: "string", jsonPath: ".spec.secretRef.name", description: "Secret rotated."),
                PrinterColumn(name: "Last Rotation", type: "date", jsonPath: ".status.lastRotationTime", description: "Last success."),
                PrinterColumn(name: "Next", type: "string", jsonPath: ".status.nextRotationTime", description: "Next rotation (UTC)."),
                PrinterColumn(name: "Phase", type: "string", jsonPath: ".status.phase", description: "Phase."),
                PrinterColumn(name: "Consumers Ready", type: "string", jsonPath: ".status.consumersReady", description: "ready/total."),
                reason, age,
            ]),
        KindDescription(
            kind: "CleanupPolicy", plural: "cleanuppolicies", shortName: "cleanup",
            description: "Age-based deletion of live data (SQL rows, S3 objects, files, ClickHouse partitions) on a schedule, with a dry-run view. Not for backups: BackupPolicy.retention prunes those.",
            spec: S.cleanupPolicySpec, status: S.cleanupPolicyStatus,
            columns: [
                PrinterColumn(name: "Schedule", type: "string", jsonPath: ".spec.schedule", description: "Cron schedule."),
                PrinterColumn(name: "Last Run", type: "date", jsonPath: ".status.lastRunTime", description: "Last run."),
                PrinterColumn(name: "Deleted", type: "integer", jsonPath: ".status.lastRunDeleted", description: "Deleted by the last run."),
                PrinterColumn(name: "Dry Run", type: "boolean", jsonPath: ".status.lastRunDryRun",
                              description: "The last run only counted (status.results[].wouldDelete)."),
                PrinterColumn(name: "Next", type: "string", jsonPath: ".status.nextRunTime", description: "Next slot (UTC)."),
                ready, reason, age,
            ]),
    ]

    public static func kind(named name: String) -> KindDescription? { kinds.first { $0.kind == name } }
}
