import Foundation
import Testing
import VGPUCore
@testable import VGPUFixtures

/// The policy on the synthetic traces, against the physical lower bound and the two baselines.
@Suite struct MigrationSimulatorTests {
    static func trace(_ name: String) -> MigrationTrace { MigrationTrace.synthetic.first { $0.name == name }! }
    static let cap = AdaptivePreCopyPolicy.Settings().capMs

    @Test(arguments: MigrationTrace.synthetic.map(\.name))
    func withinTenPercentOfTheLowerBoundWhereConvergenceIsPossible(_ name: String) {
        let result = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: Self.trace(name))
        if result.lowerBoundMs <= Self.cap {
            #expect(result.converged, "\(name): \(result.outcome)")
            #expect((result.ratio ?? .infinity) <= 1.1, "\(name): \(result.downtimeMs ?? -1) ms vs bound \(result.lowerBoundMs) ms")
        } else {
            #expect(!result.converged)
            #expect(result.outcome.hasPrefix("not converging at the cap"), "\(name): \(result.outcome)")
            #expect((result.decisions.last?.elapsed ?? .infinity) < 60, "gives up long before the timeout")
        }
        #expect(!result.decisions.isEmpty && result.decisions.allSatisfy { !$0.decision.explanation.isEmpty })
    }

    @Test func convergingTraceSwitchesAtTheFloor() {
        let result = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: Self.trace("converging"))
        #expect(result.converged && result.ratio! <= 1.1)
        #expect(result.decisions.contains { if case .raiseDowntime = $0.decision { true } else { false } },
                "the floor (~30 ms) is above the 20 ms start: reached by raising")
        let qemu = MigrationSimulator.run(FixedDowntimePolicy(), on: Self.trace("converging"))
        #expect(qemu.converged && qemu.downtimeMs! > result.downtimeMs!, "QEMU switches at the first sample under 300 ms")
    }

    @Test func slowConvergingNeedsEscalation() {
        let trace = Self.trace("slow-converging")
        let ours = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: trace)
        #expect(ours.lowerBoundMs > 300 && ours.converged)
        #expect(!MigrationSimulator.run(FixedDowntimePolicy(), on: trace).converged, "300 ms never fits")
    }

    @Test func nonConvergingIsAbortedAtTheCap() {
        let result = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: Self.trace("non-converging"))
        #expect(!result.converged && result.lowerBoundMs > Self.cap)
        #expect(result.bytesOverState < 5, "aborted early, not after 300 s of copying")
        #expect(!MigrationSimulator.run(FixedDowntimePolicy(), on: Self.trace("non-converging")).converged)
    }

    @Test func burstyWaitsForTheCalm() {
        let result = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: Self.trace("bursty"))
        #expect(result.converged && result.switchoverAt! > 8, "switched over in the calm, not in the burst")
        #expect(result.decisions.contains { if case .raiseDowntime = $0.decision { true } else { false } })
        #expect(result.ratio! <= 1.1)
    }

    @Test func bigDeviceInitialDataIsSentBeforeTheSwitchover() {
        let trace = Self.trace("vgpu-2g-initial")
        let result = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: trace)
        let points = MigrationSimulator.trajectory(trace)
        let initialSentBy = points.first { $0.sample.deviceTransferred >= trace.device!.initialBytes }!.sample.elapsed
        #expect(result.converged && result.switchoverAt! >= initialSentBy)
        #expect(result.downtimeMs! >= Double(trace.device!.stopCopyBytes) / 1.25e9 * 1000, "the stop-copy data is always left")
    }

    @Test func stepUpFollowsNovasSchedule() {
        let policy = StepUpPolicy(maxMs: 500, steps: 10, delayPerGiB: 75, dataBytes: 1 << 31)
        #expect(policy.stepSeconds == 150)
        #expect(policy.limit(step: 0) == 50 && policy.limit(step: 10) == 500 && policy.limit(step: 1) == 95)
    }

    /// Each policy's run on each trace, decision by decision, as stored in Expected/migration-simulator/: a change
    /// to the simulator or a policy shows here as a diff (`VGPUCTL_TEST_REGENERATE_OUTPUT=1` rewrites the files).
    @Test(arguments: MigrationTrace.synthetic.map(\.name))
    func runsMatchTheStoredOnes(_ name: String) throws {
        let trace = Self.trace(name)
        let text = [Self.render(MigrationSimulator.run(AdaptivePreCopyPolicy(), on: trace)),
                    Self.render(MigrationSimulator.run(FixedDowntimePolicy(), on: trace))].joined(separator: "\n")
        expectOutput(text, file: "migration-simulator/\(name).txt")
    }

    static func render(_ result: SimulationResult) -> String {
        func number(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "-" }
        var lines = ["policy \(result.policy) on \(result.trace): converged \(result.converged), switchover at \(number(result.switchoverAt)) s, "
                     + "downtime \(number(result.downtimeMs)) ms (lower bound \(number(result.lowerBoundMs)) ms), sent \(result.bytesSent) of \(result.stateSize) bytes",
                     "outcome: \(result.outcome)"]
        // Every decision that changes something, and how many samples only kept copying (those repeat by the hundred).
        var kept = 0
        for (elapsed, decision) in result.decisions {
            if case .keepCopying = decision { kept += 1; continue }
            lines.append("  \(String(format: "%7.2f", elapsed)) s: \(decision)")
        }
        lines.append("  kept copying at \(kept) samples")
        return lines.joined(separator: "\n") + "\n"
    }
}
