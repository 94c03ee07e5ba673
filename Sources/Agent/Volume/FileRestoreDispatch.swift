import BackstopCore
import DynamicJSON
import Foundation

extension TargetSpec {
    /// The restore target for `target.redis` or `target.volume` (targets that are a mounted
    /// directory); nil for other kinds.
    func directoryTarget() throws -> (any RestoreTarget)? {
        switch (redis, volume) {
        case (let redis?, nil): return try RedisRestoreTarget(spec: redis)
        case (nil, let volume?): return VolumeRestoreTarget(spec: volume)
        case (nil, nil): return nil
        default: throw AgentError(.specInvalid, "target: only one of redis or volume may be given")
        }
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
