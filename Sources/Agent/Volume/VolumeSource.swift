import AgentContract
import BackstopCore
import DynamicJSON
import Foundation

/// The directory as a gzip-compressed POSIX tar (`tar czf - -C path .`), streamed: files are
/// read in 256 KiB pieces on an I/O thread, tar bytes go into `gzip -c`, and its output into
/// the store. Regular files, directories and symlinks are archived (symlinks as links, never
/// followed); sockets, FIFOs and devices are skipped with a warning.
public struct VolumeSource: BackupSource {
    public static let format = ArtifactFormat(name: "tar-gzip", fileExtension: "tar.gz", contentType: "application/gzip")
    public let spec: VolumeSourceSpec

    public init(spec: VolumeSourceSpec) { self.spec = spec }

    public var identity: SourceIdentity { SourceIdentity(kind: "volume", attributes: ["path": root]) }
    public var format: ArtifactFormat { Self.format }
    var root: String { (spec.path as NSString).standardizingPath }

    public func prepare(_ context: AgentContext) async throws -> any PreparedBackup {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError(.sourceUnreachable, "volume path \(root) does not exist or is not a directory (is the volume mounted?)")
        }
        guard access(root, R_OK | X_OK) == 0 else { throw AgentError(.sourceUnreachable, "volume path \(root) is not readable") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        if entries.isEmpty && !(spec.allowEmpty ?? false) {
            throw AgentError(.sourceEmpty, "volume path \(root) is empty; refusing to record an empty backup (set allowEmpty)")
        }
        if let level = spec.compressionLevel, !(1...9).contains(level) {
            throw AgentError(.specInvalid, "source.volume.compressionLevel must be 1…9")
        }
        return PreparedVolumeBackup(root: root, gzip: try context.tools.find("gzip"), level: spec.compressionLevel ?? 6)
    }
}

struct PreparedVolumeBackup: PreparedBackup {
    let root: String
    let gzip: String
    let level: Int

    func write(to output: ArtifactOutput, context: AgentContext) async throws -> SourceReport {
        let process = try Subprocess(executable: gzip, arguments: ["-c", "-n", "-\(level)"], stdin: .pipe, stdout: .pipe)
        context.progress("backup: tar | gzip -\(level) of \(root)")
        let stats: TarProducer.Stats
        do {
            stats = try await withThrowingTaskGroup(of: TarProducer.Stats?.self) { group in
                group.addTask {
                    let producer = TarProducer(root: root, input: process.stdin!)
                    do {
                        let stats = try await producer.run()
                        await process.stdin!.close()
                        return stats
                    } catch {
                        await process.stdin!.close()
                        process.terminate()
                        throw error
                    }
                }
                group.addTask {
                    try await output.copy(from: process.stdout!)
                    return nil
                }
                var stats: TarProducer.Stats?
                do {
                    while let result = try await group.next() { if let result { stats = result } }
                } catch {
                    group.cancelAll()
                    process.terminate()
                    throw error
                }
                return stats!
            }
        } catch {
            process.terminate()
            _ = await process.wait()
            throw error
        }
        let termination = await process.wait()
        guard termination.succeeded else {
            throw AgentError(.toolFailed, "gzip \(termination): \(toolMessage(await process.stderrText(), secrets: []))")
        }
        var report = SourceReport()
        report.tools = ["gzip": "-\(level)", "tar": "ustar+pax (backstop)"]
        report.warnings = stats.warnings
        let head = await output.head
        report.checks.append(CheckResult(name: "format", passed: head.starts(with: [0x1f, 0x8b]), expected: "gzip header",
                                         actual: head.starts(with: [0x1f, 0x8b]) ? "gzip header" : "no gzip header"))
        report.details = ["files": .int(stats.files), "directories": .int(stats.directories), "symlinks": .int(stats.symlinks),
                          "bytes": .int(stats.bytes), "skipped": .int(Int64(stats.warnings.count))]
        context.progress("backup: archived \(stats.files) files, \(stats.directories) directories, \(stats.symlinks) symlinks, "
                         + "\(formatBytes(stats.bytes)) before compression")
        return report
    }

    func close() async {}
}

