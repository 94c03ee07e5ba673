import DynamicJSON

/// The schema of each Backstop kind's `spec` and `status`.
extension S {
    static let retention: Schema = .object(
        "Which artifacts to keep. An artifact survives if ANY keep rule keeps it; `maxAge` then removes anything older (unless pinned); `keepForever` disables pruning.", [
            "keepLast": .integer("Keep the newest N artifacts.", min: 0, max: 1000, example: 3),
            "keepDaily": .integer("Keep the newest artifact of each of the last N days.", min: 0, max: 1000, example: 7),
            "keepWeekly": .integer("Keep the newest artifact of each of the last N ISO weeks.", min: 0, max: 520, example: 4),
            "keepMonthly": .integer("Keep the newest artifact of each of the last N months.", min: 0, max: 240, example: 0),
            "maxAge": duration("Delete artifacts older than this, whatever the keep rules say."),
            "keepForever": .boolean("Never delete artifacts (evidence).", default: false),
        ], rules: [
            Rule("!(has(self.keepForever) && self.keepForever && has(self.maxAge))",
                 message: "keepForever keeps every artifact, so maxAge would never apply: remove maxAge or set keepForever to false",
                 fieldPath: ".maxAge", check: { !($0["keepForever"]?.boolValue == true && $0["maxAge"] != nil) }),
        ])

    static let backupVerification: Schema = .object("How each new artifact is checked.", [
        "checksum": .boolean("Record the SHA-256 and re-check it before every restore.", default: true),
        "listContents": .boolean("Read the artifact back (`pg_restore -l`, `gzip -t`, RDB header).", default: true),
        "minSizeBytes": .integer("Fail artifacts smaller than this (an empty dump is a failed backup).", min: 0,
                                 default: 1, format: "int64"),
        "staleAfter": duration("Ready=False with reason BackupStale when the newest good backup is older than this.",
                               example: "26h"),
    ])

    static let drillFields: KeyValuePairs<String, Schema> = [
        "scratch": target("Where the drill restores: never the live source (exactly one member; omitted fields come from the policy's source).").required,
        "marker": .boolean("Write a marker (row, object or file) into the live source before the fresh backup and expect it after the restore. Default: on with `freshBackup`, off without (a marker is only in backups taken after it)."),
        "freshBackup": .boolean("Take a new backup for the drill; otherwise use the one `backup` selects.", default: true),
        "backup": backupSelector,
        "verify": restoreVerification,
        "objectives": .object("Recovery objectives; the drill fails when a measurement exceeds them.", [
            "rto": duration("Longest acceptable time from restore start to verified.", example: "30m"),
            "rpo": duration("Largest acceptable age of the restored backup.", example: "26h"),
        ]),
        "cleanup": .boolean("Drop the scratch database / delete the scratch data afterwards.", default: true),
    ]

    static let drillTemplate: Schema = .object("The DrillRun spec without `policyRef`.", drillFields)

    static let backupPolicySpec: Schema = .object("Desired backups.", [
        "schedule": schedule("When to back up.").required,
        "timeZone": timeZone,
        "suspend": suspend,
        "concurrencyPolicy": .enumeration("What to do when a slot comes while an operation on the same target runs: Forbid skips the slot, Replace cancels the running one.", ConcurrencyPolicy.self, default: .forbid),
        "startingDeadlineSeconds": .integer("A slot missed by more than this (operator down) is skipped, not run late.", min: 1, default: 3600, format: "int64"),
        "source": backupSource.required,
        "destination": destination.required,
        "retention": retention,
        "verify": backupVerification,
        "drill": .object("Create DrillRuns on a schedule (like a CronJob creates Jobs).", [
            "schedule": schedule("When to drill.").example("0 4 1 */3 *").required,
            "timeZone": timeZone,
            "suspend": suspend,
            "historyLimit": .integer("Finished DrillRuns kept of each result: the default of passedHistoryLimit and failedHistoryLimit.", min: 0, max: 100, default: 3),
            "passedHistoryLimit": .integer("Passed DrillRuns kept (like a CronJob's successfulJobsHistoryLimit). Default: historyLimit.", min: 0, max: 100),
            "failedHistoryLimit": .integer("Failed DrillRuns kept (like a CronJob's failedJobsHistoryLimit). Default: historyLimit.", min: 0, max: 100),
            "template": drillTemplate.required,
        ]),
        "jobTemplate": jobTemplate,
        "notify": notify(NotificationEvent.backupPolicy, "Webhooks to call on this policy's events, and on its drills' and restores' results unless those name their own."),
    ])

