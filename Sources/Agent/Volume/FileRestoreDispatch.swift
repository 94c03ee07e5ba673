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
    /// `restore` for directory targets: same order as PostgreSQL's (preflight, stage + sha256 +
    /// format checks, then restore), without post-restore SQL checks.
    static func restoreDirectoryTarget(_ spec: AgentSpec, target: any RestoreTarget, _ context: AgentContext)
        async throws -> ([String: JSONValue], Int32) {
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
        var result = describe(manifest, store: store)
        result["target"] = try JSONValue.encode(report.target)
        if !report.warnings.isEmpty { result["warnings"] = try JSONValue.encode(report.warnings) }
        result["verification"] = try verificationJSON(VerificationRecord(time: Date(), stage: "restore", checks: checks))
        result["durations"] = ["stageSeconds": .double(restoreStart.timeIntervalSince(stagingStart)),
                               "restoreSeconds": .double(Date().timeIntervalSince(restoreStart))]
        return (result, AgentExitCode.success)
    }
}
