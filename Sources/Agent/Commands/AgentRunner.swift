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
    public var result: JSONValue
    public var exitCode: Int32
}

public enum AgentRunner {
    public static func run(_ command: AgentCommandKind, spec: AgentSpec, context: AgentContext) async -> AgentOutcome {
        let started = Date()
        var result: [String: JSONValue]
        var exitCode: Int32 = AgentExitCode.success
        do {
            switch command {
            case .backup: result = try await backup(spec, context)
            case .verify: (result, exitCode) = try await verify(spec, context)
            case .restore: (result, exitCode) = try await restore(spec, context)
            case .catalog: result = try await catalog(spec, context)
            case .prune: result = try await prune(spec, context)
            case .cleanup: (result, exitCode) = try await cleanup(spec, context)
            case .drill: result = try await drill(spec, context)
            case .rotate: result = try await CredentialRotation.run(spec, context)
            }
            result["ok"] = .bool(exitCode == 0)
        } catch {
            let failure = error as? AgentError ?? AgentError(.internal, "\(error)")
            context.progress("\(command.rawValue): FAILED: \(failure)")
            result = ["ok": false, "reason": .string(failure.reason.rawValue), "message": .string(failure.message)]
            exitCode = failure.reason.exitCode
        }
        result["command"] = .string(command.rawValue)
        result["exitCode"] = .int(Int64(exitCode))
        var durations = result["durations"]?.objectValue ?? [:]
        durations["totalSeconds"] = .double((Date().timeIntervalSince(started) * 1000).rounded() / 1000)
        result["durations"] = .object(durations)
        return AgentOutcome(result: .object(result), exitCode: exitCode)
    }

    // MARK: backup

    static func backup(_ spec: AgentSpec, _ context: AgentContext) async throws -> [String: JSONValue] {
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
        var result = describe(manifest, store: store)
        result["flagged"] = .bool(manifest.flagged)
        result["guards"] = try JSONValue.encode(manifest.guards)
        if let counts = manifest.rowCounts { result["rowCounts"] = try JSONValue.encode(counts) }
        if let details = manifest.details { result["details"] = details }
        if let verification = manifest.verification { result["verification"] = try verificationJSON(verification) }
        if !manifest.warnings.isEmpty { result["warnings"] = try JSONValue.encode(manifest.warnings) }
        result["durations"] = ["backupSeconds": .double(manifest.durationSeconds)]
        return result
    }

    /// `artifact` of the result, in the contract's type (controllers decode `ReportedArtifact`).
    static func describe(_ manifest: ArtifactManifest, store: any ArtifactStore) -> [String: JSONValue] {
        let artifact = ReportedArtifact(id: manifest.id.description, key: manifest.key, location: store.location,
                                        sizeBytes: manifest.sizeBytes, sha256: manifest.sha256,
                                        createdAt: UTCTimestamp.rfc3339(manifest.createdAt), format: manifest.format)
        // Encoding a struct of strings and integers cannot fail.
        return ["artifact": (try? JSONValue.encode(artifact)) ?? .null]
    }

    static func verificationJSON(_ record: VerificationRecord) throws -> JSONValue {
        ["passed": .bool(record.passed), "stage": .string(record.stage), "time": .string(UTCTimestamp.rfc3339(record.time)),
         "checks": try JSONValue.encode(record.checks)]
    }

    // MARK: catalog

    static func openCatalog(_ spec: AgentSpec) async throws -> (any ArtifactStore, ArtifactLayout, Catalog) {
        guard let storeSpec = spec.storeSpec else { throw AgentError(.specInvalid, "store (or destination) is required") }
        let (store, prefix) = try storeSpec.open()
        let layout = try spec.layout(prefix: prefix)
        return (store, layout, try await Catalog.load(store: store, layout: layout))
    }

    static func catalog(_ spec: AgentSpec, _ context: AgentContext) async throws -> [String: JSONValue] {
        let (store, _, catalog) = try await openCatalog(spec)
        let artifacts = catalog.manifests.map { m in
            CatalogEntry(id: m.id.description, createdAt: UTCTimestamp.rfc3339(m.createdAt), sizeBytes: m.sizeBytes, sha256: m.sha256,
                         verified: m.verified, flagged: m.flagged, pinned: m.pinned, format: m.format, key: m.key)
        }
        var result: [String: JSONValue] = ["location": .string(store.location), "count": .int(Int64(artifacts.count)),
                                           "totalBytes": .int(catalog.manifests.reduce(0) { $0 + $1.sizeBytes }),
                                           "artifacts": try JSONValue.encode(artifacts)]
        // Ids alone (their time is in them) survive the 4 KiB termination message when the full
        // list does not (~170 of them), so the controller can still preview retention.
        result["ids"] = .array(catalog.manifests.map { .string($0.id.description) })
        let pinned = catalog.manifests.filter(\.pinned).map { JSONValue.string($0.id.description) }
        if !pinned.isEmpty { result["pinnedIDs"] = .array(pinned) }
        if let newest = catalog.manifests.first { result["newest"] = .string(newest.id.description) }
        if let oldest = catalog.manifests.last { result["oldest"] = .string(oldest.id.description) }
        if !catalog.problems.isEmpty { result["warnings"] = try JSONValue.encode(catalog.problems) }
        if !catalog.orphans.isEmpty { result["orphans"] = try JSONValue.encode(catalog.orphans.map(\.key)) }
        return result
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

    static func verify(_ spec: AgentSpec, _ context: AgentContext) async throws -> ([String: JSONValue], Int32) {
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
        var result = describe(manifest, store: store)
        result["verification"] = try verificationJSON(record)
        if let reason = failureReason(checks) {
            result["reason"] = .string(reason.rawValue)
            result["message"] = .string(failureMessage(checks))
            return (result, reason.exitCode)
        }
        return (result, AgentExitCode.success)
    }

    static func failureMessage(_ checks: [CheckResult]) -> String {
        checks.filter { !$0.passed }.map { c in
            "\(c.name) failed" + (c.expected.map { ": expected \($0.prefix(80))" } ?? "") + (c.actual.map { ", got \($0.prefix(80))" } ?? "")
                + (c.message.map { " (\($0.prefix(200)))" } ?? "")
        }.joined(separator: "; ")
    }

    static func restore(_ spec: AgentSpec, _ context: AgentContext) async throws -> ([String: JSONValue], Int32) {
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
