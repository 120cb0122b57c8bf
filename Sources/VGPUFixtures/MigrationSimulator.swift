import VGPUCore

/// A synthetic pre-copy migration: a guest's RAM and (optionally) a vGPU's state, with dirty-rate and
/// bandwidth phases that repeat. Deterministic: the same trace always gives the same numbers.
public struct MigrationTrace: Sendable {
    /// A stretch of time with one dirty rate and one bandwidth (bytes per second).
    public struct Phase: Sendable {
        public var seconds: Double
        public var dirtyRate: Double
        public var bandwidth: Double
        public init(seconds: Double, dirtyRate: Double, bandwidth: Double) {
            self.seconds = seconds
            self.dirtyRate = dirtyRate
            self.bandwidth = bandwidth
        }
    }

    /// A VFIO device's migration data: `initialBytes` readable in PRE_COPY (PRECOPY_INFO's initial_bytes),
    /// state it re-dirties while running (dirty_bytes, bounded by its working set), and what only STOP_COPY yields.
    public struct Device: Sendable {
        public var initialBytes: UInt64
        public var dirtyRate: Double
        public var workingSet: UInt64
        public var stopCopyBytes: UInt64
        public init(initialBytes: UInt64, dirtyRate: Double, workingSet: UInt64, stopCopyBytes: UInt64) {
            self.initialBytes = initialBytes
            self.dirtyRate = dirtyRate
            self.workingSet = workingSet
            self.stopCopyBytes = stopCopyBytes
        }
    }

    public var name: String
    public var ramBytes: UInt64
    /// The guest's hot pages: the dirty set grows towards it, slower as more of it is already dirty.
    public var workingSet: UInt64
    public var phases: [Phase]
    public var device: Device?
    /// Seconds between samples (libvirt job-stat polls); the policy can switch over only at a sample.
    public var sampleInterval: Double = 0.25
    /// The operator's limit for every policy, baselines included (QEMU itself never gives up).
    public var timeout: Double = 300

    public init(name: String, ramBytes: UInt64, workingSet: UInt64, phases: [Phase], device: Device? = nil) {
        self.name = name
        self.ramBytes = ramBytes
        self.workingSet = workingSet
        self.phases = phases
        self.device = device
    }

    /// Everything the destination must receive once: RAM plus the device's whole state.
    public var stateSize: UInt64 { ramBytes + (device.map { $0.initialBytes + $0.stopCopyBytes } ?? 0) }

    func phase(at time: Double) -> Phase {
        let cycle = phases.reduce(0) { $0 + $1.seconds }
        var offset = time.truncatingRemainder(dividingBy: cycle)
        for phase in phases {
            if offset < phase.seconds { return phase }
            offset -= phase.seconds
        }
        return phases[phases.count - 1]
    }
}

/// How one policy did on one trace.
public struct SimulationResult: Sendable {
    public var policy: String
    public var trace: String
    public var converged: Bool
    /// Seconds into the migration at which the guest was stopped (nil: never).
    public var switchoverAt: Double?
    /// The downtime the switchover cost: bytes left then / bandwidth then.
    public var downtimeMs: Double?
    /// The least downtime any switchover moment of this trace (up to its timeout) could have cost.
    public var lowerBoundMs: Double
    /// Every byte put on the wire, the stop-copy included (an aborted migration's bytes are all wasted).
    public var bytesSent: UInt64
    public var stateSize: UInt64
    /// The last decision's explanation: why it switched over or gave up.
    public var outcome: String
    public var decisions: [(elapsed: Double, decision: PreCopyDecision)]

    public var ratio: Double? { downtimeMs.map { lowerBoundMs > 0 ? $0 / lowerBoundMs : 1 } }
    public var bytesOverState: Double { Double(bytesSent) / Double(max(stateSize, 1)) }
}

/// Plays a trace, sample by sample, and lets a policy decide when to switch over.
///
/// The copy itself does not depend on the policy (the link sends what it can; the guest dirties what it
/// does), only the moment of switchover does. So the remainder's trajectory is computed once per trace, and its
/// lowest point over the timeout is the physical lower bound every policy is measured against.
public enum MigrationSimulator {
    /// The migration's state at one sample.
    public struct Point: Sendable {
        public var sample: MigrationSample
        /// Bytes sent before this sample.
        public var sent: UInt64
        /// What a switchover now must send: RAM left + device pre-copy data left + the device's stop-copy data.
        public var left: UInt64
        public var downtimeMs: Double { sample.bandwidth > 0 ? Double(left) / sample.bandwidth * 1000 : .infinity }
    }

