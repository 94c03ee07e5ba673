import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Objects of a bucket under a prefix (`mc rm --older-than 90d`), or files of a mounted claim
/// under a folder (`find reports/ -mtime +90 -delete`), older than the cutoff. S3 compares the
/// server's `LastModified`, a volume the file's mtime. A volume listing holds regular files only
/// (no symlinks, never leaving the claim), so directories are kept.
struct StoreCleanup: Sendable {
    let store: any ArtifactStore
    let prefix: String
    /// Globs a file must match (by name; a glob with `/` by its path under `prefix`); nil: all.
    let include: [String]?
    let unit: String

    func candidates(before cutoff: Date) async throws -> CleanupCandidates {
        let all = try await store.list(prefix: prefix).filter { matches($0.key) }
        let old = all.filter { $0.lastModified < cutoff }
        let store = self.store
        return CleanupCandidates(
            unit: unit, count: Int64(old.count), total: Int64(all.count), bytes: old.reduce(0) { $0 + $1.size },
            oldest: old.map(\.lastModified).min(), newest: old.map(\.lastModified).max(),
            delete: { context in
                var bytes: Int64 = 0
                for object in old {
                    try await store.delete(key: object.key)
                    bytes += object.size
                }
                context.progress("cleanup: deleted \(old.count) \(self.unit) under \(store.location)/\(self.prefix)")
                return (Int64(old.count), bytes)
            })
    }

    func matches(_ key: String) -> Bool {
        guard let include, !include.isEmpty else { return true }
        let relative = String(key.dropFirst(prefix.count))
        let name = (key as NSString).lastPathComponent
        return include.contains { glob in fnmatch(glob, glob.contains("/") ? relative : name, 0) == 0 }
    }
}
