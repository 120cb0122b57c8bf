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
}