    public static func trajectory(_ trace: MigrationTrace) -> [Point] {
        let dt = trace.sampleInterval
        var unsent = Double(trace.ramBytes)       // RAM never sent yet (the first pass)
        var dirty = 0.0                           // RAM sent, then dirtied again
        var deviceInitial = Double(trace.device?.initialBytes ?? 0)
        var deviceDirty = 0.0
        var deviceSent = 0.0
        var sent = 0.0
        var points: [Point] = []
        var time = 0.0
        var iteration = 1
        while time <= trace.timeout + dt / 2 {
            let phase = trace.phase(at: time)
            var budget = phase.bandwidth * dt
            // Device data goes first: libvirt's switchover-ack waits for every device's initial data anyway.
            func send(_ pending: inout Double, device: Bool) -> Double {
                let chunk = min(budget, pending)
                pending -= chunk; budget -= chunk; sent += chunk
                if device { deviceSent += chunk }
                return chunk
            }
            _ = send(&deviceInitial, device: true)
            _ = send(&deviceDirty, device: true)
            _ = send(&unsent, device: false)
            // A pass over RAM ends when the dirty set is drained (QEMU's iteration, roughly).
            if send(&dirty, device: false) > 0 && dirty == 0 { iteration += 1 }
            // The guest dirties its working set; pages already dirty do not count twice.
            let hot = Double(trace.workingSet)
            dirty = min(hot, dirty + phase.dirtyRate * dt * max(0, 1 - dirty / hot))
            if let device = trace.device {
                let deviceHot = Double(device.workingSet)
                deviceDirty = min(deviceHot, deviceDirty + device.dirtyRate * dt * max(0, 1 - deviceDirty / deviceHot))
            }
            time += dt
            let deviceLeft = deviceInitial + deviceDirty + Double(trace.device?.stopCopyBytes ?? 0)
            let sample = MigrationSample(
                elapsed: time, iteration: iteration, ramRemaining: UInt64(unsent + dirty),
                dirtyRate: phase.dirtyRate, bandwidth: phase.bandwidth, deviceTransferred: UInt64(deviceSent),
                deviceRemaining: trace.device == nil ? nil : UInt64(deviceLeft))
            points.append(Point(sample: sample, sent: UInt64(sent), left: UInt64(unsent + dirty + deviceLeft)))
        }
        return points
    }

    public static func run<P: PreCopyPolicy>(_ policy: P, on trace: MigrationTrace) -> SimulationResult {
        var policy = policy
        let points = trajectory(trace)
        let lowerBound = points.filter { $0.sample.elapsed <= trace.timeout }.map(\.downtimeMs).min() ?? .infinity
        var result = SimulationResult(policy: policy.name, trace: trace.name, converged: false, switchoverAt: nil,
                                      downtimeMs: nil, lowerBoundMs: lowerBound, bytesSent: points.last?.sent ?? 0,
                                      stateSize: trace.stateSize, outcome: "", decisions: [])
        for point in points {
            let decision = point.sample.elapsed > trace.timeout
                ? .abort("the operator's timeout (\(Int(trace.timeout)) s) passed without a switchover")
                : policy.decide(point.sample)
            result.decisions.append((point.sample.elapsed, decision))
            result.outcome = decision.explanation
            switch decision {
            case .switchOver:
                result.converged = true
                result.switchoverAt = point.sample.elapsed
                result.downtimeMs = point.downtimeMs
                result.bytesSent = point.sent + point.left
                return result
            case .abort:
                result.bytesSent = point.sent
                return result
            case .keepCopying, .raiseDowntime:
                continue
            }
        }
        return result
    }
}

/// QEMU's default: a fixed 300 ms downtime limit, no escalation. QEMU switches over as soon as its estimate
/// fits and otherwise copies forever.
public struct FixedDowntimePolicy: PreCopyPolicy {
    public let limitMs: Double
    public var name: String { "QEMU default \(Int(limitMs)) ms" }
    public init(limitMs: Double = 300) { self.limitMs = limitMs }

    public func decide(_ sample: MigrationSample) -> PreCopyDecision {
        sample.predictedDowntimeMs <= limitMs
            ? .switchOver("predicted \(Int(sample.predictedDowntimeMs)) ms <= \(Int(limitMs)) ms")
            : .keepCopying("predicted \(Int(sample.predictedDowntimeMs)) ms > \(Int(limitMs)) ms")
    }
}

