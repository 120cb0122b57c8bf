import ArgumentParser
import VGPUCore
import VGPUFixtures

/// `vgpu-fixture simulate-migration`: the pre-copy policies on the synthetic traces, as a table (the benchmark
/// of scripts/bench-migration-policy.sh). Numbers are printed, never asserted.
struct SimulateMigration: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-migration",
        abstract: "Simulate pre-copy on synthetic dirty-rate/bandwidth/device traces: vgpuctl's policy vs QEMU's default vs a Nova-like step-up.",
        discussion: """
            downtime: bytes left at the switchover / bandwidth. bound: the least downtime any switchover moment of
            the trace (up to the timeout) could have had. sent/state: every byte sent (stop-copy included; for an
            aborted migration, all wasted) over RAM + device state. Every policy gets the same operator timeout.
            """)

    @Option(help: "Our policy's cap (ms), as --max-downtime.") var maxDowntime: Double = 1000
    @Option(help: "The operator's timeout for every policy (s).") var timeout: Double = 300
    @Flag(help: "Print each decision of vgpuctl's policy.") var verbose = false

    func run() throws {
        var table = Table("TRACE", "POLICY", "DOWNTIME", "BOUND", "RATIO", "SENT/STATE", "SWITCH AT", "CONVERGED")
        for var trace in MigrationTrace.synthetic {
            trace.timeout = timeout
            var settings = AdaptivePreCopyPolicy.Settings()
            settings.capMs = maxDowntime
            settings.timeout = timeout
            let ours = MigrationSimulator.run(AdaptivePreCopyPolicy(settings), on: trace)
            let results = [ours, MigrationSimulator.run(FixedDowntimePolicy(), on: trace),
                           MigrationSimulator.run(StepUpPolicy(dataBytes: trace.stateSize), on: trace)]
            for result in results {
                table.add(trace.name, result.policy, result.downtimeMs.map { "\(Self.fixed($0, 0)) ms" } ?? "-",
                          "\(Self.fixed(result.lowerBoundMs, 0)) ms", result.ratio.map { Self.fixed($0, 2) } ?? "-",
                          Self.fixed(result.bytesOverState, 2), result.switchoverAt.map { "\(Self.fixed($0, 2)) s" } ?? "-",
                          result.converged ? "yes" : result.outcome.hasPrefix("not converging") ? "no: aborted, not converging at the cap" : "no: timeout")
            }
            if verbose {
                for (elapsed, decision) in ours.decisions { print("  \(trace.name) \(Self.fixed(elapsed, 2)) s: \(decision)") }
            }
        }
        print(table.render())
    }

    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "inf" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        guard digits > 0 else { return "\(scaled)" }
        let fraction = String(abs(scaled) % Int(scale))
        return "\(scaled / Int(scale)).\(String(repeating: "0", count: digits - fraction.count))\(fraction)"
    }
}
