import DynamicJSON

/// Sources, destinations and restore targets.
extension S {
    static let postgresSource: Schema = .object("A PostgreSQL database, dumped with `pg_dump -Fc`.", [
        "host": host.required,
        "port": port(5432),
        "database": .string("Database name.", minLength: 1, maxLength: 63, example: "agentfs").required,
        "user": .string("Login role.", minLength: 1, maxLength: 63, example: "agentfs").required,
        "passwordSecretRef": secretKeyRef("the password"),
        "sslMode": sslMode,
        "tables": tables("Dump only these tables (`pg_dump -t`); every table when omitted."),
        "excludeTables": tables("Leave these tables out (`pg_dump -T`), e.g. large derived data such as embeddings."),
        "rowCounts": tables("Tables whose row counts are recorded in the manifest and compared after restores."),
        "guards": .array("Triggers that must exist at backup time and after a restore (e.g. audit immutability).",
                         .object("A trigger on a table.", [
                            "trigger": identifier("Trigger name.").example("prevent_audit_mutation").required,
                            "table": identifier("Table the trigger is on.").example("agent_audit_log").required,
                         ]), maxItems: 32, listType: .atomic),
    ])

    static let redisSource: Schema = .object("A Redis server, saved as an RDB snapshot.", [
        "host": host.required,
        "port": port(6379),
        "user": .string("ACL user; the default user when omitted.", minLength: 1, maxLength: 128),
        "passwordSecretRef": secretKeyRef("the password"),
    ])

    static let clickhouseSource: Schema = .object("A ClickHouse database over its HTTP interface.", [
        "url": url.example("http://clickhouse:8123").required,
        "database": .string("Database name.", minLength: 1, maxLength: 127, example: "agenttrace").required,
        "tables": tables("Only these tables; every table of the database when omitted."),
        "user": .string("User name.", minLength: 1, maxLength: 128, default: "default"),
        "passwordSecretRef": secretKeyRef("the password"),
        "partitionMaxAge": duration("Only partitions whose newest data is younger than this (date-partitioned tables); all partitions when omitted.", example: "7d"),
    ])

    static let s3Source: Schema = .object("An S3-compatible store (e.g. MinIO), mirrored into one artifact.", [
        "endpoint": url.required,
        "region": region,
        "pathStyle": pathStyle,
        "bucket": bucket.with(rules: []).describing("One bucket; every bucket the credentials can list when omitted (like `mc mirror alias/`)."),
        "prefix": prefix,
        "credentialsSecretRef": s3Credentials,
    ])

    static let volumeSource: Schema = .object("A directory of a PersistentVolumeClaim, archived as a gzip tarball.", [
        "claimName": name("PersistentVolumeClaim").required,
        "path": relativePath,
        "exclude": .array("Glob patterns left out of the archive.", .string("A glob.", minLength: 1, maxLength: 256),
                          maxItems: 64, listType: .atomic),
    ])

    static let backupSource: Schema = .object("What to back up: exactly one member.", [
        "postgres": postgresSource,
        "redis": redisSource,
        "clickhouse": clickhouseSource,
        "s3": s3Source,
        "volume": volumeSource,
    ], rules: [.exactlyOne(of: ["postgres", "redis", "clickhouse", "s3", "volume"], what: "source")])

    static let s3Destination: Schema = .object("An S3-compatible bucket.", [
        "endpoint": url.required,
        "bucket": bucket.required,
        "prefix": prefix,
        "region": region,
        "pathStyle": pathStyle,
        "credentialsSecretRef": s3Credentials,
    ])

    static let volumeDestination: Schema = .object("A directory of a PersistentVolumeClaim.", [
        "claimName": name("PersistentVolumeClaim").required,
        "path": relativePath,
    ])

    static let destination: Schema = .object("Where artifacts and their manifests go: exactly one member.", [
        "s3": s3Destination,
        "volume": volumeDestination,
    ], rules: [.exactlyOne(of: ["s3", "volume"], what: "destination")])

    static func target(_ description: String) -> Schema {
        .object(description, [
            "postgres": postgresSource.removing(["excludeTables", "rowCounts", "guards"])
                .overlay("Overrides of the PostgreSQL source (e.g. another `database`).")
                .replacing("tables", tables("Restore only these tables (`pg_restore -t`).")),
            "redis": redisSource.overlay("Overrides of the Redis source (e.g. another `host`); a restore also names the server's data claim and workload.")
                .adding(["claimName": name("PersistentVolumeClaim").describing("The Redis server's data claim: `dump.rdb` is replaced in it."),
                         "path": relativePath.describing("The directory in the claim that is Redis's `dir`; the claim's root when omitted."),
                         "workload": workloadRef.describing("The Redis server (Deployment or StatefulSet): stopped while `dump.rdb` is replaced, started again after.")]),
            "clickhouse": clickhouseSource.removing(["partitionMaxAge"])
                .overlay("Overrides of the ClickHouse source.")
                .replacing("tables", tables("Restore only these tables."))
                .adding(["renameTables": .map("Restore a table under another name, e.g. `traces: traces_restored`.",
                                              identifier("New table name.").example("traces_restored"))]),
            "s3": s3Source.removing(["bucket"]).overlay("Overrides of the S3 source.")
                .adding(["buckets": .array("Restore only these buckets of the artifact, each to its own name.",
                                           bucket, maxItems: 64, listType: .set),
                         "bucket": bucket.describing("Restore into this bucket instead (one source bucket only: a single-bucket mirror or one named in `buckets`).")]),
            "volume": volumeSource.removing(["exclude"]).overlay("Overrides of the volume source (e.g. another `claimName` or `path`)."),
        ], rules: [.exactlyOne(of: ["postgres", "redis", "clickhouse", "s3", "volume"], what: "target")])
    }
}

extension Schema {
    func describing(_ text: String) -> Schema {
        var s = self
        s.description = text
        return s
    }

    func prepending(_ extra: KeyValuePairs<String, Schema>) -> Schema {
        guard case .object(let props) = kind else { return self }
        var s = self
        s.kind = .object(extra.map { Property(name: $0.key, schema: $0.value) } + props)
        return s
    }

    func replacing(_ name: String, _ schema: Schema) -> Schema {
        guard case .object(let props) = kind else { return self }
        var s = self
        s.kind = .object(props.map { $0.name == name ? Property(name: name, schema: schema) : $0 })
        return s
    }
}
