import Dispatch
import VGPUCore

/// Carries out one step. The host runner dispatches to sysfs, libvirt and the definition store; tests use fakes.
/// Every step must be idempotent: recovery may repeat the one a crash interrupted.
public protocol StepRunner {
    func run(_ step: Step) throws
    /// `run`, except that files the step writes need be durable only after `makeDurable()`: for a journaled plan
    /// of many steps, whose record stays until then, so a power loss before it is undone like any crash.
    func runDeferringDurability(_ step: Step) throws
    /// Makes durable everything `runDeferringDurability` wrote.
    func makeDurable() throws
}

extension StepRunner {
    public func runDeferringDurability(_ step: Step) throws { try run(step) }
    public func makeDurable() throws {}
}

/// Runs every Plan the same way: a multi-step plan is recorded in the journal first, then its steps run in
/// order, and on failure the done steps are undone in reverse, so an operation either completes or leaves the
/// host as it found it. If the process dies instead, the journal record lets `Recovery` do the same later.
public struct Executor {
    public let runner: StepRunner
    public let journal: Journal?
    /// What the journal records as the command (the command line).
    public let command: String

    public init(runner: StepRunner, journal: Journal? = nil, command: String = "vgpuctl") {
        self.runner = runner
        self.journal = journal
        self.command = command
    }

    public func execute(_ plan: Plan) throws {
        // A single step is atomic in the kernel or libvirt; it needs no record.
        let record = plan.steps.count > 1 ? try journal?.begin(plan, command: command) : nil
        var done: [Step] = []
        for step in plan.steps {
            do {
                try runner.run(step)
                done.append(step)
            } catch {
                let failures = rollBack(done)
                // An incomplete rollback keeps the record: `vgpuctl recover` retries it.
                if failures.isEmpty, let record { try? journal?.end(record) }
                throw Self.failure(error, at: step, undone: done.count, undoFailures: failures)
            }
        }
        guard let record, let journal else { return }
        do {
            try journal.end(record)
        } catch {
            // The record would make the next recovery undo a finished create: undo it now instead, so the
            // command's failure means "nothing happened". A finished destroy stays finished.
            if plan.recovery == .rollBack, rollBack(done).isEmpty { try? journal.end(record) }
            throw error
        }
    }

    /// Runs a plan whose steps fall into independent lanes (`apply`: one per physical GPU), up to `parallelism`
    /// lanes at once, each lane's steps in order; `laneDone` is called (on the lane's thread) as each lane completes.
    ///
    /// The least invasive way to keep one mechanism for crashes: the plan is journaled whole before any lane
    /// starts, exactly as `execute` does, and nothing else is written per step. Lanes are contiguous, disjoint
    /// ranges of `plan.steps` and touch disjoint devices, and every step is idempotent, so `Recovery`'s undo of the
    /// whole record (every step's inverse, newest first) undoes each lane in its own reverse order whichever lanes
    /// had run, part-run or not started when the process died: a kill -9 anywhere leaves all-or-nothing. In
    /// process, the first failure stops every lane at its next step; then each lane's done steps are undone in
    /// reverse, as `execute` does, and the record is kept only if an undo failed.
    ///
    /// Definition files are written without a sync each, which would dominate a large apply's time: one
    /// `makeDurable()` before the record ends covers them all.
    public func execute(_ plan: Plan, lanes: [Range<Int>], parallelism: Int, laneDone: @escaping @Sendable (Int) -> Void = { _ in }) throws {
        precondition(lanes.reduce(0) { $0 + $1.count } == plan.steps.count, "lanes cover the plan")
        let record = plan.steps.count > 1 ? try journal?.begin(plan, command: command) : nil
        let state = LaneState(lanes: lanes.count)
        let runner = UncheckedRunner(runner: runner)
        let steps = plan.steps
        let work: @Sendable () -> Void = {
            while let lane = state.next() {
                var completed = true
                for index in lanes[lane] {
                    guard !state.stopped else { completed = false; break }
                    do {
                        try runner.runner.runDeferringDurability(steps[index])
                        state.done(steps[index], lane: lane)
                    } catch {
                        state.fail(steps[index], error, lane: lane)
                        completed = false
                        break
                    }
                }
                if completed { laneDone(lane) }
            }
        }
        let workers = max(1, min(parallelism, lanes.count))
        if workers == 1 {
            work()
        } else {
            // Threads of their own (serial queues on the overcommitting pool), not concurrentPerform's one per
            // core: a sysfs create blocks in the vendor driver, so more lanes than cores still run side by side.
            let group = DispatchGroup()
            for worker in 0..<workers { DispatchQueue(label: "vgpuctl.lane.\(worker)").async(group: group, execute: work) }
            group.wait()
        }
        if let failure = state.failure {
            var failures: [(Step, Error)] = []
            for done in state.doneSteps.reversed() { failures += rollBack(done, deferringDurability: true) }
            if failures.isEmpty, let record, (try? runner.runner.makeDurable()) != nil { try? journal?.end(record) }
            throw Self.failure(failure.error, at: failure.step, undone: state.doneSteps.reduce(0) { $0 + $1.count }, undoFailures: failures)
        }
        do {
            try runner.runner.makeDurable()
            guard let record, let journal else { return }
            try journal.end(record)
        } catch {
            if plan.recovery == .rollBack, let record, let journal,
               state.doneSteps.reversed().flatMap({ rollBack($0) }).isEmpty { try? journal.end(record) }
            throw error
        }
    }

