import AgentContract
import DynamicJSON
import Foundation

/// The whole `backstop agent` invocation, testable without a process: read the spec, run the
/// command, print the result JSON on stdout, write the termination message, return the exit code.
public enum AgentMain {
    public static let terminationLogLimit = 4096

    public struct Invocation: Sendable {
        public var command: String
        public var specFile: String?
        public var specEnv: String?
        /// nil: `/dev/termination-log` when it is writable, else nowhere.
        public var terminationLog: String?
        public var dryRun: Bool

        public init(command: String, specFile: String? = nil, specEnv: String? = nil, terminationLog: String? = nil, dryRun: Bool = false) {
            self.command = command
            self.specFile = specFile
            self.specEnv = specEnv
            self.terminationLog = terminationLog
            self.dryRun = dryRun
        }
    }

    public static func run(_ invocation: Invocation, context: AgentContext = AgentContext(),
                           stdout: @Sendable ([UInt8]) -> Void = { bytes in
                               bytes.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
                           }) async -> AgentOutcome {
        let outcome: AgentOutcome
        do {
            guard let command = AgentCommandKind(rawValue: invocation.command) else {
                throw AgentError(.specInvalid, "unknown command \(invocation.command) (one of \(AgentCommandKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var spec = try AgentSpec.decode(try readSpec(invocation))
            if invocation.dryRun { spec.dryRun = true }
            let request = spec
            outcome = await TerminationSignals.run(context: context) {
                await AgentRunner.run(command, spec: request, context: context)
            }
        } catch {
            let failure = error as? AgentError ?? AgentError(.internal, "\(error)")
            context.progress("agent: \(failure)")
            outcome = AgentOutcome(result: ["command": .string(invocation.command), "ok": false, "exitCode": .int(Int64(failure.reason.exitCode)),
                                            "reason": .string(failure.reason.rawValue), "message": .string(failure.message)],
                                   exitCode: failure.reason.exitCode)
        }
        stdout(outcome.result.serialized(sortedKeys: true, pretty: true) + [10])
        let path = invocation.terminationLog ?? (access("/dev/termination-log", W_OK) == 0 ? "/dev/termination-log" : nil)
        if let path {
            let message = terminationMessage(outcome.result)
            if !FileManager.default.createFile(atPath: path, contents: Data(message)) {
                context.progress("agent: cannot write the termination message to \(path)")
            }
        }
        return outcome
    }

    /// What SIGTERM does, for the commands running in-process with this work directory (the
    /// transfer is aborted, the result says `Terminated`). For in-process hosts and tests.
    public static func terminate(workDirectory: String, progress: ProgressLog = .standardError) {
        TerminationSignals.received(SIGTERM, workDirectory: workDirectory, progress: progress)
    }

    static func readSpec(_ invocation: Invocation) throws -> [UInt8] {
        switch (invocation.specFile, invocation.specEnv) {
        case (let file?, nil):
            guard let data = FileManager.default.contents(atPath: file) else { throw AgentError(.specInvalid, "cannot read spec file \(file)") }
            return Array(data)
        case (nil, let name?):
            guard let text = ProcessInfo.processInfo.environment[name], !text.isEmpty else {
                throw AgentError(.specInvalid, "environment variable \(name) (--spec-env) is not set")
            }
            return Array(text.utf8)
        default:
            throw AgentError(.specInvalid, "give exactly one of --spec FILE or --spec-env VAR")
        }
    }

    /// The result in at most 4 KiB (Kubernetes truncates termination messages at 4096 bytes):
    /// bulky lists go first, then details, keeping what the controller needs to act.
    public static func terminationMessage(_ result: JSONValue) -> [UInt8] {
        var compact = result
        var bytes = compact.serialized(sortedKeys: true)
        let droppable = ["details", "decisions", "artifacts", "orphans", "orphansDeleted", "warnings", "wouldDelete", "guards",
                         "rowCounts", "results", "verification", "target", "durations"]
        for key in droppable where bytes.count > terminationLogLimit {
            guard compact[key] != nil else { continue }
            if key == "verification", let passed = compact["verification"]?["passed"] {
                compact["verification"] = ["passed": passed]  // keep the outcome, drop the checks
            } else {
                compact[key] = nil
            }
            compact["truncated"] = true
            bytes = compact.serialized(sortedKeys: true)
        }
        if bytes.count > terminationLogLimit {
            var minimal: JSONValue = ["truncated": true]
            for key in ["command", "ok", "exitCode", "reason", "artifact", "flagged", "deleted", "kept"] { minimal[key] = result[key] }
            if let message = result["message"]?.stringValue { minimal["message"] = .string(String(message.prefix(1500))) }
            bytes = minimal.serialized(sortedKeys: true)
            if bytes.count > terminationLogLimit {
                minimal["artifact"] = nil
                bytes = minimal.serialized(sortedKeys: true)
            }
        }
        return bytes
    }
}