/// A step-up policy like OpenStack Nova's (`live_migration_downtime`, `_steps`, `_delay`): the limit starts at
/// max/steps and rises linearly to max, one step every `delay × data GiB` seconds, whatever the migration does.
public struct StepUpPolicy: PreCopyPolicy {
    public let maxMs: Double
    public let steps: Int
    /// Seconds per step: Nova's delay (75 s per GiB by default) times the data size in GiB.
    public let stepSeconds: Double
    public var name: String { "step-up (Nova \(Int(maxMs)) ms/\(steps))" }
    private var step = -1

    public init(maxMs: Double = 500, steps: Int = 10, delayPerGiB: Double = 75, dataBytes: UInt64) {
        self.maxMs = maxMs
        self.steps = steps
        stepSeconds = delayPerGiB * Double(dataBytes) / 1_073_741_824
    }

    public func limit(step: Int) -> Double {
        let base = maxMs / Double(steps)
        return base + (maxMs - base) / Double(steps) * Double(step)
    }

    public mutating func decide(_ sample: MigrationSample) -> PreCopyDecision {
        let current = min(steps, stepSeconds > 0 ? Int(sample.elapsed / stepSeconds) : steps)
        let predicted = sample.predictedDowntimeMs
        if predicted <= limit(step: current) {
            return .switchOver("predicted \(Int(predicted)) ms <= step \(current) limit \(Int(limit(step: current))) ms")
        }
        if current != step {
            step = current
            return .raiseDowntime(toMs: limit(step: current), "step \(current) of \(steps) at \(Int(sample.elapsed)) s")
        }
        return .keepCopying("predicted \(Int(predicted)) ms > \(Int(limit(step: current))) ms")
    }
}

extension MigrationTrace {
    static let mib: UInt64 = 1 << 20
    static let gib: UInt64 = 1 << 30
    /// 10 Gbit/s.
    static let tenGigabit = 1.25e9

    /// The synthetic traces the tests and `scripts/bench-migration-policy.sh` use: 4 GiB guests on 10 Gbit/s.
    public static let synthetic: [MigrationTrace] = [
        MigrationTrace(name: "converging", ramBytes: 4 * gib, workingSet: 1 * gib,
                       phases: [Phase(seconds: 1, dirtyRate: 150e6, bandwidth: tenGigabit)]),
        // Converges, but only to a remainder worth ~0.6 s: more than QEMU's 300 ms, within a 1 s cap.
        MigrationTrace(name: "slow-converging", ramBytes: 4 * gib, workingSet: 1 * gib,
                       phases: [Phase(seconds: 1, dirtyRate: 2.2e9, bandwidth: tenGigabit)]),
        // Dirties faster than the link: the remainder settles near 2 GiB, ~1.7 s of downtime.
        MigrationTrace(name: "non-converging", ramBytes: 4 * gib, workingSet: 3 * gib,
                       phases: [Phase(seconds: 1, dirtyRate: 4e9, bandwidth: tenGigabit)]),
        // 8 s bursts at 3 GB/s (the remainder stalls near 0.8 s of downtime), then 3 s calm at 100 MB/s.
        MigrationTrace(name: "bursty", ramBytes: 4 * gib, workingSet: 3 * gib / 2,
                       phases: [Phase(seconds: 8, dirtyRate: 3e9, bandwidth: tenGigabit),
                                Phase(seconds: 3, dirtyRate: 100e6, bandwidth: tenGigabit)]),
        // A vGPU with 2 GiB of initial pre-copy data, 50 MB/s of re-dirtied state and 64 MiB only STOP_COPY yields.
        MigrationTrace(name: "vgpu-2g-initial", ramBytes: 4 * gib, workingSet: 1 * gib,
                       phases: [Phase(seconds: 1, dirtyRate: 150e6, bandwidth: tenGigabit)],
                       device: Device(initialBytes: 2 * gib, dirtyRate: 50e6, workingSet: 256 * mib, stopCopyBytes: 64 * mib)),
        // The link drops to a third for 2 s out of every 6 (a shared uplink).
        MigrationTrace(name: "bandwidth-dips", ramBytes: 4 * gib, workingSet: 1 * gib,
                       phases: [Phase(seconds: 4, dirtyRate: 300e6, bandwidth: tenGigabit),
                                Phase(seconds: 2, dirtyRate: 300e6, bandwidth: tenGigabit / 3)]),
    ]
}