    static let backupRecord: Schema = .object("One backup.", [
        "id": .string("Artifact id.", maxLength: 64).required,
        "time": .time("When it was taken."),
        "sizeBytes": .integer("Size in bytes.", min: 0, format: "int64"),
        "sha256": .string("SHA-256 of the artifact.", maxLength: 64),
        "verified": .boolean("Verification passed."),
        "durationSeconds": .number("How long the backup took.", min: 0),
        "job": .string("Job that made it.", maxLength: 63),
    ])

    static let backupPolicyStatus: Schema = .object("Observed state.", [
        "observedGeneration": observedGeneration,
        "conditions": conditions,
        "source": .string("`spec.source` in one line.", maxLength: 512),
        "lastScheduleTime": .time("Last slot a backup was started for."),
        "lastSuccessfulTime": .time("When the last successful backup finished."),
        "lastVerifiedTime": .time("When an artifact last passed verification."),
        "nextScheduleTime": .time("Next slot."),
        "activeJob": activeJob,
        "lastBackup": backupRecord,
        "recentBackups": .array("The newest backups (at most 10).", backupRecord, maxItems: 10, listType: .atomic),
        "artifacts": .object("What the store holds for this policy.", [
            "count": .integer("Number of artifacts.", min: 0),
            "totalBytes": .integer("Total size.", min: 0, format: "int64"),
            "oldest": .time("Oldest artifact."),
            "newest": .time("Newest artifact."),
        ]),
        "retentionPlan": .object("What the next prune would do (the dry-run view).", [
            "nextPruneTime": .time("When pruning runs next."),
            "wouldDelete": .array("Artifacts the next prune deletes.", .object("A planned deletion.", [
                "id": .string("Artifact id.", maxLength: 64).required,
                "reason": .string("Why.", maxLength: 1024).required,
            ]), maxItems: 100, listType: .atomic),
        ]),
        "lastPrune": .object("The last prune.", [
            "time": .time("When."),
            "deleted": .integer("Artifacts deleted.", min: 0),
            "kept": .integer("Artifacts kept.", min: 0),
            "job": .string("The prune Job.", maxLength: 63),
        ]),
        "lastManualRun": manualRun,
        "lastDrill": .object("The newest finished DrillRun of this policy.", [
            "name": name("DrillRun").required,
            "time": .time("When it finished."),
            "result": .enumeration("Passed or Failed.", DrillResult.self),
            "rtoSeconds": .integer("Measured RTO, seconds.", min: 0),
            "rpoSeconds": .integer("Measured RPO, seconds.", min: 0),
            "message": .string("Why it failed, or its summary.", maxLength: 4096),
        ]),
        "notifications": notificationStatus,
    ])