/// Walks the tree (sorted, so archives of the same tree are alike) and writes tar bytes into
/// the pipe, batched into 256 KiB writes.
final class TarProducer: Sendable {
    struct Stats: Sendable {
        var files: Int64 = 0, directories: Int64 = 0, symlinks: Int64 = 0, bytes: Int64 = 0
        var warnings: [String] = []
    }

    let root: String
    let input: PipeWriter
    let io = IOThread(name: "tar reader")
    static let batch = 256 << 10

    init(root: String, input: PipeWriter) {
        self.root = root
        self.input = input
    }

    deinit { io.stop() }

    func run() async throws -> Stats {
        var stats = Stats()
        var pending: [UInt8] = []
        pending.reserveCapacity(Self.batch)
        func emit(_ bytes: [UInt8]) async throws {
            pending += bytes
            if pending.count >= Self.batch { try await flush() }
        }
        func flush() async throws {
            guard !pending.isEmpty else { return }
            guard try await input.write(pending) else { throw AgentError(.toolFailed, "gzip stopped reading its input") }
            pending.removeAll(keepingCapacity: true)
        }
        var stack = [""]
        while let relative = stack.popLast() {
            let directory = relative.isEmpty ? root : (root as NSString).appendingPathComponent(relative)
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
                throw AgentError(.sourceUnreachable, "cannot list \(directory): \(error.localizedDescription)")
            }
            var subdirectories: [String] = []
            for name in names {
                let path = relative.isEmpty ? name : relative + "/" + name
                let full = (root as NSString).appendingPathComponent(path)
                var info = stat()
                guard lstat(full, &info) == 0 else {
                    stats.warnings.append("\(path): vanished while archiving")
                    continue
                }
                let mode = UInt32(info.st_mode)
                var entry = TarEntry(path: path, kind: .file, mode: mode & 0o7777, uid: Int(info.st_uid), gid: Int(info.st_gid),
                                     mtime: Int64(info.st_mtim.tv_sec))
                switch mode & UInt32(S_IFMT) {
                case UInt32(S_IFDIR):
                    entry.kind = .directory
                    try await emit(TarHeader.encode(entry))
                    stats.directories += 1
                    subdirectories.append(path)
                case UInt32(S_IFLNK):
                    entry.kind = .symlink
                    entry.linkTarget = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? ""
                    try await emit(TarHeader.encode(entry))
                    stats.symlinks += 1
                case UInt32(S_IFREG):
                    entry.size = Int64(info.st_size)
                    try await emit(TarHeader.encode(entry))
                    let written = try await copyFile(full, size: entry.size, emit: emit)
                    if written != entry.size { stats.warnings.append("\(path): changed size while archiving (\(entry.size) → \(written) bytes)") }
                    try await emit([UInt8](repeating: 0, count: TarHeader.padding(entry.size)))
                    stats.files += 1
                    stats.bytes += entry.size
                default:
                    stats.warnings.append("\(path): not a file, directory or symlink; skipped")
                }
            }
            // Depth-first in name order: push in reverse so the smallest name comes next.
            stack += subdirectories.reversed()
        }
        try await emit([UInt8](repeating: 0, count: 2 * TarHeader.block))
        try await flush()
        return stats
    }

    /// Writes exactly `size` bytes of the file (zero-filled if it shrank, cut if it grew).
    private func copyFile(_ path: String, size: Int64, emit: ([UInt8]) async throws -> Void) async throws -> Int64 {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw AgentError(.sourceUnreachable, "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { POSIX.close(fd) }
        var copied: Int64 = 0
        var read: Int64 = 0
        while copied < size {
            let want = Int(min(Int64(Self.batch), size - copied))
            let chunk: [UInt8]
            do { chunk = try await io.run { try POSIX.readChunk(fd, capacity: want, minimum: want) } } catch {
                throw AgentError(.sourceUnreachable, "reading \(path): \(error)")
            }
            read += Int64(chunk.count)
            if chunk.isEmpty {
                try await emit([UInt8](repeating: 0, count: Int(size - copied)))
                return read
            }
            try await emit(chunk)
            copied += Int64(chunk.count)
        }
        // A file that grew is cut at the size in its header; report the difference.
        var probe = stat()
        if fstat(fd, &probe) == 0, Int64(probe.st_size) > size { return Int64(probe.st_size) }
        return read
    }
}
