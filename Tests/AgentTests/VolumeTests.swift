@testable import Agent
import BackstopCore
import Foundation
import Testing
import TestSupport

@Suite("Volume source (tar+gzip) and restore target")
struct VolumeTests {
    let fm = FileManager.default

    /// A tree with nested directories, empty and large files, odd modes, symlinks inside the
    /// root, a name longer than ustar's 100 bytes and a non-ASCII name.
    func makeTree(at root: URL) throws {
        try fm.createDirectory(at: root.appendingPathComponent("a/b/c"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("empty-dir"), withIntermediateDirectories: true)
        try Data().write(to: root.appendingPathComponent("empty.txt"))
        try Data("config: true\n".utf8).write(to: root.appendingPathComponent("a/config.yml"))
        var big = [UInt8](repeating: 0, count: 700_001)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        try Data(big).write(to: root.appendingPathComponent("a/b/c/big.bin"))
        try Data("#!/bin/sh\necho hi\n".utf8).write(to: root.appendingPathComponent("a/run.sh"))
        chmod(root.appendingPathComponent("a/run.sh").path, 0o755)
        chmod(root.appendingPathComponent("a/config.yml").path, 0o640)
        chmod(root.appendingPathComponent("a/b").path, 0o700)
        let long = String(repeating: "long-name-", count: 14) + ".json"
        try Data("{}".utf8).write(to: root.appendingPathComponent("a/\(long)"))
        try Data("ünïcødé".utf8).write(to: root.appendingPathComponent("grüße ✓.txt"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("link-to-config").path, withDestinationPath: "a/config.yml")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("a/b/up").path, withDestinationPath: "../config.yml")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("dir-link").path, withDestinationPath: "a/b")
    }

    /// Relative path → (type, mode, content or link target, mtime for files).
    func describeTree(_ root: URL) throws -> [String: String] {
        var result: [String: String] = [:]
        var pending = [""]
        var all: [String] = []
        while let dir = pending.popLast() {
            for name in try fm.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path) {
                let relative = dir.isEmpty ? name : dir + "/" + name
                all.append(relative)
                var info = stat()
                if lstat(root.appendingPathComponent(relative).path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { pending.append(relative) }
            }
        }
        for relative in all {
            let full = root.appendingPathComponent(relative).path
            var info = stat()
            #expect(lstat(full, &info) == 0)
            let mode = String(info.st_mode & 0o7777, radix: 8)
            switch info.st_mode & S_IFMT {
            case S_IFDIR: result[relative] = "dir \(mode)"
            case S_IFLNK: result[relative] = "link -> \(try fm.destinationOfSymbolicLink(atPath: full))"
            default:
                let data = try Data(contentsOf: URL(fileURLWithPath: full))
                result[relative] = "file \(mode) \(data.count) \(data.hashValue) mtime \(info.st_mtim.tv_sec)"
            }
        }
        return result
    }

