import DynamicJSON

/// SecretRotation and CleanupPolicy schemas.
extension S {
    static let secretRotationSpec: Schema = .object("Which keys rotate, how, and who must restart.", [
        "secretRef": .object("The Secret whose keys rotate.", ["name": name("Secret").required]).required,
        "schedule": schedule("When to rotate; only on demand (the `backstop.dev/run-now` annotation) when omitted.").example("@every 720h"),
        "timeZone": timeZone,
        "suspend": suspend,
        "keys": .array("Keys that get a new value.", .object("One key and where its new value comes from: exactly one of generate and from.", [
            "key": .string("Key inside the Secret.", pattern: secretKeyPattern, minLength: 1, example: "password",
                           semantic: .secretKey).required,
            "generate": .object("Generate a random value.", [
                "length": .integer("Characters.", min: 16, max: 256, default: 32),
                "charset": .enumeration("Alphabet.", Charset.self, default: .alphanumeric),
            ]),
            "from": secretKeyRef("a value issued elsewhere (e.g. a vendor token), copied when the rotation runs"),
        ], rules: [.exactlyOne(of: ["generate", "from"], what: "key")]),
            minItems: 1, maxItems: 16, listType: .map(keys: ["key"])).required,
        "apply": .object("Make the new value real at the source before consumers see it (exactly one member).", [
            "postgres": .object("`ALTER ROLE … PASSWORD` on a PostgreSQL server.", [
                "host": host.required,
                "port": port(5432),
                "database": .string("Database to connect to.", minLength: 1, maxLength: 63, default: "postgres"),
                "sslMode": sslMode,
                "role": .string("Role whose password changes.", minLength: 1, maxLength: 63, example: "openclaw").required,
                "passwordKey": .string("Which rotated key holds the role's password.", pattern: secretKeyPattern,
                                       minLength: 1, example: "password", semantic: .secretKey).required,
                "adminSecretRef": adminCredentials.required,
                "strategy": .enumeration("`Password`: the role's password changes. `DatedRole`: a new login role `<role>_<yyyymmddhhmmss>`, member of the role, per rotation; name and password switch together in the Secret and the previous one is dropped after the next successful rotation (zero downtime).",
                                         PostgresRotationStrategy.self, default: "Password"),
                "usernameKey": .string("DatedRole: the Secret key holding the login role's name.", pattern: secretKeyPattern,
                                       minLength: 1, example: "username", semantic: .secretKey),
            ], rules: [Rule("!has(self.strategy) || self.strategy != 'DatedRole' || has(self.usernameKey)",
                            message: "strategy DatedRole needs usernameKey (the Secret key for the login role's name)", fieldPath: ".usernameKey",
                            check: { $0["strategy"] != "DatedRole" || $0["usernameKey"] != nil })]),
            "redis": .object("`ACL SETUSER` on a Redis server; old and new passwords both work during the rollout.", [
                "host": host.required,
                "port": port(6379),
                "user": .string("ACL user whose password changes.", minLength: 1, maxLength: 128, example: "app").required,
                "passwordKey": .string("Which rotated key holds the user's password.", pattern: secretKeyPattern,
                                       minLength: 1, example: "password", semantic: .secretKey).required,
                "adminSecretRef": adminCredentials.required,
            ]),
        ], rules: [.exactlyOne(of: ["postgres", "redis"], what: "apply")]),
        "consumers": .object("Workloads restarted after the Secret changes.", [
            "discover": .boolean("Restart every Deployment, StatefulSet and DaemonSet whose pod template references the Secret (env, envFrom, volumes, projected volumes, imagePullSecrets).", default: true),
            "workloads": .array("Always restarted, in this order.", workloadRef, maxItems: 64,
                                listType: .map(keys: ["kind", "name"])),
        ]),
        "rollout": .object("How restarts proceed.", [
            "maxConcurrent": .integer("Workloads restarted at the same time.", min: 1, max: 64, default: 1),
            "timeout": duration("Roll back when consumers are not ready within this.", default: "10m", example: "10m"),
        ]),
        "keepPrevious": .boolean("Keep the previous value as `<key>.previous` until consumers are healthy.", default: true),
        "notify": notify(NotificationEvent.secretRotation, "Webhooks to call when a rotation succeeds, fails or is rolled back."),
    ], rules: [
        Rule("!has(self.apply) || !has(self.apply.postgres) || self.keys.exists(k, k.key == self.apply.postgres.passwordKey)",
             message: "apply.postgres.passwordKey must name one of the keys in spec.keys", fieldPath: ".apply.postgres.passwordKey",
             check: { keyNamed($0, $0[path: ["apply", "postgres", "passwordKey"]]) }),
        Rule("!has(self.apply) || !has(self.apply.redis) || self.keys.exists(k, k.key == self.apply.redis.passwordKey)",
             message: "apply.redis.passwordKey must name one of the keys in spec.keys", fieldPath: ".apply.redis.passwordKey",
             check: { keyNamed($0, $0[path: ["apply", "redis", "passwordKey"]]) }),
    ])

