import Agent
import ArgumentParser
import BackstopCore
import Foundation
import HTTP
import Postgres
import TestSupport

/// `backstop-bench agent`: pg_dump → S3 through the agent against `pg_dump -Fc > /dev/null`,
/// then the restore of that artifact through the agent against `pg_restore` of a local dump,
/// on a pgbench database (≥ 1 GiB at scale 70) in one run, the agent's peak RSS, and the
/// retention planner over 100k artifacts. Run under `hack/test-services.sh run --`.
struct AgentBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "pg_dump→S3 wall time vs pg_dump -Fc >/dev/null, agent peak RSS, retention plan over 100k artifacts.")

    @Option(help: "pgbench scale factor (70 ≈ 1.05 GiB).")
    var scale = 70

    @Option(help: "Retention items to plan.")
    var artifacts = 100_000

    @Flag(help: "Use an existing bench_agent database (and keep it) instead of generating one.")
    var reuse = false

    func run() async throws {
        try await runAgentBenchmark(scale: scale, artifacts: artifacts, reuse: reuse)
    }
}

func runAgentBenchmark(scale: Int, artifacts: Int, reuse: Bool = false) async throws {
    print(retentionFigure(count: artifacts))
    let pg = try TestServices.postgres()
    let s3 = try TestServices.s3()
    let work = try TestServices.temporaryDirectory("agent-bench")
    defer { try? FileManager.default.removeItem(at: work) }
    let passwordFile = work.appendingPathComponent("pg-password").path
    let accessFile = work.appendingPathComponent("access").path
    let secretFile = work.appendingPathComponent("secret").path
    for (path, text) in [(passwordFile, pg.password), (accessFile, s3.accessKey), (secretFile, s3.secretKey)] {
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
    }
    let database = "bench_agent"
    let admin = try await PostgresConnection.connect(PostgresConfig(host: pg.host, port: pg.port, user: pg.user, password: pg.password, sslMode: .disable))
    let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).count == 1
    let generate = !(reuse && exists)
    if generate {
        try await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try await admin.execute("CREATE DATABASE \(database)")
    }
    let endpoint = PostgresEndpoint(host: pg.host, port: pg.port, database: database, user: pg.user, passwordFile: passwordFile,
                                    sslMode: "disable", bindir: pg.bindir)
    let passfile = try PostgresPasswordFile(password: SecretValue(pg.password), directory: work.path)
    let env = ["PGHOST": pg.host, "PGPORT": String(pg.port), "PGUSER": pg.user, "PGDATABASE": database, "PGPASSFILE": passfile.path]
    let clock = ContinuousClock()
    var initTime = Duration.zero
    if generate {
        print("agent bench: pgbench -i -s \(scale) …")
        initTime = try await clock.measure {
            let out = try await Subprocess.run("\(pg.bindir)/pgbench", ["-i", "-q", "-s", String(scale)], environment: env)
            guard out.termination.succeeded else { throw AgentError(.toolFailed, "pgbench: \(out.stderr.suffix(400))") }
        }
    }
    let size = try await admin.query("SELECT pg_database_size($1)", [database]).first?[0, as: Int64.self] ?? 0
    print("agent bench: database \(String(format: "%.2f", Double(size) / Double(1 << 30))) GiB, generated in \(initTime)")

    let baseline = try await clock.measure {
        let process = try Subprocess(executable: "\(pg.bindir)/pg_dump", arguments: ["-Fc", "--no-password"], environment: env, stdout: .null)
        let termination = await process.wait()
        guard termination.succeeded else { throw AgentError(.toolFailed, "pg_dump: \(await process.stderrText())") }
    }
    let client = S3Client(endpoint: s3.endpoint, region: s3.region, credentials: AWSCredentials(accessKeyID: s3.accessKey, secretAccessKey: s3.secretKey))
    let bucket = "bench-\(UInt32.random(in: 0 ... .max))"
    try await client.createBucket(bucket)
    let rssBefore = peakRSSBytes()
    var spec = AgentSpec()
    spec.policy = "bench"
    spec.destination = StoreSpec(s3: S3StoreSpec(connection: S3Connection(endpoint: s3.endpoint, region: s3.region,
                                                                          accessKeyIdFile: accessFile, secretAccessKeyFile: secretFile),
                                                 bucket: bucket))
    spec.source = SourceSpec(postgres: PostgresSourceSpec(connection: endpoint))
    var outcome: AgentOutcome?
    let agentTime = await clock.measure {
        outcome = await AgentRunner.run(.backup, spec: spec, context: AgentContext(progress: .silent, workDirectory: work.path))
    }
    guard let outcome, outcome.exitCode == 0 else { throw AgentError(.toolFailed, "agent backup failed: \(outcome?.result.jsonString ?? "")") }
    let artifactBytes = outcome.result["artifact"]?["sizeBytes"]?.intValue ?? 0
    let ratio = agentTime / baseline
    print("agent bench: pg_dump -Fc > /dev/null \(baseline); pg_dump → S3 via agent \(agentTime); ratio \(String(format: "%.3f", ratio))×"
          + " (artifact \(artifactBytes >> 20) MiB)")
    print("agent bench: peak RSS \(peakRSSBytes() >> 20) MiB (before the backup \(rssBefore >> 20) MiB)")
    try await restoreFigures(admin: admin, pg: pg, env: env, endpoint: endpoint, spec: spec, work: work)
    if !reuse { try await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
    // moto keeps objects in memory: give the GiB back.
    for object in (try? await client.listAllObjects(bucket: bucket)) ?? [] { _ = try? await client.deleteObject(bucket: bucket, key: object.key) }
    _ = try? await client.deleteBucket(bucket)
    await admin.close()
}