    @Test("round trip: back up, verify, restore with clean into a dirty directory, trees are equal; system tar reads the archive")
    func roundTrip() async throws {
        let work = try TestServices.temporaryDirectory("volume-rt")
        defer { chmod(work.appendingPathComponent("source/a/b").path, 0o755); try? fm.removeItem(at: work) }
        let source = work.appendingPathComponent("source")
        let storeDir = work.appendingPathComponent("store")
        let target = work.appendingPathComponent("target")
        try makeTree(at: source)
        try fm.createDirectory(at: storeDir, withIntermediateDirectories: true)
        try fm.createDirectory(at: target.appendingPathComponent("old-dir"), withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: target.appendingPathComponent("old-dir/stale.txt"))

        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let store = try VolumeStore(root: storeDir.path)
        let manifest = try await BackupPipeline.run(
            source: VolumeSource(spec: VolumeSourceSpec(path: source.path)), store: store,
            layout: try ArtifactLayout(prefix: "", policy: "n8n"), id: ArtifactID.generate(at: Date()), startedAt: Date(),
            job: nil, labels: [:], pinned: false, minSizeBytes: nil, context: context)
        #expect(manifest.format == "tar-gzip")
        #expect(manifest.key.hasSuffix(".tar.gz"))
        #expect(manifest.details?["files"]?.intValue == 6)
        #expect(manifest.details?["symlinks"]?.intValue == 3)
        let artifact = try #require(store.localPath(key: manifest.key))

        let checks = try await TarGzipVerifier().verify(file: artifact, manifest: manifest, context: context)
        #expect(checks.count == 1 && checks[0].passed)
        // Interoperability: GNU tar lists the same entries.
        let listing = try await Subprocess.run("/usr/bin/tar", ["-tzf", artifact])
        #expect(listing.termination.succeeded)
        let listed = Set(listing.stdout.split(separator: "\n").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "/")) })
        let expected = try describeTree(source)
        #expect(listed == Set(expected.keys))

        let restore = VolumeRestoreTarget(spec: VolumeTargetSpec(path: target.path, clean: true))
        try await restore.preflight(manifest: manifest, context: context)
        let report = try await restore.restore(file: artifact, manifest: manifest, context: context)
        #expect(report.target["entries"] == String(expected.count))
        let restored = try describeTree(target)
        #expect(restored == expected)
        #expect(!fm.fileExists(atPath: target.appendingPathComponent("old-dir").path))
        chmod(target.appendingPathComponent("a/b").path, 0o755)

        // Verify reads the target back: every archived file there with its size; a lost or
        // truncated file fails and is named.
        let intact = try await TargetChecks.files(root: target.path, archive: artifact, context: context)
        #expect(intact.passed && intact.actual == "6 match", "\(intact)")
        let victim = try #require(try describeTree(source).keys.sorted().first { key in
            var info = stat()
            return lstat(target.appendingPathComponent(key).path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
        })
        try Data().write(to: target.appendingPathComponent(victim))
        let broken = try await TargetChecks.files(root: target.path, archive: artifact, context: context)
        #expect(!broken.passed && broken.actual == "5 match" && broken.message?.contains(victim) == true, "\(broken)")
    }

    @Test("an empty or missing source directory is refused")
    func emptySource() async throws {
        let work = try TestServices.temporaryDirectory("volume-empty")
        defer { try? fm.removeItem(at: work) }
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let empty = await #expect(throws: AgentError.self) { _ = try await VolumeSource(spec: VolumeSourceSpec(path: work.path)).prepare(context) }
        #expect(empty?.reason == .sourceEmpty)
        let missing = await #expect(throws: AgentError.self) {
            _ = try await VolumeSource(spec: VolumeSourceSpec(path: work.appendingPathComponent("nope").path)).prepare(context)
        }
        #expect(missing?.reason == .sourceUnreachable)
    }

    static let hostile: [(name: String, entries: [TarEntry], refusal: String)] = [
        ("parent traversal", [TarEntry(path: "../evil.txt", kind: .file, mode: 0o644, size: 4)], ".. component"),
        ("nested traversal", [TarEntry(path: "a/../../evil.txt", kind: .file, mode: 0o644, size: 4)], ".. component"),
        ("absolute path", [TarEntry(path: "/tmp/backstop-evil-abs.txt", kind: .file, mode: 0o644, size: 4)], "absolute path"),
        ("symlink escaping", [TarEntry(path: "sub/esc", kind: .symlink, mode: 0o777, linkTarget: "../../outside")], "escaping the root"),
        ("absolute symlink", [TarEntry(path: "passwd", kind: .symlink, mode: 0o777, linkTarget: "/etc/passwd")], "absolute path"),
        ("write through an archive symlink", [TarEntry(path: "d", kind: .symlink, mode: 0o777, linkTarget: "."),
                                              TarEntry(path: "d/x.txt", kind: .file, mode: 0o644, size: 4)], "below the symlink"),
        ("character device", [TarEntry(path: "null", kind: .other(UInt8(ascii: "3")), mode: 0o666)], "character device"),
        ("block device", [TarEntry(path: "sda", kind: .other(UInt8(ascii: "4")), mode: 0o660)], "block device"),
        ("fifo", [TarEntry(path: "pipe", kind: .other(UInt8(ascii: "6")), mode: 0o644)], "FIFO"),
        ("hard link", [TarEntry(path: "hl", kind: .other(UInt8(ascii: "1")), mode: 0o644, linkTarget: "/etc/shadow")], "hard link"),
    ]

    /// A gzip'd archive: a harmless file first (it must not be written either), then `entries`.
    func craft(_ entries: [TarEntry], in directory: URL) async throws -> String {
        var tar = TarHeader.encode(TarEntry(path: "harmless.txt", kind: .file, mode: 0o644, size: 2)) + Array("ok".utf8)
        tar += [UInt8](repeating: 0, count: 510)
        for entry in entries {
            tar += TarHeader.encode(entry)
            if entry.kind == .file {
                tar += Array("evil".utf8) + [UInt8](repeating: 0, count: 508)
            }
        }
        tar += [UInt8](repeating: 0, count: 1024)
        let plain = directory.appendingPathComponent("crafted-\(UUID().uuidString.prefix(6)).tar").path
        try Data(tar).write(to: URL(fileURLWithPath: plain))
        let out = try await Subprocess.run("/usr/bin/gzip", ["-f", plain])
        #expect(out.termination.succeeded)
        return plain + ".gz"
    }

    @Test("hostile archives are refused before anything is written", arguments: 0..<VolumeTests.hostile.count)
    func hostileArchive(_ index: Int) async throws {
        let (name, entries, refusal) = Self.hostile[index]
        let work = try TestServices.temporaryDirectory("volume-hostile")
        defer { try? fm.removeItem(at: work) }
        let target = work.appendingPathComponent("deep/target")
        try fm.createDirectory(at: target.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: target.appendingPathComponent("sentinel.txt"))
        let archive = try await craft(entries, in: work)
        let before = Set(try fm.subpathsOfDirectory(atPath: work.path))
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let manifest = ArtifactManifest(id: ArtifactID.generate(at: Date()), policy: "p", key: "p/x.tar.gz", format: "tar-gzip",
                                        fileExtension: "tar.gz", createdAt: Date(), completedAt: Date(), sizeBytes: 1, sha256: "00",
                                        source: SourceIdentity(kind: "volume"))
        let verdict = try await TarGzipVerifier().verify(file: archive, manifest: manifest, context: context)
        #expect(verdict.first?.passed == false, "\(name)")
        let restore = VolumeRestoreTarget(spec: VolumeTargetSpec(path: target.path, clean: true))
        let error = await #expect(throws: AgentError.self, "\(name)") {
            _ = try await restore.restore(file: archive, manifest: manifest, context: context)
        }
        #expect(error?.reason == .formatInvalid)
        #expect(error?.message.contains(refusal) == true, "\(name): \(error?.message ?? "")")
        // Nothing written anywhere (and the target was not emptied).
        #expect(Set(try fm.subpathsOfDirectory(atPath: work.path)) == before)
        #expect(!fm.fileExists(atPath: "/tmp/backstop-evil-abs.txt"))
    }

    @Test("a flipped byte in the compressed archive fails the format check")
    func corruptGzip() async throws {
        let work = try TestServices.temporaryDirectory("volume-corrupt")
        defer { try? fm.removeItem(at: work) }
        let archive = try await craft([TarEntry(path: "more.txt", kind: .file, mode: 0o644, size: 4)], in: work)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        let context = AgentContext(progress: .silent, workDirectory: work.path)
        let manifest = ArtifactManifest(id: ArtifactID.generate(at: Date()), policy: "p", key: "p/x.tar.gz", format: "tar-gzip",
                                        fileExtension: "tar.gz", createdAt: Date(), completedAt: Date(), sizeBytes: 1, sha256: "00",
                                        source: SourceIdentity(kind: "volume"))
        #expect(try await TarGzipVerifier().verify(file: archive, manifest: manifest, context: context).first?.passed == true)
        bytes[bytes.count / 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        #expect(try await TarGzipVerifier().verify(file: archive, manifest: manifest, context: context).first?.passed == false)
    }

    @Test("pax records carry their own length")
    func paxRecordLength() throws {
        for value in ["x", String(repeating: "y", count: 93), String(repeating: "z", count: 95), String(repeating: "w", count: 990)] {
            let record = TarHeader.paxRecord("path", value)
            let declared = Int(String(decoding: record.prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self))
            #expect(declared == record.count)
            #expect(try TarHeader.parsePax(record)["path"] == value)
        }
    }
}
