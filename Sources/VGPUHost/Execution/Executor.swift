import VGPUCore

/// Carries out one step. The host runner dispatches to sysfs, libvirt and the definition store; tests use fakes.
/// Every step must be idempotent: recovery may repeat the one a crash interrupted.
public protocol StepRunner {
    func run(_ step: Step) throws
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

    /// Undoes `done` in reverse; returns the undo steps that failed (each with its error).
    func rollBack(_ done: [Step]) -> [(Step, Error)] {
        var failures: [(Step, Error)] = []
        for step in done.reversed() {
            do { try runner.run(step.inverse) } catch { failures.append((step.inverse, error)) }
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
