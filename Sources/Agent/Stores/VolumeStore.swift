import Foundation
import Synchronization

/// A store on a mounted directory (a PVC in a Job). An upload writes `.<name>.partial-<rand>`
/// beside its final name, then fsync, rename, fsync of the directory: after a crash there is
/// either the whole artifact or a hidden partial file (which listings skip), never a torn one.
public struct VolumeStore: ArtifactStore {
    public let root: String
    private let io: IOThread

    public init(root: String) throws {
        let standardized = (root as NSString).standardizingPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: standardized, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError(.storeUnreachable, "volume path \(root) does not exist or is not a directory")
        }
        self.root = standardized
        io = IOThread(name: "volume \(standardized)")
    }

    public var location: String { "volume:\(root)" }

    public func localPath(key: String) -> String? { try? path(for: key) }

    func path(for key: String) throws -> String {
        try StoreKey.validate(key)
        return (root as NSString).appendingPathComponent(key)
    }

    public func beginUpload(key: String, contentType: String) async throws -> any ArtifactUpload {
        let final = try path(for: key)
        let directory = (final as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(
            ".\((final as NSString).lastPathComponent).partial-\(UUID().uuidString.prefix(8).lowercased())")
        let fileIO = IOThread(name: "upload \(key)")
        let fd: Int32 = try await fileIO.run {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw AgentError(.storeFailed, "cannot create \(directory): \(error.localizedDescription)")
            }
            let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw AgentError(.storeFailed, "cannot create \(temporary): \(String(cString: strerror(errno)))") }
            return fd
        }
        return VolumeUpload(io: fileIO, fd: fd, temporary: temporary, final: final)
    }

    public func put(key: String, bytes: [UInt8], contentType: String) async throws {
        let upload = try await beginUpload(key: key, contentType: contentType)
        do {
            try await upload.write(bytes)
            try await upload.commit()
        } catch {
            await upload.abort()
            throw error
        }
    }

    public func list(prefix: String) async throws -> [StoredObject] {
        let root = self.root
        return try await io.run {
            // Walk only the deepest directory named by the prefix, not the whole volume.
            let slash = prefix.lastIndex(of: "/")
            let base = slash.map { String(prefix[...$0]) } ?? ""
            if !base.isEmpty { try StoreKey.validate(String(base.dropLast())) }
            let start = (root as NSString).appendingPathComponent(base)
            guard let walker = FileManager.default.enumerator(atPath: start) else { return [] }
            var objects: [StoredObject] = []
            while let relative = walker.nextObject() as? String {
                let key = base + relative
                let name = (relative as NSString).lastPathComponent
                guard key.hasPrefix(prefix), !name.hasPrefix(".") else { continue }
                var info = stat()
                guard lstat((start as NSString).appendingPathComponent(relative), &info) == 0,
                      (info.st_mode & S_IFMT) == S_IFREG else { continue }
                objects.append(StoredObject(key: key, size: Int64(info.st_size),
                                            lastModified: Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))))
            }
            return objects.sorted { $0.key < $1.key }
        }
    }

    public func read(key: String) async throws -> [UInt8] {
        let path = try path(for: key)
        return try await io.run {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw AgentError(.artifactNotFound, "\(key) not found in \(root)")
            }
            return Array(data)
        }
    }

    public func open(key: String) async throws -> any ByteStream {
        try FileDescriptorStream.open(path: try path(for: key), label: key)
    }

    public func removeStale(prefix: String, before: Date, dryRun: Bool) async throws -> [String] {
        let root = self.root
        return try await io.run {
            let base = prefix.lastIndex(of: "/").map { String(prefix[...$0]) } ?? ""
            if !base.isEmpty { try StoreKey.validate(String(base.dropLast())) }
            let start = (root as NSString).appendingPathComponent(base)
            guard let walker = FileManager.default.enumerator(atPath: start) else { return [] }
            var removed: [String] = []
            while let relative = walker.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                // `.<final name>.partial-<rand>` (uploads) and `.<name>.restore-<rand>` are ours.
                guard name.hasPrefix("."), name.contains(".partial-") else { continue }
                let path = (start as NSString).appendingPathComponent(relative)
                var info = stat()
                guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                      Double(info.st_mtim.tv_sec) < before.timeIntervalSince1970 else { continue }
                if !dryRun, unlink(path) != 0, errno != ENOENT {
                    throw AgentError(.storeFailed, "cannot delete \(base + relative): \(String(cString: strerror(errno)))")
                }
                removed.append(base + relative)
            }
            return removed.sorted()
        }
    }

    public func delete(key: String) async throws {
        let path = try path(for: key)
        try await io.run {
            guard unlink(path) == 0 || errno == ENOENT else {
                throw AgentError(.storeFailed, "cannot delete \(key): \(String(cString: strerror(errno)))")
            }
        }
    }
}

final class VolumeUpload: ArtifactUpload {
    private let io: IOThread
    private let fd: Mutex<Int32?>
    private let temporary: String
    private let final: String

    init(io: IOThread, fd: Int32, temporary: String, final: String) {
        self.io = io
        self.fd = Mutex(fd)
        self.temporary = temporary
        self.final = final
    }

    deinit {
        // Neither committed nor aborted (a bug upstream): do not leave the partial file.
        if let fd = fd.withLock({ $0 }) {
            POSIX.close(fd)
            unlink(temporary)
        }
    }

    func write(_ chunk: ByteChunk) async throws {
        guard let fd = fd.withLock({ $0 }) else { throw AgentError(.internal, "write after the upload ended") }
        let final = self.final
        try await io.run {
            do { try POSIX.writeAll(fd, chunk) } catch {
                throw AgentError(.storeFailed, "writing \(final): \(error)")
            }
        }
    }

    func commit() async throws {
        guard let fd = fd.withLock({ value -> Int32? in defer { value = nil }; return value }) else {
            throw AgentError(.internal, "commit after the upload ended")
        }
        let (temporary, final) = (self.temporary, self.final)
        defer { io.stop() }
        try await io.run {
            let synced = fsync(fd) == 0
            let syncError = errno
            POSIX.close(fd)
            guard synced else {
                unlink(temporary)
                throw AgentError(.storeFailed, "fsync \(final): \(String(cString: strerror(syncError)))")
            }
            guard rename(temporary, final) == 0 else {
                let code = errno
                unlink(temporary)
                throw AgentError(.storeFailed, "rename to \(final): \(String(cString: strerror(code)))")
            }
            // The rename is durable only once the directory entry is on disk.
            let dir = Glibc.open((final as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 {
                _ = fsync(dir)
                POSIX.close(dir)
            }
        }
    }

    func abort() async {
        guard let fd = fd.withLock({ value -> Int32? in defer { value = nil }; return value }) else { return }
        let temporary = self.temporary
        _ = try? await io.run {
            POSIX.close(fd)
            unlink(temporary)
        }
        io.stop()
    }
}

/// Store keys are relative, slash-separated and free of `.`/`..` segments: a spec can never
/// make the agent write outside its bucket prefix or mounted directory.
enum StoreKey {
    static func validate(_ key: String) throws {
        guard !key.isEmpty, !key.hasPrefix("/"), !key.contains("\0"), key.utf8.count <= 1024 else {
            throw AgentError(.specInvalid, "invalid object key \"\(key.prefix(100))\"")
        }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) where segment == "." || segment == ".." || segment.isEmpty {
            throw AgentError(.specInvalid, "object key \"\(key.prefix(100))\" has an empty, . or .. segment")
        }
    }
}