    private static func keyNamed(_ spec: JSONValue, _ key: JSONValue?) -> Bool {
        guard let key else { return true }
        return spec["keys"]?.arrayValue?.contains { $0["key"] == key } ?? false
    }

    static let secretRotationStatus: Schema = .object("Progress of the current or last rotation.", [
        "observedGeneration": observedGeneration,
        "conditions": conditions,
        "phase": .enumeration("Where the rotation is.", RotationPhase.self),
        "lastRotationTime": .time("When the last rotation succeeded."),
        "nextRotationTime": .time("Next scheduled rotation."),
        "consumers": .array("Restarted workloads.", .object("A workload.", [
            "kind": .string("Kind.", maxLength: 63).required,
            "name": .string("Name.", maxLength: 253).required,
            "restartedAt": .time("When it was restarted."),
            "ready": .boolean("Rolled out and ready."),
        ]), maxItems: 128, listType: .atomic),
        "consumersReady": .string("`ready/total`.", maxLength: 16),
        "lastManualRun": manualRun,
        "message": .string("Summary for a person.", maxLength: 4096),
        "lastScheduleTime": .time("Last scheduled slot answered."),
        "run": .object("The current or last run.", [
            "id": .string("Names the run's Jobs and pending Secret.", maxLength: 63).required,
            "trigger": .string("`schedule` or `manual`.", maxLength: 16).required,
            "startedAt": .time("When it started.").required,
            "finishedAt": .time("When it finished."),
            "rollbackRestartedAt": .time("When the roll-back restarted the consumers."),
        ]),
        "currentStep": .string("Step in progress, or the last one.", maxLength: 63),
        "steps": .array("Generate, Apply, Update, Restart, Verify, Finalize, RollBack.", step, maxItems: 16, listType: .atomic),
        "notifications": notificationStatus,
    ])

    static let cleanupTarget: Schema = .object("One store to prune: a name plus exactly one of sql, s3, volume, clickhouse.", [
        "name": .string("Name of the target, used in status.", pattern: dnsLabelPattern, minLength: 1, maxLength: 63,
                        example: "agent-runs").required,
        "sql": .object("Delete old rows from a PostgreSQL table, in batches.", [
            "connection": .object("PostgreSQL connection.", [
                "host": host.required,
                "port": port(5432),
                "database": .string("Database name.", minLength: 1, maxLength: 63, example: "openclaw_agent").required,
                "user": .string("Login role.", minLength: 1, maxLength: 63, example: "openclaw").required,
                "passwordSecretRef": secretKeyRef("the password"),
                "sslMode": sslMode,
            ]).required,
            "table": identifier("Table, optionally schema-qualified.").example("agent_runs").required,
            "timestampColumn": identifier("Column compared with now() - maxAge.").example("created_at").required,
            "maxAge": duration("Rows older than this are deleted.", example: "365d").required,
            "batchSize": .integer("Rows per DELETE statement.", min: 1, max: 1_000_000, default: 10000),
            "vacuum": .boolean("Run `VACUUM (ANALYZE)` on the table afterwards.", default: false),
        ]),
        "s3": .object("Delete old objects from a bucket (`mc rm --older-than`).", [
            "endpoint": url.required,
            "region": region,
            "pathStyle": pathStyle,
            "bucket": bucket.required,
            "prefix": prefix,
            "credentialsSecretRef": s3Credentials,
            "maxAge": duration("Objects older than this are deleted.").required,
        ]),
        "volume": .object("Delete old files from a PersistentVolumeClaim directory (`find -mtime +N -delete`).", [
            "claimName": name("PersistentVolumeClaim").required,
            "path": relativePath,
            "include": .array("Only files matching one of these globs; every file when omitted.",
                              .string("A glob.", minLength: 1, maxLength: 256), maxItems: 32, listType: .atomic),
            "maxAge": duration("Files modified longer ago than this are deleted.").required,
        ]),
        "clickhouse": .object("Drop partitions whose newest data is older than maxAge (date-partitioned tables).", [
            "url": url.example("http://clickhouse:8123").required,
            "database": .string("Database name.", minLength: 1, maxLength: 127, example: "agenttrace").required,
            "table": identifier("Table.").example("traces").required,
            "user": .string("User name.", minLength: 1, maxLength: 128, default: "default"),
            "passwordSecretRef": secretKeyRef("the password"),
            "maxAge": duration("Partitions older than this are dropped.").required,
        ]),
        "maxDeletePercent": .integer("The guard: a run that would delete more than this percentage of the target's rows, objects, files or partitions deletes nothing and fails with the numbers (DeleteLimitExceeded). Acknowledge a larger deletion with the `backstop.dev/allow-delete` annotation (`<target>=<count>`) or by raising this.",
                                     min: 0, max: 100, default: 50),
        "maxDeleteCount": .integer("The guard's absolute limit: a run that would delete more items than this deletes nothing and fails (default: no count limit).",
                                   min: 0, format: "int64"),
    ], rules: [.exactlyOne(of: ["sql", "s3", "volume", "clickhouse"], what: "cleanup target")])

