import KubeModel

/// The order of work of a step-wise resource (RestoreRequest, DrillRun, SecretRotation) as a
/// value type, in postgres-nio's connection-state-machine shape: `mutating` functions take what
/// happened and return what to do next; the controller performs the action and reports back.
/// No I/O here, so every interleaving (failure, deletion, an operator killed between any two
/// writes) is a table row in the tests.
///
/// The rules it keeps:
/// - **Record before acting.** `.start(step)` means: write `progress` (the step now `Running`,
///   plus whatever undoes it — saved replicas, the previous secret version — which the
///   controller puts in the same status write) and only then act. A controller restarted at any
///   point rebuilds the machine from status and gets `.resume(step)` for a step that was
///   recorded as running: it must act idempotently (deterministic Job names, "scale to the
///   saved count"), never start the step over from scratch with different inputs.
/// - **Always-steps always run.** Steps marked `always` (resume writers, drop scratch, roll
///   back) run after a failed step, after `cancel` (the resource is being deleted) and after a
///   restart, exactly once each: a finished step is never started again.
/// - **A failure skips to the always-steps.** The remaining ordinary steps become `Skipped`;
///   the outcome is the first failure (an always-step failing later does not hide it).
public struct StepMachine<Step: RawRepresentable & Hashable & Sendable>: Sendable where Step.RawValue == String {
    public struct Definition: Sendable, Hashable {
        public var step: Step
        /// Runs even after a failure or a cancellation.
        public var always: Bool
        public init(_ step: Step, always: Bool = false) {
            self.step = step
            self.always = always
        }
    }

    public enum Action: Sendable, Hashable {
        /// Write `progress` to status first (the step is `Running` there), then perform the step.
        case start(Step)
        /// The step was already recorded as running (a previous reconcile or operator): perform
        /// or check it again, idempotently. No status write is needed before acting.
        case resume(Step)
        /// Nothing left to run: write `progress` and the outcome.
        case finished(Outcome)
    }

    public enum Outcome: Sendable, Hashable {
        case succeeded
        /// The first step that failed and why (the message is the step's, for the condition).
        case failed(step: Step, message: String)
        /// Stopped by `cancel` (deletion); the always-steps ran.
        case cancelled(reason: String)
    }

    public let definitions: [Definition]
    /// One entry per definition, in order: what status holds. `StepStatus.name` is `step.rawValue`.
    public private(set) var progress: [StepStatus]
    /// Set by `cancel`; not persisted here (the caller re-derives it, e.g. from `deletionTimestamp`).
    public private(set) var cancellation: String?

    /// Rebuilds the machine from status (`recorded`, possibly empty or from an older step list):
    /// entries are matched by name, unknown ones dropped, missing ones `Pending`.
    public init(_ definitions: [Definition], recorded: [StepStatus] = []) {
        self.definitions = definitions
        progress = definitions.map { d in
            recorded.first { $0.name == d.step.rawValue } ?? StepStatus(name: d.step.rawValue, phase: .pending)
        }
    }

    /// The step to show in printer columns: the running one, else the last one that finished.
    public var currentStep: Step? {
        let index = progress.firstIndex { $0.phase == .running }
            ?? progress.lastIndex { $0.phase == .succeeded || $0.phase == .failed }
        return index.map { definitions[$0].step }
    }

    /// The first failure recorded, if any.
    public var failure: (step: Step, message: String)? {
        guard let i = progress.firstIndex(where: { $0.phase == .failed }) else { return nil }
        return (definitions[i].step, progress[i].message ?? "failed")
    }

    var stopping: Bool { failure != nil || cancellation != nil }

    /// What to do now. Call after rebuilding, and after each `succeeded`/`failed`/`cancel`.
    public mutating func next(now: Time) -> Action {
        if let running = progress.firstIndex(where: { $0.phase == .running }) {
            // An ordinary step interrupted by cancel: it is abandoned, the always-steps follow.
            if cancellation == nil || definitions[running].always { return .resume(definitions[running].step) }
            progress[running].phase = .skipped
            progress[running].finishedAt = now
            progress[running].message = "stopped: \(cancellation ?? "")"
        }
        if stopping { skipOrdinarySteps(now: now) }
        guard let pending = progress.firstIndex(where: { $0.phase == .pending }) else {
            return .finished(outcome)
        }
        progress[pending].phase = .running
        progress[pending].startedAt = now
        progress[pending].finishedAt = nil
        progress[pending].message = nil
        return .start(definitions[pending].step)
    }

    /// The running `step` finished; `job` and `message` are recorded beside it.
    public mutating func succeeded(_ step: Step, now: Time, job: String? = nil, message: String? = nil) {
        finish(step, .succeeded, now: now, job: job, message: message)
    }

    /// The running `step` failed: the ordinary steps after it are skipped, the always-steps run.
    public mutating func failed(_ step: Step, now: Time, job: String? = nil, message: String) {
        finish(step, .failed, now: now, job: job, message: message)
    }

    /// The resource is going away (or the run must stop): no further ordinary step starts;
    /// a running ordinary step is abandoned; always-steps still run. Idempotent.
    public mutating func cancel(reason: String) {
        cancellation = reason
    }

    var outcome: Outcome {
        if let failure { return .failed(step: failure.step, message: failure.message) }
        if let cancellation { return .cancelled(reason: cancellation) }
        return .succeeded
    }

    mutating func finish(_ step: Step, _ phase: StepPhase, now: Time, job: String?, message: String?) {
        // Only a running step can finish: a late or repeated report changes nothing.
        guard let i = definitions.firstIndex(where: { $0.step == step }), progress[i].phase == .running else { return }
        progress[i].phase = phase
        progress[i].finishedAt = now
        if let job { progress[i].job = job }
        progress[i].message = message
    }

    mutating func skipOrdinarySteps(now: Time) {
        for i in progress.indices where progress[i].phase == .pending && !definitions[i].always {
            progress[i].phase = .skipped
            progress[i].finishedAt = now
            progress[i].message = failure.map { "skipped: \($0.step.rawValue) failed" } ?? "skipped: \(cancellation ?? "stopped")"
        }
    }
}
