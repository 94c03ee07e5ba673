import CCurl
import Foundation
import Synchronization

/// The curl-multi event loop: one dedicated thread owns the multi handle and every easy handle.
/// Other threads talk to it only through `submit`, which queues a command and wakes
/// `curl_multi_poll`. The multi handle's connection cache gives connection reuse and HTTP/2
/// multiplexing across requests.
final class CurlLoop: @unchecked Sendable {
    enum Command {
        case add(Transfer)
        /// Remove a cancelled transfer's handle (closing its connection).
        case abort(Transfer)
        /// Reader or body source caught up: unpause the directions no longer blocked.
        case unpause(Transfer)
        /// Exit once no transfer is active (the client was released).
        case shutdown
    }

    private struct Inbox {
        var commands: [Command] = []
        var closed = false
    }

    private let inbox = Mutex(Inbox())
    private let multi: UnsafeMutableRawPointer
    // Loop thread only.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var shuttingDown = false
    private var toFlush: [Transfer] = []

    init(configuration: HTTPClientConfiguration) {
        // Thread-safe in this libcurl ("threadsafe" feature); reference counted.
        backstop_openssl_keep_at_exit()
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        multi = curl_multi_init()
        _ = backstop_multi_setopt_long(multi, CURLMOPT_PIPELINING, backstop_pipe_multiplex)
        _ = backstop_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxCachedConnections)
        let thread = Thread { [self] in run() }
        thread.name = "backstop-curl"
        thread.start()
    }

    /// Queues a command for the loop thread. A command sent after the loop exited fails its
    /// transfer instead (only possible for a client that is being released).
    func submit(_ command: Command) {
        let accepted = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.commands.append(command)
            // Under the lock, so the multi handle cannot be freed meanwhile.
            curl_multi_wakeup(multi)
            return true
        }
        if !accepted, case .add(let transfer) = command { Self.failClosed(transfer) }
    }

    private static func failClosed(_ transfer: Transfer) {
        transfer.finish(.failure(HTTPError(kind: .cancelled, message: "the HTTP client was shut down",
                                           request: transfer.requestDescription)), head: nil)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let commands = inbox.withLock { inbox in
                defer { inbox.commands.removeAll(keepingCapacity: true) }
                return inbox.commands
            }
            for command in commands { handle(command) }
            flushWaiters()  // unpausing can deliver held data, and with it a head
            if shuttingDown && active.isEmpty { break }
            curl_multi_perform(multi, &running)
            collectFinished()
            flushWaiters()
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        let leftovers = inbox.withLock { inbox in
            inbox.closed = true
            return inbox.commands
        }
        for case .add(let transfer) in leftovers { Self.failClosed(transfer) }
        curl_multi_cleanup(multi)
    }

    private func handle(_ command: Command) {
        switch command {
        case .add(let transfer):
            if let error = transfer.makeEasyHandle() {
                transfer.releaseEasyHandle()
                transfer.finish(.failure(error), head: nil)
                return
            }
            guard let easy = transfer.easy else { return }
            let code = curl_multi_add_handle(multi, easy)
            guard code == CURLM_OK else {
                transfer.releaseEasyHandle()
                transfer.finish(.failure(HTTPError(kind: .other, message: String(cString: curl_multi_strerror(code)),
                                                   request: transfer.requestDescription)), head: nil)
                return
            }
            active[easy] = transfer
            // Cancelled while queued: the abort command ran before the handle existed.
            if transfer.state.withLock({ $0.outcome != nil }) { remove(transfer) }
        case .abort(let transfer):
            remove(transfer)
        case .unpause(let transfer):
            guard let easy = transfer.easy, active[easy] != nil else { return }
            let paused = transfer.pausedDirections
            let mask = (paused.recv ? backstop_pause_recv : 0) | (paused.send ? backstop_pause_send : 0)
            // May call the write/read callbacks right here to deliver held data.
            curl_easy_pause(easy, Int32(mask))
        case .shutdown:
            shuttingDown = true
        }
    }

    private func remove(_ transfer: Transfer) {
        guard let easy = transfer.easy, active.removeValue(forKey: easy) != nil else { return }
        curl_multi_remove_handle(multi, easy)
        transfer.releaseEasyHandle()
        // Normally already finished by `cancel`; this covers any other path.
        transfer.finish(.failure(.cancelled(transfer.requestDescription)), head: nil)
    }

    /// From a callback on the loop thread: wake this transfer's waiters after the current pass,
    /// so everything libcurl read in the pass is handed over at once.
    func flushAfterPass(_ transfer: Transfer) {
        guard !transfer.queuedForFlush else { return }
        transfer.queuedForFlush = true
        toFlush.append(transfer)
    }

    private func flushWaiters() {
        for transfer in toFlush {
            transfer.queuedForFlush = false
            transfer.flush()
        }
        toFlush.removeAll(keepingCapacity: true)
    }

    private func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                  let transfer = active.removeValue(forKey: easy) else { continue }
            let code = backstop_msg_result(message)
            curl_multi_remove_handle(multi, easy)
            transfer.complete(code)
        }
    }
}