    static let cleanupPolicySpec: Schema = .object("What to prune and when.", [
        "schedule": schedule("When to run.").example("30 3 * * *").required,
        "timeZone": timeZone,
        "suspend": suspend,
        "dryRun": .boolean("Only report what would be deleted (status.results[].wouldDelete).", default: false),
        "startingDeadlineSeconds": .integer("A slot missed by more than this is skipped.", min: 1, default: 3600, format: "int64"),
        "targets": .array("Stores to prune.", cleanupTarget, minItems: 1, maxItems: 32, listType: .map(keys: ["name"])).required,
        "jobTemplate": jobTemplate,
        "notify": notify(NotificationEvent.cleanupPolicy, "Webhooks to call when a run fails (a guard refusal counts) or succeeds."),
    ])

    static let cleanupPolicyStatus: Schema = .object("Outcome of the last run.", [
        "observedGeneration": observedGeneration,
        "conditions": conditions,
        "lastRunTime": .time("When the last run started."),
        "lastSuccessfulTime": .time("When a run last succeeded."),
        "nextRunTime": .time("Next slot."),
        "lastRunDeleted": .integer("Items deleted by the last run, all targets.", min: 0, format: "int64"),
        "lastScheduleTime": .time("The newest schedule slot answered (run or skipped)."),
        "lastRunJob": .string("The Job whose outcome `results` shows.", maxLength: 63),
        "lastRunDryRun": .boolean("The last run was a dry run (results show wouldDelete)."),
        "results": .array("Per target.", .object("One target's outcome.", [
            "target": .string("Target name.", maxLength: 63).required,
            "deleted": .integer("Rows, objects, files or partitions deleted.", min: 0, format: "int64"),
            "bytesFreed": .integer("Bytes freed: objects' and files' sizes, partitions' bytes on disk. Not set for SQL rows (a DELETE leaves the space in the table for reuse; PostgreSQL reports no per-row size).", min: 0, format: "int64"),
            "wouldDelete": .integer("What a dry run would delete.", min: 0, format: "int64"),
            "wouldFreeBytes": .integer("Bytes a dry run would free, where known (not for SQL rows, as bytesFreed).", min: 0, format: "int64"),
            "total": .integer("Items the target held when counted (the guard's denominator).", min: 0, format: "int64"),
            "oldest": .time("Oldest timestamp among the items deleted (or that would be)."),
            "newest": .time("Newest timestamp among the items deleted (or that would be)."),
            "durationSeconds": .number("Time taken.", min: 0),
            "reason": .string("The agent's reason when the target failed, e.g. DeleteLimitExceeded, TableMissing.", maxLength: 63),
            "error": .string("Why the target failed.", maxLength: 4096),
        ]), maxItems: 32, listType: .atomic),
        "activeJob": activeJob,
        "lastManualRun": manualRun,
        "allowDeleteUsed": .array("Entries of the `backstop.dev/allow-delete` annotation (`<target>=<count>`) a run has already deleted under. An acknowledgment authorises one run: listed entries authorise nothing more. Remove the annotation (the entry then leaves this list) to acknowledge the same count again.",
                                  .string("`<target>=<count>`.", maxLength: 128), maxItems: 32, listType: .atomic),
        "notifications": notificationStatus,
    ])
}
