import Dispatch
import Foundation
import Synchronization

/// SIGTERM (Kubernetes deleting the Job's pod) and SIGINT (Ctrl-C) cancel the running command
/// instead of killing the process: cancellation stops the transfer, the pipeline aborts the
/// multipart upload or removes the partial file, child processes (pg_dump, gzip) get SIGTERM
/// from their stream's cancel, and the result says `Terminated`. If that takes longer than
/// `gracePeriod`, the process exits 143 anyway (the kubelet's SIGKILL would come next).
/// With no command running, a signal keeps its default meaning.
enum TerminationSignals {
    static let gracePeriod: Duration = .seconds(25)

    private struct Running {
        var workDirectory: String
        var cancel: @Sendable () -> Void
        var signal: Int32?
    }

    private struct State {
        var installed = false
        var running: [UInt64: Running] = [:]
        var nextToken: UInt64 = 0
        var sources: [any DispatchSourceSignal] = []
    }
    private static let state = Mutex(State())

    /// Runs `body` in a task that a signal cancels; a failure after a signal is reported as `Terminated`.
    static func run(context: AgentContext, _ body: @escaping @Sendable () async -> AgentOutcome) async -> AgentOutcome {
        install(progress: context.progress)
        let task = Task { await body() }
        let token = state.withLock { state -> UInt64 in
            state.nextToken += 1
            state.running[state.nextToken] = Running(workDirectory: context.workDirectory, cancel: { task.cancel() })
            return state.nextToken
        }
        var outcome = await task.value
        let signal = state.withLock { $0.running.removeValue(forKey: token)?.signal }
        if let signal, outcome.exitCode != AgentExitCode.success, var result = outcome.result.objectValue {
            let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
            result["reason"] = .string(AgentError.Reason.terminated.rawValue)
            result["message"] = .string("stopped by \(name); the transfer was aborted (\(result["message"]?.stringValue ?? ""))")
            result["exitCode"] = .int(Int64(AgentError.Reason.terminated.exitCode))
            outcome = AgentOutcome(result: .object(result), exitCode: AgentError.Reason.terminated.exitCode)
        }
        return outcome
    }

    private static func install(progress: ProgressLog) {
        state.withLock { state in
            guard !state.installed else { return }
            state.installed = true
            for number in [SIGTERM, SIGINT] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { received(number, workDirectory: nil, progress: progress) }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// Cancels the running commands (those working in `workDirectory`, or all).
    static func received(_ number: Int32, workDirectory: String?, progress: ProgressLog) {
        let cancels = state.withLock { state -> [@Sendable () -> Void] in
            var cancels: [@Sendable () -> Void] = []
            for (token, entry) in state.running where workDirectory == nil || entry.workDirectory == workDirectory {
                state.running[token]?.signal = entry.signal ?? number
                cancels.append(entry.cancel)
            }
            return cancels
        }
        guard !cancels.isEmpty else {
            if workDirectory == nil {
                signal(number, SIG_DFL)
                kill(getpid(), number)
            }
            return
        }
        progress("agent: \(number == SIGINT ? "SIGINT" : "SIGTERM") received, aborting")
        for cancel in cancels { cancel() }
        guard workDirectory == nil else { return }
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: Double(gracePeriod.components.seconds))
            if state.withLock({ !$0.running.isEmpty }) {
                progress("agent: still running \(gracePeriod) after the signal; exiting")
                exit(143)
            }
        }
    }
}
