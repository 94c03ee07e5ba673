import BackstopCore
import Foundation

/// source → ArtifactOutput (sha256, size, head) → upload → commit → manifest.
/// On any failure the upload is aborted, so no artifact and no manifest appear.
public enum BackupPipeline {
    public static func run(source: any BackupSource, store: any ArtifactStore, layout: ArtifactLayout, id: ArtifactID,
                           startedAt: Date, job: JobReference?, labels: [String: String], pinned: Bool,
                           minSizeBytes: Int64?, context: AgentContext) async throws -> ArtifactManifest {
        let prepared = try await source.prepare(context)
        let format = source.format
        let key = layout.artifactKey(id, fileExtension: format.fileExtension)
        let report: SourceReport
        let size: Int64
        let sha: String
        do {
            let upload = try await store.beginUpload(key: key, contentType: format.contentType)
            let output = ArtifactOutput(upload: upload, progress: context.progress, label: "backup \(id)")
            do {
                report = try await prepared.write(to: output, context: context)
                size = await output.bytesWritten
                sha = await output.sha256Hex()
                guard size > 0 else { throw AgentError(.sourceEmpty, "the source produced no bytes") }
                if let minSizeBytes, size < minSizeBytes {
                    throw AgentError(.tooSmall, "artifact is \(size) bytes, below verify.minSizeBytes \(minSizeBytes)")
                }
                if let bad = report.checks.first(where: { !$0.passed }) {
                    throw AgentError(.formatInvalid, "\(bad.name): expected \(bad.expected ?? "?"), got \(bad.actual ?? "?")")
                }
                try await upload.commit()
            } catch {
                await upload.abort()
                throw error
            }
        } catch {
            await prepared.close()
            throw error
        }
        await prepared.close()
        let completed = context.now()
        var checks = report.checks
        checks.append(CheckResult(name: "sha256", passed: true, actual: sha, message: "computed while streaming"))
        if let minSizeBytes { checks.append(CheckResult(name: "minSize", passed: true, expected: ">= \(minSizeBytes)", actual: String(size))) }
        let manifest = ArtifactManifest(
            id: id, policy: layout.policy, key: key, format: format.name, fileExtension: format.fileExtension,
            contentType: format.contentType, createdAt: startedAt, completedAt: max(completed, startedAt), sizeBytes: size, sha256: sha,
            source: source.identity, tools: report.tools, rowCounts: report.rowCounts,
            rowCountsConsistency: report.rowCountsConsistency, guards: report.guards, warnings: report.warnings,
            verification: VerificationRecord(time: completed, stage: "backup", checks: checks), job: job, pinned: pinned,
            labels: labels, details: report.details)
        do {
            try await store.put(key: layout.manifestKey(id, fileExtension: format.fileExtension), bytes: try manifest.encoded(),
                                contentType: "application/json")
        } catch {
            // No manifest means no catalog entry: remove the artifact rather than leave an orphan.
            try? await store.delete(key: key)
            throw error
        }
        context.progress("backup \(id): \(formatBytes(size)) sha256 \(sha.prefix(12))… stored at \(store.location)/\(key)")
        return manifest
    }
}
