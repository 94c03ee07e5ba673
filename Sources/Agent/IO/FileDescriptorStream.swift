import Foundation
import Synchronization

/// A `ByteStream` over a pipe or file descriptor, read on its own `IOThread`. Backpressure is
/// the kernel's: a subprocess writing into the pipe blocks once the pipe buffer (enlarged to
/// 1 MiB) is full and we have not read. The stream owns the descriptor and closes it.
public final class FileDescriptorStream: ByteStream {
    public static let chunkSize = 256 << 10

    private let io: IOThread
    private let fd: Mutex<Int32?>
    private let label: String
    private let failureReason: AgentError.Reason
    private let onCancel: @Sendable () async -> Void

    /// `minimumChunk`: how much to gather per read before handing a chunk on (fewer, larger
    /// chunks for pipes that deliver a few KiB at a time).
    init(fd: Int32, label: String, failureReason: AgentError.Reason, minimumChunk: Int = 128 << 10,
         onCancel: @escaping @Sendable () async -> Void = {}) {
        io = IOThread(name: "read \(label)")
        self.fd = Mutex(fd)
        self.label = label
        self.failureReason = failureReason
        self.minimumChunk = minimumChunk
        self.onCancel = onCancel
    }

    private let minimumChunk: Int

    /// Opens a regular file for streaming.
    public static func open(path: String, label: String, failureReason: AgentError.Reason = .storeFailed) throws -> FileDescriptorStream {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw AgentError(code == ENOENT ? .artifactNotFound : failureReason,
                             "cannot open \(label): \(String(cString: strerror(code)))")
        }
        return FileDescriptorStream(fd: fd, label: label, failureReason: failureReason, minimumChunk: chunkSize)
    }

    deinit {
        if let fd = fd.withLock({ $0 }) { POSIX.close(fd) }
    }

    public func next() async throws -> ByteChunk? {
        guard let fd = fd.withLock({ $0 }) else { return nil }
        let (size, minimum) = (Self.chunkSize, minimumChunk)
        let chunk: [UInt8]
        do {
            chunk = try await io.run { try POSIX.readChunk(fd, capacity: size, minimum: minimum) }
        } catch let failure as POSIXFailure {
            await closeDescriptor()
            throw AgentError(failureReason, "reading \(label): \(failure)")
        }
        if chunk.isEmpty {
            await closeDescriptor()
            return nil
        }
        return chunk
    }

    public func cancel() async {
        await onCancel()
        await closeDescriptor()
    }

    /// Closes on the reader thread, after any read in flight: never closes a descriptor
    /// another thread is blocked on (the number could be reused under it).
    private func closeDescriptor() async {
        guard let fd = fd.withLock({ value -> Int32? in defer { value = nil }; return value }) else { return }
        _ = try? await io.run { POSIX.close(fd) }
        io.stop()
    }
}
