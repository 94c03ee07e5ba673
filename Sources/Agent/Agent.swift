/// Agent: the data plane (`backstop agent …`). Sources (PostgreSQL, Redis, ClickHouse, S3, volume),
/// sinks (S3, volume), the streaming pipeline with sha256, verifiers, retention pruning and cleanup.
