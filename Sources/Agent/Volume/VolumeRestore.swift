import AgentContract
import BackstopCore
import Foundation

/// Safety rules for entries, applied to the whole archive before anything is written:
/// relative paths without `..`, only files, directories and symlinks, symlinks that resolve
/// inside the root, and no entry below a symlink of the archive.
enum TarSafety {
    static func check(_ entry: TarEntry, symlinks: Set<String>) throws {
        let path = entry.path
        guard !path.contains("\0") else { throw refuse(path, "contains a NUL byte") }
        guard !path.hasPrefix("/") else { throw refuse(path, "is an absolute path") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !parts.contains("..") else { throw refuse(path, "contains a .. component (path traversal)") }
        switch entry.kind {
        case .file, .directory: break
        case .symlink:
            guard !entry.linkTarget.isEmpty, !entry.linkTarget.hasPrefix("/") else {
                throw refuse(path, "is a symlink to the absolute path \(entry.linkTarget)")
            }
            // Resolve lexically from the link's directory; never above the root.
            var depth = parts.count - 1
            for part in entry.linkTarget.split(separator: "/") where part != "." {
                depth += part == ".." ? -1 : 1
                guard depth >= 0 else { throw refuse(path, "is a symlink escaping the root (→ \(entry.linkTarget))") }
            }
        case .other(let flag):
            let what = switch flag {
            case UInt8(ascii: "3"): "a character device"
            case UInt8(ascii: "4"): "a block device"
            case UInt8(ascii: "6"): "a FIFO"
            case UInt8(ascii: "1"): "a hard link"
            default: "an unsupported entry type '\(Character(Unicode.Scalar(flag)))'"
            }
            throw refuse(path, "is \(what)")
        }
        // An entry below a symlink would be written wherever the link points.
        var prefix = ""
        for part in parts.dropLast() {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if symlinks.contains(prefix) { throw refuse(path, "lies below the symlink \(prefix)") }
        }
    }

    static func refuse(_ path: String, _ why: String) -> AgentError {
        AgentError(.formatInvalid, "archive entry \"\(path.prefix(200))\" \(why); refusing the archive")
    }

    /// Reads the whole archive (through `gzip -dc`) and checks every entry; nothing is written.
    static func validate(file: String, context: AgentContext) async throws -> (entries: Int, bytes: Int64) {
        var count = 0
        var bytes: Int64 = 0
        try await withTarReader(file: file, context: context) { reader in
            var symlinks = Set<String>()
            while let entry = try await reader.next() {
                guard !entry.path.isEmpty else { continue }
                try check(entry, symlinks: symlinks)
                if entry.kind == .symlink { symlinks.insert(entry.path) }
                count += 1
                bytes += entry.size
            }
        }
        return (count, bytes)
    }

    /// `gzip -dc file | tar reader`; gzip's own failure (bad CRC, truncation) is an error.
    static func withTarReader(file: String, context: AgentContext, _ body: (TarReader) async throws -> Void) async throws {
        let process = try Subprocess(executable: try context.tools.find("gzip"), arguments: ["-dc"], stdin: .file(file))
        let reader = TarReader(stream: process.stdout!)
        do {
            try await body(reader)
            // Drain what follows the end marker so gzip can check its trailer.
            while try await process.stdout!.next() != nil {}
        } catch {
            await process.stdout!.cancel()
            _ = await process.wait()
            throw error
        }
        let termination = await process.wait()
        guard termination.succeeded else {
            throw AgentError(.formatInvalid, "gzip -d \(termination): \(toolMessage(await process.stderrText(), secrets: []))")
        }
    }
}

/// Restores a `tar-gzip` artifact into a directory: the archive is validated whole first
/// (so a hostile or corrupt archive changes nothing), then the target is optionally emptied
/// and entries are extracted without ever following a symlink.
public struct VolumeRestoreTarget: RestoreTarget {
    public let spec: VolumeTargetSpec

    public init(spec: VolumeTargetSpec) { self.spec = spec }

    var root: String { (spec.path as NSString).standardizingPath }

    public func preflight(manifest: ArtifactManifest, context: AgentContext) async throws {
        guard manifest.format == VolumeSource.format.name else {
            throw AgentError(.specInvalid, "artifact \(manifest.id) is \(manifest.format), not a directory archive")
        }
        var isDirectory: ObjCBool = false
        if spec.scratch == true {
            if !FileManager.default.fileExists(atPath: root) {
                do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
                    throw AgentError(.targetUnreachable, "cannot create the scratch directory \(root): \(error.localizedDescription)")
                }
            }
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: root), !entries.isEmpty {
                throw AgentError(.targetExists, "scratch directory \(root) is not empty (\(entries.count) entries); a drill restores only into an empty one")
            }
        }
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AgentError(.targetMissing, "target directory \(root) does not exist (is the volume mounted?)")
        }
        guard access(root, W_OK | X_OK) == 0 else { throw AgentError(.targetUnreachable, "target directory \(root) is not writable") }
    }

    public func restore(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> RestoreReport {
        let checked = try await TarSafety.validate(file: file, context: context)
        context.progress("restore: archive checked, \(checked.entries) entries, \(formatBytes(checked.bytes))")
        let extractor = TarExtractor(root: root, uid: spec.uid, gid: spec.gid)
        if spec.clean == true {
            let removed = try await extractor.io.run { try extractor.emptyRoot() }
            context.progress("restore: emptied \(root) (\(removed) entries removed)")
        }
        try await TarSafety.withTarReader(file: file, context: context) { reader in
            var symlinks = Set<String>()
            while let entry = try await reader.next() {
                guard !entry.path.isEmpty else { continue }
                // Checked again: the validation pass read the same file, this keeps the rule local.
                try TarSafety.check(entry, symlinks: symlinks)
                if entry.kind == .symlink { symlinks.insert(entry.path) }
                try await extractor.extract(entry, reader: reader)
            }
        }
        try await extractor.io.run { try extractor.finishDirectories() }
        context.progress("restore: extracted \(checked.entries) entries into \(root)")
        return RestoreReport(target: ["path": root, "entries": String(checked.entries), "bytes": String(checked.bytes),
                                      "cleaned": String(spec.clean == true)])
    }
}

/// tar + gzip structure and entry safety of a staged artifact, without extracting.
public struct TarGzipVerifier: FormatVerifier {
    public init() {}

    public func verify(file: String, manifest: ArtifactManifest, context: AgentContext) async throws -> [CheckResult] {
        do {
            let checked = try await TarSafety.validate(file: file, context: context)
            return [CheckResult(name: "format", passed: true, expected: "gzip-compressed tar with safe entries",
                                actual: "\(checked.entries) entries, \(checked.bytes) bytes")]
        } catch let error as AgentError where error.reason == .formatInvalid {
            return [CheckResult(name: "format", passed: false, expected: "gzip-compressed tar with safe entries", actual: "invalid",
                                message: error.message)]
        }
    }
}
