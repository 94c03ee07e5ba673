import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

/// `backstop agent <command>`: runs one command from a spec and always produces a result
/// JSON (also on failure) plus an exit code.
public enum AgentCommandKind: String, Sendable, CaseIterable {
    case backup, verify, restore, prune, cleanup, catalog, drill, rotate
}

public struct AgentOutcome: Sendable {
    /// The report as JSON: what is printed and (cut to 4 KiB) written as the termination message.
    public var result: JSONValue
    public var exitCode: Int32
}

public enum AgentRunner {
    public static func run(_ command: AgentCommandKind, spec: AgentSpec, context: AgentContext) async -> AgentOutcome {
        let started = Date()
        var report: AgentReport
        var exitCode: Int32 = AgentExitCode.success
        do {
            switch command {
            case .backup: report = try await backup(spec, context)
            case .verify: (report, exitCode) = try await verify(spec, context)
            case .restore: (report, exitCode) = try await restore(spec, context)
            case .catalog: report = try await catalog(spec, context)
            case .prune: report = try await prune(spec, context)
            case .cleanup: (report, exitCode) = try await cleanup(spec, context)
            case .drill: report = try await drill(spec, context)
            case .rotate: report = try await CredentialRotation.run(spec, context)
            }
            report.ok = exitCode == 0
        } catch {
            let failure = error as? AgentError ?? AgentError(.internal, "\(error)")
            context.progress("\(command.rawValue): FAILED: \(failure)")
            report = AgentReport(failure)
            exitCode = failure.reason.exitCode
        }
        report.command = command.rawValue
        report.exitCode = Int(exitCode)
        report.durations = report.durations ?? ReportedDurations()
        report.durations?.totalSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        return AgentOutcome(result: encoded(report), exitCode: exitCode)
    }

    /// The report as JSON. Encoding optionals, strings, numbers and JSON values cannot fail;
    /// should it ever, the result still says what ran and that it is incomplete.
    static func encoded(_ report: AgentReport) -> JSONValue {
        (try? JSONValue.encode(report))
            ?? ["command": .string(report.command ?? ""), "ok": .bool(report.ok ?? false), "reason": .string(AgentError.Reason.internal.rawValue),
                "message": "the agent's report could not be encoded"]
    }

    // MARK: backup

    static func backup(_ spec: AgentSpec, _ context: AgentContext) async throws -> AgentReport {
        guard let storeSpec = spec.storeSpec else { throw AgentError(.specInvalid, "destination (or store) is required") }
        guard let sourceSpec = spec.source else { throw AgentError(.specInvalid, "source is required") }
        let (store, prefix) = try storeSpec.open()
        let layout = try spec.layout(prefix: prefix)
        let source = try sourceSpec.make(store: store, layout: layout)
        let now = try spec.clock(context)
        let id = try spec.id.map { text -> ArtifactID in
            do { return try ArtifactID(parsing: text) } catch { throw AgentError(.specInvalid, "id: \(error)") }
        } ?? ArtifactID.generate(at: now)
        let manifest = try await BackupPipeline.run(source: source, store: store, layout: layout, id: id, startedAt: now,
                                                    job: spec.job, labels: spec.labels ?? [:], pinned: spec.pinned ?? false,
                                                    minSizeBytes: spec.verify?.minSizeBytes, context: context)
        var report = describe(manifest, store: store)
        report.flagged = manifest.flagged
        report.guards = manifest.guards
        report.rowCounts = manifest.rowCounts
        report.details = manifest.details
        report.verification = manifest.verification.map(ReportedVerification.init)
        if !manifest.warnings.isEmpty { report.warnings = manifest.warnings }
        report.durations = ReportedDurations(backupSeconds: manifest.durationSeconds)
        return report
    }

    /// A report naming the artifact a command worked on.
    static func describe(_ manifest: ArtifactManifest, store: any ArtifactStore) -> AgentReport {
        var report = AgentReport()
        report.artifact = ReportedArtifact(id: manifest.id.description, key: manifest.key, location: store.location,
                                           sizeBytes: manifest.sizeBytes, sha256: manifest.sha256,
                                           createdAt: UTCTimestamp.rfc3339(manifest.createdAt), format: manifest.format)
        return report
    }

    // MARK: catalog

