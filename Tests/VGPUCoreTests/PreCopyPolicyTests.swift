import Testing
@testable import VGPUCore

@Suite struct PreCopyPolicyTests {
    /// A sample with `leftMB` megabytes left on a 1 GB/s link: predicted downtime = leftMB ms.
    static func sample(_ elapsed: Double, leftMB: Double, device: UInt64? = nil) -> MigrationSample {
        MigrationSample(elapsed: elapsed, iteration: 1, ramRemaining: UInt64(leftMB * 1e6), dirtyRate: 1e8,
                        bandwidth: 1e9, deviceRemaining: device)
    }

    static func run(_ policy: inout AdaptivePreCopyPolicy, _ leftMB: [Double]) -> [PreCopyDecision] {
        leftMB.enumerated().map { policy.decide(sample(Double($0.offset), leftMB: $0.element)) }
    }

    static func kind(_ decision: PreCopyDecision) -> String {
        switch decision {
        case .keepCopying: return "keep"
        case .raiseDowntime(let ms, _): return "raise \(Int(ms))"
        case .switchOver: return "switch"
        case .abort: return "abort"
        }
    }

    @Test func switchesOverAsSoonAsThePredictionFits() {
        var policy = AdaptivePreCopyPolicy()
        let decisions = Self.run(&policy, [400, 200, 100, 19])
        #expect(decisions.map(Self.kind) == ["keep", "keep", "keep", "switch"])
        #expect(decisions[3].explanation.contains("predicted downtime 19 ms fits the allowed 20 ms"))
    }

    @Test func raisesOnlyWhileTheRemainderHasStoppedShrinking() {
        var policy = AdaptivePreCopyPolicy()
        // Shrinking, then stuck at 40 MB (40 ms): wait `patience` samples, then raise one 1.5x step per sample.
        let decisions = Self.run(&policy, [400, 100, 40, 40, 40, 41, 40])
        #expect(decisions.map(Self.kind) == ["keep", "keep", "keep", "keep", "raise 30", "raise 45", "switch"])
        #expect(decisions[4].explanation.hasPrefix("stalled at"))
    }

    @Test func theRaiseIsWithdrawnWhenTheRemainderShrinksAgain() {
        var policy = AdaptivePreCopyPolicy()
        // Stalled at 900 MB (a dirty burst) long enough to raise to 45 ms, then the burst ends.
        let decisions = Self.run(&policy, [900, 900, 900, 900, 40])
        #expect(decisions.map(Self.kind) == ["keep", "keep", "raise 30", "raise 45", "keep"])
        #expect(policy.allowedMs == 20)
        #expect(decisions[4].explanation.contains("allowance back to 20 ms"))
    }

    @Test func theCapHoldsAndANonConvergingMigrationIsAborted() {
        var settings = AdaptivePreCopyPolicy.Settings()
        settings.capMs = 40
        settings.patienceAtCap = 3
        var policy = AdaptivePreCopyPolicy(settings)
        let decisions = Self.run(&policy, Array(repeating: 500, count: 7))
        let expected = ["keep", "keep", "raise 30", "raise 40", "keep", "keep", "abort"]
        #expect(decisions.map(Self.kind) == expected)
        #expect(decisions[6].explanation.hasPrefix("not converging at the cap: predicted downtime 500 ms > 40 ms"))
    }

    @Test func timeoutAborts() {
        var settings = AdaptivePreCopyPolicy.Settings()
        settings.timeout = 10
        var policy = AdaptivePreCopyPolicy(settings)
        let decision = policy.decide(Self.sample(10, leftMB: 5000))
        #expect(Self.kind(decision) == "abort")
        #expect(decision.explanation.hasPrefix("timeout: 10 s elapsed (limit 10 s)"))
    }

    @Test func deviceBytesCountWhenKnownAndTheLogSaysWhenNot() {
        var policy = AdaptivePreCopyPolicy()
        // 10 MB of RAM fits 20 ms alone, but not with 100 MB of device state.
        #expect(Self.kind(policy.decide(Self.sample(0, leftMB: 10, device: 100_000_000))) == "keep")
        var blind = AdaptivePreCopyPolicy()
        let decision = blind.decide(Self.sample(0, leftMB: 10))
        #expect(Self.kind(decision) == "switch")
        #expect(decision.explanation.contains("RAM only: device size unknown"))
    }

    @Test func stepUpFollowsNovasSchedule() {
        let policy = StepUpPolicy(maxMs: 500, steps: 10, delayPerGiB: 75, dataBytes: 1 << 31)
        #expect(policy.stepSeconds == 150)
        #expect(policy.limit(step: 0) == 50 && policy.limit(step: 10) == 500 && policy.limit(step: 1) == 95)
    }
}

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
        #expect(result.decisions.allSatisfy { !$0.decision.explanation.isEmpty })
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

    @Test func simulationIsDeterministic() {
        let trace = Self.trace("bursty")
        let a = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: trace)
        let b = MigrationSimulator.run(AdaptivePreCopyPolicy(), on: trace)
        #expect(a.downtimeMs == b.downtimeMs && a.bytesSent == b.bytesSent && a.decisions.count == b.decisions.count)
    }
}
