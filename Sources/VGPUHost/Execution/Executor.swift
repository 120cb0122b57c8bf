import VGPUCore

/// Carries out one step. The host runner dispatches to sysfs, libvirt and the definition store; tests use fakes.
public protocol StepRunner {
    func run(_ step: Step) throws
}

/// Runs every Plan the same way: steps in order, and on failure the done steps undone in reverse, so an
/// operation either completes or leaves the host as it found it.
public struct Executor {
    public let runner: StepRunner

    public init(runner: StepRunner) {
        self.runner = runner
    }

    public func execute(_ plan: Plan) throws {
        var done: [Step] = []
        for step in plan.steps {
            do {
                try runner.run(step)
                done.append(step)
            } catch {
                let failures = rollBack(done)
                throw Self.failure(error, at: step, undone: done.count, undoFailures: failures)
            }
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
