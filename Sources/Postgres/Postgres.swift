/// Postgres: the only importer of libpq. Connections, parameterised queries, COPY streams and
/// SCRAM verifiers; errors carry SQLSTATE and never a password or connection string.