    static let restoreRequestSpec: Schema = .object("What to restore, where, and how. Immutable once created.", [
        "policyRef": .object("The BackupPolicy whose artifacts are restored.", ["name": name("BackupPolicy").required]).required,
        "backup": backupSelector,
        "target": target("Where to restore; the policy's live source when omitted (then allowOverwriteSource must be true)."),
        "mode": .enumeration("Clean replaces what exists (`pg_restore --clean --if-exists`, empty directory, flushed Redis); Create restores into a new database or empty location.", RestoreMode.self, default: .clean),
        "allowOverwriteSource": .boolean("Confirms a restore over the policy's live source.", default: false),
        "quiesce": .array("Workloads scaled to 0 before the restore and always scaled back after (even on failure).",
                          workloadRef, maxItems: 32, listType: .map(keys: ["kind", "name"])),
        "verify": restoreVerification,
        "ttlSecondsAfterFinished": .integer("Delete the finished request after this many seconds; kept when omitted.", min: 0, format: "int32", example: 86400),
        "stores": .array("More stores restored under the same fence, in order, after the one policyRef names: the writers in quiesce stop once, every store is selected, restored and verified, then the writers start again in quiesce order (a disaster-recovery restore). allowOverwriteSource covers them all.",
                         .object("One more store.", [
                            "policyRef": .object("The BackupPolicy whose artifacts are restored.", ["name": name("BackupPolicy").required]).required,
                            "backup": backupSelector,
                            "target": target("Where to restore; the policy's live source when omitted (then allowOverwriteSource must be true)."),
                            "mode": .enumeration("Clean or Create, as for the first store.", RestoreMode.self, default: .clean),
                            "verify": restoreVerification,
                         ]), maxItems: 16, listType: .atomic),
        "notify": notify(NotificationEvent.restoreRequest, "Webhooks for this restore's outcome; the policy's notify when omitted."),
    ], rules: [
        Rule("has(self.target) || self.allowOverwriteSource",
             message: "without target the restore overwrites the policy's live source: set allowOverwriteSource: true to confirm, or set target to restore elsewhere",
             fieldPath: ".allowOverwriteSource", check: { $0["target"] != nil || $0["allowOverwriteSource"]?.boolValue == true }),
        .immutable("spec is immutable: create a new RestoreRequest instead"),
    ])

    static let restoreRequestStatus: Schema = .object("Progress and outcome.", [
        "observedGeneration": observedGeneration,
        "conditions": conditions,
        "phase": .enumeration("Where the restore is.", RestorePhase.self),
        "currentStep": .string("Step in progress, or the last one.", maxLength: 63),
        "backup": backupReference,
        "savedReplicas": .map("Replica counts saved before scaling down, keyed `Kind/name`.", .integer("Replicas.", min: 0)),
        "steps": .array("Steps and outcomes.", step, maxItems: 32, listType: .atomic),
        "startedAt": .time("Start."),
        "finishedAt": .time("End."),
        "durationSeconds": .integer("Wall time in seconds.", min: 0),
        "message": .string("Summary for a person.", maxLength: 4096),
        "backups": .array("With stores: the artifact chosen for each store, in order.", backupReference, maxItems: 17, listType: .atomic),
        "notifications": notificationStatus,
    ])

    static let drillRunSpec: Schema = drillTemplate.describing("The drill. Immutable once created.")
        .prepending(["policyRef": .object("The BackupPolicy to drill.", ["name": name("BackupPolicy").required]).required])
        .adding(["notify": notify(NotificationEvent.drillRun, "Webhooks for this drill's result; the policy's notify when omitted (scheduled drills use it).")])
        .with(rules: [.immutable("spec is immutable: create a new DrillRun instead")])

    static let drillRunStatus: Schema = .object("Progress, measurements and verdict.", [
        "observedGeneration": observedGeneration,
        "conditions": conditions,
        "phase": .enumeration("Pending, Running or Completed.", DrillPhase.self),
        "currentStep": .string("Step in progress, or the last one.", maxLength: 63),
        "steps": .array("marker, backup, list, restore, verify, cleanup.", step, maxItems: 16, listType: .atomic),
        "backup": backupReference,
        "measured": .object("Measurements.", [
            "rtoSeconds": .integer("Restore start to verified, seconds.", min: 0),
            "rpoSeconds": .integer("Age of the restored backup at drill time, seconds.", min: 0),
            "backupBytes": .integer("Artifact size.", min: 0, format: "int64"),
            "restoreSeconds": .integer("Restore step alone, seconds.", min: 0),
        ]),
        "result": .enumeration("Verdict once Completed.", DrillResult.self),
        "reasons": .array("Why the drill failed.", .string("A reason.", maxLength: 1024), maxItems: 32, listType: .atomic),
        "startedAt": .time("Start."),
        "finishedAt": .time("End."),
        "marker": .object("The marker written into the live source.", [
            "id": .string("Marker id (a row id, key, object or file name).", maxLength: 63).required,
            "writtenAt": .time("When it was written."),
            "removed": .boolean("Removed from the source again."),
        ]),
        "freshBackup": manualRun,
        "message": .string("Outcome, or what the drill waits for.", maxLength: 4096),
        "notifications": notificationStatus,
    ])
}

