import Controllers
import Foundation
import KubeModel
import Testing

/// The step machine without I/O: the order of steps, failures skipping to the always-steps,
/// cancellation, and an operator killed at every point resuming with the right next action.
@Suite struct StepMachineTests {
    enum Step: String, CaseIterable, Sendable { case validate, quiesce, restore, verify, resume, dropScratch }
    typealias Machine = StepMachine<Step>
    static let definitions: [Machine.Definition] = [
        .init(.validate), .init(.quiesce), .init(.restore), .init(.verify),
        .init(.resume, always: true), .init(.dropScratch, always: true),
    ]
    static let ordinary: [Step] = [.validate, .quiesce, .restore, .verify]
    static let always: [Step] = [.resume, .dropScratch]
    static let now = Time(seconds: 1_780_000_000)

    /// What a run looked like: steps started (status written first), steps resumed after a
    /// crash, and the outcome.
    struct Trace: Equatable {
        var started: [Step] = []
        var resumed: [Step] = []
        var outcome: Machine.Outcome?
        var progress: [StepStatus] = []
    }

    /// Drives a machine like a controller would. `fail` makes that step fail; `crashAt` kills
    /// the operator before the n-th action (the machine is rebuilt from the last status write:
    /// what `.start` and `.finished` persist); `cancelAt` cancels before the n-th action.
    static func drive(fail: Set<Step> = [], crashAt: Set<Int> = [], cancelAt: Int? = nil) -> Trace {
        var trace = Trace()
        var persisted: [StepStatus] = []
        var machine = Machine(definitions)
        var cancelled = false
        for tick in 0..<100 {
            if crashAt.contains(tick) { machine = Machine(definitions, recorded: persisted) }
            if tick == cancelAt { cancelled = true }
            // Cancellation (a deletion timestamp) is seen again by every reconcile.
            if cancelled { machine.cancel(reason: "deleted") }
            let step: Step
            switch machine.next(now: now) {
            case .start(let s):
                persisted = machine.progress  // record BEFORE acting
                trace.started.append(s)
                step = s
            case .resume(let s):
                trace.resumed.append(s)
                step = s
            case .finished(let outcome):
                persisted = machine.progress
                trace.outcome = outcome
                trace.progress = persisted
                return trace
            }
            if fail.contains(step) {
                machine.failed(step, now: now, message: "\(step.rawValue) broke")
            } else {
                machine.succeeded(step, now: now, job: "job-\(step.rawValue)")
            }
        }
        Issue.record("the machine did not finish")
        return trace
    }

    @Test func allStepsRunInOrderOnce() {
        let t = Self.drive()
        #expect(t.started == Step.allCases)
        #expect(t.resumed.isEmpty)
        #expect(t.outcome == .succeeded)
        #expect(t.progress.allSatisfy { $0.phase == .succeeded && $0.startedAt != nil && $0.finishedAt != nil })
        #expect(t.progress.map(\.job) == Step.allCases.map { "job-\($0.rawValue)" })
    }

    /// A failed ordinary step: the later ordinary steps are skipped, the always-steps run once.
    @Test(arguments: ordinary)
    func aFailedStepSkipsToTheAlwaysSteps(_ failing: Step) {
        let t = Self.drive(fail: [failing])
        let index = Self.ordinary.firstIndex(of: failing)!
        #expect(t.started == Array(Self.ordinary[...index]) + Self.always)
        #expect(t.outcome == .failed(step: failing, message: "\(failing.rawValue) broke"))
        for (step, status) in zip(Step.allCases, t.progress) {
            let expected: StepPhase = step == failing ? .failed
                : Self.always.contains(step) || Self.ordinary.firstIndex(of: step)! < index ? .succeeded : .skipped
            #expect(status.phase == expected, "\(step)")
        }
    }

    /// A failing always-step does not stop the other always-step, and the first failure is the outcome.
    @Test func aFailingAlwaysStepStillLetsTheNextOneRun() {
        let t = Self.drive(fail: [.restore, .resume])
        #expect(t.started == [.validate, .quiesce, .restore, .resume, .dropScratch])
        #expect(t.outcome == .failed(step: .restore, message: "restore broke"))
    }

