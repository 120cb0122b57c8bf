import VGPUCore

/// Completes or undoes interrupted operations: a create is undone (every step's inverse, newest first), a
/// destroy is finished (every step again). Both rely on steps being idempotent, since the crash may have hit
/// before or after any of them.
public struct Recovery {
    public let journal: Journal
    public let runner: StepRunner

    public init(journal: Journal, runner: StepRunner) {
        self.journal = journal
        self.runner = runner
    }

    /// Recovers every pending record; returns one line per recovered operation.
    public func run() throws -> [String] {
        var report: [String] = []
        for removed in journal.sweepTemporaries() { report.append("removed \(removed), a temporary file a crash left behind") }
        for record in try journal.pending() {
            let plan = record.plan
            let steps = plan.recovery == .rollBack ? plan.steps.reversed().map(\.inverse) : plan.steps
            for step in steps {
                do {
                    try runner.run(step)
                } catch {
                    let cause = (error as? VGPUError)?.message ?? "\(error)"
                    throw VGPUError(.interrupted,
                                    "an interrupted '\(record.command)' (pid \(record.pid)) could not be \(plan.recovery == .rollBack ? "undone" : "finished"): \(step.summary): \(cause)",
                                    fix: "fix the cause, then run 'vgpuctl recover' (journal: \(journal.path(of: record.id)))")
                }
            }
            try journal.end(record)
            report.append("\(plan.recovery == .rollBack ? "undid" : "finished") interrupted '\(record.command)' (pid \(record.pid), \(plan.steps.count) steps)")
        }
        return report
    }
}
