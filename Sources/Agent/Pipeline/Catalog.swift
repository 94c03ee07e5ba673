import BackstopCore
import Foundation

/// The catalog of one policy: its manifests, read from the store.
public struct Catalog: Sendable {
    public var manifests: [ArtifactManifest]
    /// Unreadable manifests and artifacts without a manifest (or the reverse).
    public var problems: [String]
    /// Artifact objects whose manifest is missing (e.g. a crash between the two writes).
    public var orphans: [StoredObject]

    public static func load(store: any ArtifactStore, layout: ArtifactLayout) async throws -> Catalog {
        let objects = try await store.list(prefix: layout.directory)
        let keys = Set(objects.map(\.key))
        var manifests: [ArtifactManifest] = []
        var problems: [String] = []
        var orphans: [StoredObject] = []
        for object in objects {
            guard let parsed = layout.parse(key: object.key) else { continue }
            if !parsed.isManifest {
                if !keys.contains(ArtifactLayout.manifestKey(forArtifactKey: object.key)) { orphans.append(object) }
                continue
            }
            do {
                let manifest = try ArtifactManifest.decode(try await store.read(key: object.key))
                if !keys.contains(manifest.key) {
                    problems.append("\(object.key): its artifact \(manifest.key) is missing")
                    continue
                }
                manifests.append(manifest)
            } catch let error as AgentError {
                problems.append("\(object.key): \(error.message)")
            } catch {
                problems.append("\(object.key): unreadable manifest (\(error))")
            }
        }
        return Catalog(manifests: manifests.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }, problems: problems, orphans: orphans)
    }
}

/// An artifact staged as a local file whose sha256 and size were checked against its
/// manifest while it was read: the only way restore gets at bytes, so a corrupt artifact is
/// refused before the target is touched. Volume artifacts are read in place (and hashed);
/// S3 artifacts are downloaded to the work directory (needs free space = artifact size).
public struct StagedArtifact: Sendable {
    public var path: String
    public var checks: [CheckResult]
    let temporary: Bool

    public var passed: Bool { checks.allSatisfy(\.passed) }

    public func remove() { if temporary { unlink(path) } }

    public static func stage(_ manifest: ArtifactManifest, from store: any ArtifactStore, context: AgentContext) async throws -> StagedArtifact {
        var digest = StreamDigest()
        let stream = try await store.open(key: manifest.key)
        let local = store.localPath(key: manifest.key)
        let path = local ?? (context.workDirectory as NSString).appendingPathComponent("backstop-\(manifest.id).\(manifest.fileExtension)")
        var fd: Int32 = -1
        if local == nil {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw AgentError(.internal, "cannot create \(path): \(String(cString: strerror(errno)))") }
        }
        let io = IOThread(name: "stage \(manifest.id)")
        do {
            while let chunk = try await stream.next() {
                digest.update(chunk)
                if fd >= 0 { try await io.run { [fd] in try POSIX.writeAll(fd, chunk) } }
            }
            if fd >= 0 { POSIX.close(fd) }
        } catch {
            await stream.cancel()
            if fd >= 0 { POSIX.close(fd); unlink(path) }
            throw error
        }
        io.stop()
        let sha = digest.hex()
        let checks = [
            CheckResult(name: "size", passed: digest.bytes == manifest.sizeBytes, expected: String(manifest.sizeBytes), actual: String(digest.bytes)),
            CheckResult(name: "sha256", passed: sha == manifest.sha256, expected: manifest.sha256, actual: sha),
        ]
        return StagedArtifact(path: path, checks: checks, temporary: local == nil)
    }
}

/// Format verifiers by manifest format name.
func formatVerifier(for format: String, bindir: String?) -> (any FormatVerifier)? {
    switch format {
    case PostgresSource.format.name: PgRestoreListVerifier(bindir: bindir)
    case RedisSource.format.name: RDBVerifier()
    case VolumeSource.format.name: TarGzipVerifier()
    case ClickHouseSource.format.name: ClickHouseArchiveVerifier()
    case S3MirrorSource.format.name: S3SnapshotVerifier()
    default: nil
    }
}
