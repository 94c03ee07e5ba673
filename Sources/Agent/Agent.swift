/// Agent: the data plane (`backstop agent <backup|verify|restore|prune|cleanup|catalog> --spec`).
///
/// - `Pipeline/`: the protocol layer every source and store plugs into (`BackupSource`,
///   `PreparedBackup`, `ArtifactSink`/`ArtifactStore`/`ArtifactUpload`, `ByteStream`,
///   `FormatVerifier`, `RestoreTarget`), `ArtifactOutput` (sha256 + size on the one path every
///   byte takes), `BackupPipeline` (manifest written last), `Catalog` and `StagedArtifact`
///   (sha256-checked local copy: restore never reads unverified bytes), `AgentError` + exit codes.
/// - `IO/`: `Subprocess` (posix_spawn, close-on-exec pipes, explicit environment, waitpid on its
///   own thread), `FileDescriptorStream`/`PipeWriter`/`IOThread` (blocking calls off the
///   cooperative pool), secrets read from files and the libpq password file.
/// - `Stores/`: `VolumeStore` (temp name, fsync, rename, fsync dir) and `S3Store`/`S3Upload`
///   (multipart, growing part size, abort on failure).
/// - `Postgres/`: `pg_dump -Fc` source (row counts in the dump's exported snapshot, guards,
///   client/server version check), `pg_restore` target (single transaction, clean or create),
///   `pg_restore -l` verifier, post-restore row-count and SQL checks.
/// - `ClickHouse/`: logical export over HTTP (`ClickHouseSource`: schema + `FORMAT Native` per
///   table in a framed `ClickHouseArchive`, rows counted by `NativeBlockCounter`), verifier and
///   restore target (create/clean, table subset, rename, streamed INSERT).
/// - `S3Mirror/`: incremental bucket snapshots (`S3MirrorSource`: a JSON-lines listing as the
///   artifact, object copies beside it), blob checks, restore into a bucket, prune's blob GC.
/// - `Commands/`: the spec (`AgentSpec`), `AgentRunner` (one function per command, result JSON),
///   prune (with stale-partial and unreferenced-object cleanup) and cleanup, `AgentMain`
///   (stdout + ≤ 4 KiB termination message), `TerminationSignals` (SIGTERM → abort cleanly).

// Clients of the agent (the CLI, benchmarks, tests) use the spec types with it.
@_exported import AgentContract
