import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

extension TargetSpec {
    /// The restore target for every kind but PostgreSQL (which has post-restore SQL checks);
    /// nil when none is given.
    func directoryTarget(mode: String? = nil) throws -> (any RestoreTarget)? {
        let given = [redis != nil, volume != nil, clickhouse != nil].filter { $0 }.count
        guard given <= 1 else { throw AgentError(.specInvalid, "target: only one of redis, volume or clickhouse may be given") }
        if let redis { return try RedisRestoreTarget(spec: redis) }
        if let volume { return VolumeRestoreTarget(spec: volume) }
        if let clickhouse { return try ClickHouseRestoreTarget(spec: clickhouse, mode: mode) }
        return nil
    }
}

extension AgentRunner {
    /// The one `restore` sequence for every target: preflight against the chosen artifact,
    /// stage + sha256 + format checks (the target is not touched when they fail), restore, then
    /// the target's own post-restore checks (PostgreSQL's row counts and SQL checks), whose
    /// failure is reported with the restore done.
    static func restoreFromStore(_ spec: AgentSpec, target: any RestoreTarget, _ context: AgentContext,
                                       postChecks: ((ArtifactManifest) async throws -> [CheckResult])? = nil)
        async throws -> (AgentReport, Int32) {
        let (store, _, catalog) = try await openCatalog(spec)
        guard let chosen = spec.selector.select(from: catalog.manifests) else {
            throw AgentError(.artifactNotFound, "no artifact matches \(spec.selector) (\(catalog.manifests.count) in the catalog)")
        }
        try await target.preflight(manifest: chosen, context: context)
        let stagingStart = Date()
        let (manifest, staged, checks) = try await stageAndCheck(spec, store: store, catalog: catalog, context: context)
        defer { staged.remove() }
        if let reason = failureReason(checks) {
            throw AgentError(reason, "refusing to restore \(manifest.id), the target was not touched: \(failureMessage(checks))")
        }
        let restoreStart = Date()
        let report = try await target.restore(file: staged.path, manifest: manifest, context: context)
        let restoreSeconds = Date().timeIntervalSince(restoreStart)
        let post = try await postChecks?(manifest) ?? []
        var result = describe(manifest, store: store)
        result.target = report.target
        if !report.warnings.isEmpty { result.warnings = report.warnings }
        result.verification = ReportedVerification(VerificationRecord(time: Date(), stage: "restore", checks: checks + post))
        result.durations = ReportedDurations(stageSeconds: restoreStart.timeIntervalSince(stagingStart), restoreSeconds: restoreSeconds)
        if let reason = failureReason(post) {
            result.reason = reason.rawValue
            result.message = "restored, but post-restore checks failed: \(failureMessage(post))"
            return (result, reason.exitCode)
        }
        return (result, AgentExitCode.success)
    }
}
