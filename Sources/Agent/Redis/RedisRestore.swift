import AgentContract
import BackstopCore
import Foundation

/// Writes the RDB as `<dataDirectory>/dump.rdb` through a temporary file, fsync and rename
/// (a crash leaves the old file or the new one, never a torn one), then removes stale AOF
/// files so Redis starts from the restored snapshot.
public struct RedisRestoreTarget: RestoreTarget {
    public static let aofNames = ["appendonly.aof", "appendonlydir"]
    public let spec: RedisTargetSpec

    public init(spec: RedisTargetSpec) throws {
        let name = spec.fileName ?? "dump.rdb"
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw AgentError(.specInvalid, "target.redis.fileName must be a plain file name, not \(name)")
        }
        self.spec = spec
    }

    var directory: String { (spec.dataDirectory as NSString).standardizingPath }
    var fileName: String { spec.fileName ?? "dump.rdb" }

    public func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == RedisSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not a Redis RDB snapshot")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError(.targetMissing, "redis data directory \(directory) does not exist (is the volume mounted?)")
        }
        guard access(directory, W_OK) == 0 else {
            throw AgentError(.targetUnreachable, "redis data directory \(directory) is not writable by the agent")
        }
    }

    public func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let (directory, name, spec) = (self.directory, fileName, self.spec)
        let final = (directory as NSString).appendingPathComponent(name)
        let io = IOThread(name: "restore redis")
        defer { io.stop() }
        let bytes = try await io.run { try Self.install(file, as: final, uid: spec.uid, gid: spec.gid) }
        context.progress("restore: wrote \(formatBytes(bytes)) to \(final)")
        var removed: [String] = []
        if spec.removeAOF ?? true {
            removed = try await io.run {
                var gone: [String] = []
                for aof in Self.aofNames {
                    let path = (directory as NSString).appendingPathComponent(aof)
                    var info = stat()
                    guard lstat(path, &info) == 0 else { continue }
                    do { try FileManager.default.removeItem(atPath: path) } catch {
                        throw AgentError(.restoreFailed, "\(final) was restored, but the stale \(aof) could not be removed "
                                         + "(Redis would load it instead): \(error.localizedDescription)")
                    }
                    gone.append(aof)
                }
                if !gone.isEmpty { Self.syncDirectory(directory) }
                return gone
            }
            for aof in removed { context.progress("restore: removed stale \(aof)") }
        }
        return RestoreReport(target: ["dataDirectory": directory, "file": name, "bytes": String(bytes),
                                      "removedAOF": removed.joined(separator: ",")],
                             warnings: ["start Redis with dir=\(directory) dbfilename=\(name); with appendonly yes it rebuilds the AOF from this snapshot"])
    }

    /// Copies `source` to a temporary file beside `final`, fsyncs, renames, fsyncs the directory.
    static func install(_ source: String, as final: String, uid: Int?, gid: Int?) throws -> Int64 {
        let directory = (final as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(
            ".\((final as NSString).lastPathComponent).restore-\(UUID().uuidString.prefix(8).lowercased())")
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw AgentError(.restoreFailed, "cannot open the staged artifact: \(String(cString: strerror(errno)))") }
        defer { POSIX.close(input) }
        // 0644 like the dump.rdb Redis writes itself.
        let output = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw AgentError(.restoreFailed, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var total: Int64 = 0
        var isOpen = true
        do {
            while true {
                let chunk = try POSIX.readChunk(input, capacity: 1 << 20, minimum: 1)
                if chunk.isEmpty { break }
                try POSIX.writeAll(output, chunk)
                total += Int64(chunk.count)
            }
            if uid != nil || gid != nil, fchown(output, uid_t(truncatingIfNeeded: uid ?? -1), gid_t(truncatingIfNeeded: gid ?? -1)) != 0 {
                throw AgentError(.restoreFailed, "chown \(final) to \(uid ?? -1):\(gid ?? -1): \(String(cString: strerror(errno)))")
            }
            guard fsync(output) == 0 else { throw AgentError(.restoreFailed, "fsync \(temporary): \(String(cString: strerror(errno)))") }
            POSIX.close(output)
            isOpen = false
            guard rename(temporary, final) == 0 else {
                throw AgentError(.restoreFailed, "rename to \(final): \(String(cString: strerror(errno)))")
            }
        } catch {
            if isOpen { POSIX.close(output) }
            unlink(temporary)
            if let failure = error as? POSIXFailure { throw AgentError(.restoreFailed, "writing \(final): \(failure)") }
            throw error
        }
        syncDirectory(directory)
        return total
    }

    /// A rename or unlink is durable only once the directory entry is on disk.
    static func syncDirectory(_ directory: String) {
        let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            POSIX.close(dir)
        }
    }
}