    static func openCatalog(_ spec: AgentSpec) async throws -> (any ArtifactStore, ArtifactLayout, Catalog) {
        guard let storeSpec = spec.storeSpec else { throw AgentError(.specInvalid, "store (or destination) is required") }
        let (store, prefix) = try storeSpec.open()
        let layout = try spec.layout(prefix: prefix)
        return (store, layout, try await Catalog.load(store: store, layout: layout))
    }

    static func catalog(_ spec: AgentSpec, _ context: AgentContext) async throws -> AgentReport {
        let (store, _, catalog) = try await openCatalog(spec)
        let artifacts = catalog.manifests.map { m in
            CatalogEntry(id: m.id.description, createdAt: UTCTimestamp.rfc3339(m.createdAt), sizeBytes: m.sizeBytes, sha256: m.sha256,
                         verified: m.verified, flagged: m.flagged, pinned: m.pinned, format: m.format, key: m.key)
        }
        var report = AgentReport()
        report.location = store.location
        report.count = artifacts.count
        report.totalBytes = catalog.manifests.reduce(0) { $0 + $1.sizeBytes }
        report.artifacts = artifacts
        // Ids alone (their time is in them) survive the 4 KiB termination message when the full
        // list does not (~170 of them), so the controller can still preview retention.
        report.ids = catalog.manifests.map(\.id.description)
        let pinned = catalog.manifests.filter(\.pinned).map(\.id.description)
        if !pinned.isEmpty { report.pinnedIDs = pinned }
        report.newest = catalog.manifests.first?.id.description
        report.oldest = catalog.manifests.last?.id.description
        if !catalog.problems.isEmpty { report.warnings = catalog.problems }
        if !catalog.orphans.isEmpty { report.orphans = catalog.orphans.map(\.key) }
        return report
    }

    // MARK: verify and restore

    /// Selects, stages and checks an artifact; returns the checks (sha256 first: the format is
    /// only inspected when the bytes are the recorded ones).
    static func stageAndCheck(_ spec: AgentSpec, store: any ArtifactStore, catalog: Catalog, context: AgentContext)
        async throws -> (ArtifactManifest, StagedArtifact, [CheckResult]) {
        guard let manifest = spec.selector.select(from: catalog.manifests) else {
            throw AgentError(.artifactNotFound, "no artifact matches \(spec.selector) (\(catalog.manifests.count) in the catalog)")
        }
        context.progress("\(manifest.id): staging \(formatBytes(manifest.sizeBytes)) from \(store.location)")
        let staged = try await StagedArtifact.stage(manifest, from: store, context: context)
        var checks = staged.checks
        if let min = spec.verify?.minSizeBytes {
            checks.append(CheckResult(name: "minSize", passed: manifest.sizeBytes >= min, expected: ">= \(min)", actual: String(manifest.sizeBytes)))
        }
        if staged.passed, spec.verify?.listContents ?? true,
           let verifier = formatVerifier(for: manifest.format, bindir: spec.target?.postgres?.connection.bindir ?? spec.source?.postgres?.connection.bindir) {
            checks += try await verifier.verify(file: staged.path, manifest: manifest, context: context)
        }
        if staged.passed, manifest.format == S3MirrorSource.format.name, checks.allSatisfy(\.passed) {
            // The listing is only half of a bucket snapshot: its objects must be there too.
            let listing = try await S3Snapshot.read(try FileDescriptorStream.open(path: staged.path, label: "staged snapshot"))
            checks += try await S3Snapshot.checkBlobs(listing, store: store, layout: try spec.layout(prefix: spec.storePrefix),
                                                      deep: spec.verify?.checksum ?? false, context: context)
        }
        return (manifest, staged, checks)
    }

    static func failureReason(_ checks: [CheckResult]) -> AgentError.Reason? {
        guard let first = checks.first(where: { !$0.passed }) else { return nil }
        switch first.name {
        case "sha256": return .checksumMismatch
        case "size": return .sizeMismatch
        case "minSize": return .tooSmall
        case "listContents", "format": return .formatInvalid
        default: return .verificationFailed
        }
    }

