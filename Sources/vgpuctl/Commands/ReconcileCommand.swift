import ArgumentParser
import VGPUApp
import VGPUCore

struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Bring vGPUs in line with definitions and domains: start what is missing, report (or prune) orphans.",
        discussion: """
            Desired state: auto definitions; the vGPUs running domains use; what autostart domains reference; what
            domains' vgpuctl metadata asks for (persistent lifetime), and domain-lifetime vGPUs gone while their
            domain is off; interrupted operations in the journal. Actual state: sysfs and libvirt. Each action runs
            on its own; orphans (running vGPUs no domain references and no definition describes) are only reported
            unless --prune. What cannot be fixed (a domain naming a UUID nobody defined, two domains sharing one)
            is reported. Running it twice changes nothing the second time.

            EXIT CODES (besides those below): with --dry-run, 0 when there is nothing to do and 2 when it would
            act (for cron and monitoring, like 'terraform plan -detailed-exitcode'); without, 0 when every action
            succeeded and 8 when one failed.

            EXAMPLES:
              vgpuctl reconcile --dry-run          what would change; exit 2 if anything
              vgpuctl reconcile --prune --json     act, also removing orphans
            """)

    @OptionGroup var host: HostOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var lock: LockOptions
    @OptionGroup var libvirt: LibvirtOptions
    @Flag(help: "Change nothing; exit 2 if anything would be done.") var dryRun = false
    @Flag(help: "Also remove orphan vGPUs.") var prune = false

    func run() throws {
        let application = host.application(lock: lock, libvirt: libvirt, command: "vgpuctl reconcile")
        let outcome = try dryRun ? application.read(PreviewReconcile(prune: prune)) : application.run(Reconcile(prune: prune))
        if output.json { try JSONOutput.print(ReconcileJSON(outcome)) } else { Console.out(Self.text(outcome)) }
        if dryRun && outcome.acts { throw ExitCode(2) }
        if outcome.failures > 0 {
            throw VGPUError(.host, "\(outcome.failures) reconcile action(s) failed (see above)", fix: "fix each cause, then run 'vgpuctl reconcile' again")
        }
    }

    static func text(_ outcome: Reconcile.Outcome) -> String {
        var lines: [String] = []
        let verb = outcome.dryRun ? "would" : "did"
        for line in outcome.interrupted { lines.append("\(verb) recover: \(line)") }
        for (index, action) in outcome.report.actions.enumerated() {
            let result: String
            if index < outcome.results.count, case .failure(let error) = outcome.results[index] { result = "FAILED: \(error.message)" } else { result = verb }
            lines.append("\(result): \(action.plan.steps.map(\.summary).joined(separator: "; ")) (\(action.reason))")
        }
        for vgpu in outcome.report.orphans { lines.append("orphan: vGPU \(vgpu.uuid) (\(vgpu.type) on \(vgpu.parent)); --prune removes it") }
        for problem in outcome.report.problems { lines.append("cannot fix: \(problem)") }
        if lines.isEmpty { lines.append("nothing to do") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `reconcile --json`: {"dry_run", "actions": [{"reason", "steps", "result"?, "error"?}], "orphans": [vGPU],
/// "problems": [text], "recovered": [text]}.
struct ReconcileJSON: Encodable {
    struct Action: Encodable {
        let reason: String
        let steps: [String]
        let result: String?
        let error: String?
    }
    let dryRun: Bool
    let actions: [Action]
    let orphans: [VGPU]
    let problems: [String]
    let recovered: [String]

    init(_ outcome: Reconcile.Outcome) {
        dryRun = outcome.dryRun
        actions = outcome.report.actions.enumerated().map { index, action in
            let result = index < outcome.results.count ? outcome.results[index] : nil
            var error: String?
            if case .failure(let failure) = result { error = failure.message }
            return Action(reason: action.reason, steps: action.plan.steps.map(\.summary),
                          result: result == nil ? nil : (error == nil ? "done" : "failed"), error: error)
        }
        orphans = outcome.report.orphans
        problems = outcome.report.problems
        recovered = outcome.interrupted
    }

    enum CodingKeys: String, CodingKey { case dryRun = "dry_run", actions, orphans, problems, recovered }
}
