import Foundation
import Synchronization

/// Writes checked tar entries under `root` without following symlinks: every parent must be a
/// real directory (`lstat`), files are created `O_EXCL | O_NOFOLLOW` after removing what was
/// there. Directory modes and times are applied at the end (a read-only directory must not
/// block its own children). Blocking calls run on `io`.
final class TarExtractor: Sendable {
    let root: String
    let uid: Int?
    let gid: Int?
    let io = IOThread(name: "tar extract")
    private let directories = Mutex<[(path: String, mode: UInt32, mtime: Int64)]>([])

    init(root: String, uid: Int?, gid: Int?) {
        self.root = root
        self.uid = uid
        self.gid = gid
    }

    deinit { io.stop() }

    /// Removes everything inside the root (not the root: it is usually a mount point).
    func emptyRoot() throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: root)
        for name in names {
            do { try FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(name)) } catch {
                throw AgentError(.restoreFailed, "cannot empty \(root): \(error.localizedDescription)")
            }
        }
        return names.count
    }

    func extract(_ entry: TarEntry, reader: TarReader) async throws {
        let full = try await io.run { [self] in try prepareParents(entry.path) }
        switch entry.kind {
        case .directory:
            try await io.run { [self] in
                var info = stat()
                if lstat(full, &info) == 0 {
                    if info.st_mode & S_IFMT != S_IFDIR { try removeExisting(full, entry.path) }
                }
                if lstat(full, &info) != 0, mkdir(full, 0o700) != 0 { throw failure("mkdir", entry.path) }
                directories.withLock { $0.append((full, entry.mode, entry.mtime)) }
            }
        case .symlink:
            try await io.run { [self] in
                try removeExisting(full, entry.path)
                guard symlink(entry.linkTarget, full) == 0 else { throw failure("symlink", entry.path) }
                try own(fd: nil, path: full, entry.path)
                var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
                _ = utimensat(AT_FDCWD, full, &times, AT_SYMLINK_NOFOLLOW)
            }
        case .file:
            let fd: Int32 = try await io.run { [self] in
                try removeExisting(full, entry.path)
                let fd = Glibc.open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw failure("create", entry.path) }
                return fd
            }
            do {
                while let data = try await reader.readData() {
                    let bytes = Array(data)
                    try await io.run { try POSIX.writeAll(fd, bytes) }
                }
                try await io.run { [self] in
                    guard fchmod(fd, mode_t(entry.mode & 0o1777)) == 0 else { throw failure("chmod", entry.path) }
                    try own(fd: fd, path: full, entry.path)
                    var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
                    _ = futimens(fd, &times)
                    POSIX.close(fd)
                }
            } catch {
                POSIX.close(fd)
                if let posix = error as? POSIXFailure { throw AgentError(.restoreFailed, "writing \(entry.path): \(posix)") }
                throw error
            }
        case .other:
            throw AgentError(.internal, "unchecked entry type reached extraction")
        }
    }

    /// Applies directory modes, owners and times deepest first.
    func finishDirectories() throws {
        for directory in directories.withLock({ $0 }).reversed() {
            guard chmod(directory.path, mode_t(directory.mode & 0o1777)) == 0 else { throw failure("chmod", directory.path) }
            try own(fd: nil, path: directory.path, directory.path)
            var times = [timespec(tv_sec: Int(directory.mtime), tv_nsec: 0), timespec(tv_sec: Int(directory.mtime), tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, directory.path, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// The absolute path of `relative`, after making sure each parent is a real directory
    /// inside the root (creating missing ones); a symlink or file in the way is refused.
    private func prepareParents(_ relative: String) throws -> String {
        var current = root
        let parts = relative.split(separator: "/").map(String.init)
        for part in parts.dropLast() {
            current = (current as NSString).appendingPathComponent(part)
            var info = stat()
            if lstat(current, &info) != 0 {
                guard mkdir(current, 0o755) == 0 else { throw failure("mkdir", relative) }
                continue
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw AgentError(.restoreFailed, "\(relative): a parent exists as a symlink or file; refusing to write through it")
            }
        }
        return (current as NSString).appendingPathComponent(parts.last ?? "")
    }

    /// Removes a file or symlink in the way; an existing directory stays an error for files.
    private func removeExisting(_ full: String, _ relative: String) throws {
        var info = stat()
        guard lstat(full, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw AgentError(.restoreFailed, "\(relative): a directory exists where the archive has a file or link")
        }
        guard unlink(full) == 0 else { throw failure("unlink", relative) }
    }

    private func own(fd: Int32?, path: String, _ relative: String) throws {
        guard uid != nil || gid != nil else { return }
        let (u, g) = (uid_t(truncatingIfNeeded: uid ?? -1), gid_t(truncatingIfNeeded: gid ?? -1))
        let rc = fd.map { fchown($0, u, g) } ?? lchown(path, u, g)
        guard rc == 0 else { throw failure("chown", relative) }
    }

    private func failure(_ call: String, _ relative: String) -> AgentError {
        AgentError(.restoreFailed, "\(call) \(relative): \(String(cString: strerror(errno)))")
    }
}