    /// Undoes `done` in reverse; returns the undo steps that failed (each with its error).
    func rollBack(_ done: [Step], deferringDurability: Bool = false) -> [(Step, Error)] {
        var failures: [(Step, Error)] = []
        for step in done.reversed() {
            do {
                if deferringDurability { try runner.runDeferringDurability(step.inverse) } else { try runner.run(step.inverse) }
            } catch { failures.append((step.inverse, error)) }
        }
        return failures
    }

    static func failure(_ error: Error, at step: Step, undone: Int, undoFailures: [(Step, Error)]) -> VGPUError {
        let cause = error as? VGPUError ?? VGPUError(.internalError, "\(error)")
        var message = "\(step.summary) failed: \(cause.message)"
        if undone > 0 {
            message += undoFailures.isEmpty
                ? "\n  rolled back: the \(undone) step(s) already done were undone; nothing was left behind"
                : "\n  rollback incomplete: " + undoFailures.map { "\($0.0.summary): \($0.1)" }.joined(separator: "; ")
        }
        return VGPUError(cause.kind, message, fix: undoFailures.isEmpty ? cause.fix : "run 'vgpuctl recover', then check 'vgpuctl list'")
    }
}

/// The lanes' shared state: which lane is next, each lane's done steps, the first failure.
private final class LaneState: @unchecked Sendable {
    private let mutex = Mutex()
    private var nextLane = 0
    private let count: Int
    private var done: [[Step]]
    private var firstFailure: (step: Step, error: Error)?

    init(lanes: Int) {
        count = lanes
        done = Array(repeating: [], count: lanes)
    }

    func next() -> Int? {
        mutex.withLock {
            guard firstFailure == nil, nextLane < count else { return nil }
            defer { nextLane += 1 }
            return nextLane
        }
    }
    var stopped: Bool { mutex.withLock { firstFailure != nil } }
    func done(_ step: Step, lane: Int) { mutex.withLock { done[lane].append(step) } }
    func fail(_ step: Step, _ error: Error, lane: Int) { mutex.withLock { if firstFailure == nil { firstFailure = (step, error) } } }
    var failure: (step: Step, error: Error)? { mutex.withLock { firstFailure } }
    var doneSteps: [[Step]] { mutex.withLock { done } }
}

/// A runner handed to lane threads. The host runner's steps that lanes run (sysfs writes, definition files) go
/// through `SystemCalls`, which is Sendable, and touch each lane's own files.
private struct UncheckedRunner: @unchecked Sendable {
    let runner: StepRunner
}