    /// Cancelled (deleted) before the n-th action: no ordinary step starts afterwards, a running
    /// ordinary step is abandoned, the always-steps run exactly once.
    @Test(arguments: 0...4)
    func cancellationRunsTheAlwaysSteps(_ at: Int) {
        let t = Self.drive(cancelAt: at)
        #expect(t.started == Array(Self.ordinary.prefix(at)) + Self.always)
        #expect(t.outcome == .cancelled(reason: "deleted"))
        #expect(t.progress.filter { $0.phase == .skipped }.count == Self.ordinary.count - at)
    }

    /// Killed before each action, with and without a failure: every step starts at most once,
    /// each always-step exactly once, the interrupted step is resumed (not restarted), and the
    /// outcome is what an uninterrupted run gives.
    @Test(arguments: [nil, Step.validate, .quiesce, .restore, .verify, .resume])
    func crashAtEveryPointResumes(_ failing: Step?) {
        let fail: Set<Step> = failing.map { [$0] } ?? []
        let clean = Self.drive(fail: fail)
        for crash in 1...(clean.started.count * 2 + 1) {
            let t = Self.drive(fail: fail, crashAt: [crash])
            #expect(t.started == clean.started, "crash before action \(crash)")
            #expect(t.outcome == clean.outcome, "crash before action \(crash)")
            #expect(Dictionary(grouping: t.started) { $0 }.values.allSatisfy { $0.count == 1 })
            for step in Self.always { #expect(t.started.filter { $0 == step }.count == 1) }
            // A step recorded as running when the operator died comes back as `.resume`.
            #expect(t.resumed.count <= 1)
        }
    }

    /// Several crashes in one run, even back to back.
    @Test func repeatedCrashesStillFinishOnce() {
        let t = Self.drive(fail: [.verify], crashAt: [1, 2, 3, 5, 8, 9])
        #expect(t.started == [.validate, .quiesce, .restore, .verify, .resume, .dropScratch])
        #expect(t.outcome == .failed(step: .verify, message: "verify broke"))
    }

    @Test func aStepRecordedAsRunningIsResumedNotStarted() {
        var recorded = Machine(Self.definitions)
        _ = recorded.next(now: Self.now)  // validate
        recorded.succeeded(.validate, now: Self.now)
        _ = recorded.next(now: Self.now)  // quiesce, recorded as Running
        var rebuilt = Machine(Self.definitions, recorded: recorded.progress)
        #expect(rebuilt.currentStep == .quiesce)
        #expect(rebuilt.next(now: Self.now) == .resume(.quiesce))
        #expect(rebuilt.next(now: Self.now) == .resume(.quiesce))  // still running: ask again, never restart
    }

    @Test func lateOrRepeatedReportsChangeNothing() {
        var m = Machine(Self.definitions)
        _ = m.next(now: Self.now)
        m.succeeded(.validate, now: Self.now)
        let after = m.progress
        m.failed(.validate, now: Self.now, message: "late")   // already finished
        m.succeeded(.restore, now: Self.now)                  // never started
        #expect(m.progress == after)
    }

    @Test func statusFromAnOlderStepListIsMatchedByName() {
        let old = [StepStatus(name: "validate", phase: .succeeded), StepStatus(name: "renamedStep", phase: .succeeded)]
        var m = Machine(Self.definitions, recorded: old)
        #expect(m.progress.count == Step.allCases.count)
        #expect(m.next(now: Self.now) == .start(.quiesce))
    }

    @Test func cancellingWhileAnOrdinaryStepRunsAbandonsIt() {
        var m = Machine(Self.definitions)
        _ = m.next(now: Self.now)
        m.succeeded(.validate, now: Self.now)
        #expect(m.next(now: Self.now) == .start(.quiesce))
        m.cancel(reason: "deleted")
        #expect(m.next(now: Self.now) == .start(.resume))
        #expect(m.progress[1].phase == .skipped)
        #expect(m.progress[2].phase == .skipped && m.progress[3].phase == .skipped)
        // An always-step that is running when the cancel comes is carried on, not abandoned.
        m.cancel(reason: "deleted")
        #expect(m.next(now: Self.now) == .resume(.resume))
    }
}