    static func verify(_ spec: AgentSpec, _ context: AgentContext) async throws -> (AgentReport, Int32) {
        let (store, _, catalog) = try await openCatalog(spec)
        let (manifest, staged, artifactChecks) = try await stageAndCheck(spec, store: store, catalog: catalog, context: context)
        defer { staged.remove() }
        var checks = artifactChecks
        if let target = spec.target?.postgres, failureReason(checks) == nil {
            checks += try await PostgresRestoreTarget.checks(endpoint: target.connection, manifest: manifest, verify: spec.verify)
        }
        if spec.verify?.liveKeyCount == true, let redis = spec.source?.redis, failureReason(checks) == nil {
            checks.append(try await RedisLiveCheck.keyCount(redis, manifest: manifest, context: context))
        }
        if let target = spec.target, target.postgres == nil, failureReason(checks) == nil, spec.verify?.rowCounts ?? true {
            checks += try await TargetChecks.checks(target, staged: staged.path, manifest: manifest, spec: spec, context: context)
        }
        if let marker = spec.verify?.marker, let target = spec.target, failureReason(checks) == nil {
            checks.append(try await DrillMarkers.check(marker, in: target))
        }
        let record = VerificationRecord(time: try spec.clock(context), stage: "verify", checks: checks)
        if spec.verify?.record ?? true, failureReason(checks).map({ $0 != .checksumMismatch && $0 != .sizeMismatch }) ?? true {
            // A corrupt artifact's manifest keeps its recorded digest; the failed check is in the result.
            var updated = manifest
            updated.verification = record
            try await store.put(key: ArtifactLayout.manifestKey(forArtifactKey: manifest.key), bytes: try updated.encoded(), contentType: "application/json")
        }
        var report = describe(manifest, store: store)
        report.verification = ReportedVerification(record)
        if let reason = failureReason(checks) {
            report.reason = reason.rawValue
            report.message = failureMessage(checks)
            return (report, reason.exitCode)
        }
        return (report, AgentExitCode.success)
    }

    static func failureMessage(_ checks: [CheckResult]) -> String {
        checks.filter { !$0.passed }.map { c in
            "\(c.name) failed" + (c.expected.map { ": expected \($0.prefix(80))" } ?? "") + (c.actual.map { ", got \($0.prefix(80))" } ?? "")
                + (c.message.map { " (\($0.prefix(200)))" } ?? "")
        }.joined(separator: "; ")
    }

    static func restore(_ spec: AgentSpec, _ context: AgentContext) async throws -> (AgentReport, Int32) {
        if let s3 = spec.target?.s3 {
            guard let storeSpec = spec.storeSpec else { throw AgentError(.specInvalid, "store (or destination) is required") }
            let (store, prefix) = try storeSpec.open()
            let target = S3MirrorRestoreTarget(spec: s3, blobs: store, layout: try spec.layout(prefix: prefix))
            return try await restoreFromStore(spec, target: target, context)
        }
        if var redis = spec.target?.redis, redis.scratchServer == true {
            // A relative directory is inside the agent's own scratch space (TMPDIR).
            if !redis.dataDirectory.hasPrefix("/") { redis.dataDirectory = (context.workDirectory as NSString).appendingPathComponent(redis.dataDirectory) }
            try FileManager.default.createDirectory(atPath: redis.dataDirectory, withIntermediateDirectories: true)
            return try await restoreFromStore(spec, target: try RedisRestoreTarget(spec: redis), context) { manifest in
                try await RedisScratchServer.checks(directory: redis.dataDirectory, fileName: redis.fileName ?? "dump.rdb", manifest: manifest,
                                                    marker: spec.verify?.marker, context: context)
            }
        }
        if spec.target?.postgres == nil, let target = try spec.target?.directoryTarget(mode: spec.mode) {
            return try await restoreFromStore(spec, target: target, context)
        }
        guard let targetSpec = spec.target?.postgres else { throw AgentError(.specInvalid, "target.postgres is required") }
        let target = try PostgresRestoreTarget(spec: targetSpec, mode: spec.mode)
        return try await restoreFromStore(spec, target: target, context) { manifest in
            try await PostgresRestoreTarget.checks(endpoint: targetSpec.connection, manifest: manifest, verify: spec.verify)
        }
    }
}

extension AgentReport {
    /// The report of a command that failed before it had anything else to say.
    init(_ failure: AgentError) {
        self.init()
        ok = false
        reason = failure.reason.rawValue
        message = failure.message
    }
}