/// Restore of the artifact just written: `pg_restore` of the same dump from a local file into a
/// new database vs the agent's restore from S3 into another (sha256 checked before writing), and
/// the process's peak RSS around it.
private func restoreFigures(admin: PostgresConnection, pg: TestServices.Postgres, env: [String: String], endpoint: PostgresEndpoint,
                            spec backup: AgentSpec, work: URL) async throws {
    let clock = ContinuousClock()
    let dump = work.appendingPathComponent("bench.dump").path
    let file = try await Subprocess.run("/bin/sh", ["-c", "\"$0\" -Fc --no-password -f \"$1\"", "\(pg.bindir)/pg_dump", dump], environment: env)
    guard file.termination.succeeded else { throw AgentError(.toolFailed, "pg_dump: \(file.stderr.suffix(400))") }
    for db in ["bench_restore_base", "bench_restore_agent"] { try await admin.execute("DROP DATABASE IF EXISTS \(db) WITH (FORCE)") }
    try await admin.execute("CREATE DATABASE bench_restore_base")
    var restoreEnv = env
    restoreEnv["PGDATABASE"] = "bench_restore_base"
    let baseline = try await clock.measure {
        let out = try await Subprocess.run("\(pg.bindir)/pg_restore", ["--no-owner", "--no-password", "-d", "bench_restore_base", dump], environment: restoreEnv)
        guard out.termination.succeeded else { throw AgentError(.toolFailed, "pg_restore: \(out.stderr.suffix(400))") }
    }
    var spec = backup
    spec.source = nil
    var target = endpoint
    target.database = "bench_restore_agent"
    spec.target = TargetSpec(postgres: PostgresTargetSpec(connection: target, create: true, noOwner: true))
    let rssBefore = peakRSSBytes()
    var outcome: AgentOutcome?
    let agentTime = await clock.measure {
        outcome = await AgentRunner.run(.restore, spec: spec, context: AgentContext(progress: .silent, workDirectory: work.path))
    }
    guard let outcome, outcome.exitCode == 0 else { throw AgentError(.toolFailed, "agent restore failed: \(outcome?.result.jsonString ?? "")") }
    print("agent bench: pg_restore of a local dump \(baseline); restore from S3 via agent \(agentTime); ratio "
          + String(format: "%.3f", agentTime / baseline) + "× (peak RSS \(peakRSSBytes() >> 20) MiB, \(rssBefore >> 20) MiB before)")
    for db in ["bench_restore_base", "bench_restore_agent"] { try await admin.execute("DROP DATABASE IF EXISTS \(db) WITH (FORCE)") }
    try? FileManager.default.removeItem(atPath: dump)
}

/// Median of five plans of `count` hourly artifacts with GFS rules in a DST zone.
private func retentionFigure(count: Int) -> String {
    let start = Date(timeIntervalSince1970: 1_400_000_000)
    let items = (0..<count).map { RetentionItem(id: "a\($0)", createdAt: start.addingTimeInterval(Double($0) * 3600)) }
    let rules = RetentionRules(keepLast: 5, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, maxAge: RetentionAge(seconds: 400 * 86400))
    let zone = TimeZone(identifier: "Europe/Berlin")!
    let clock = ContinuousClock()
    var times: [Duration] = []
    for _ in 0..<5 {
        times.append(clock.measure {
            _ = RetentionPlanner.plan(items, rules: rules, now: start.addingTimeInterval(Double(count + 1) * 3600), timeZone: zone)
        })
    }
    return "agent bench: retention plan over \(count) artifacts: median \(times.sorted()[2]) (min \(times.min()!))"
}

private func peakRSSBytes() -> Int {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return usage.ru_maxrss * 1024
}
