/// One look at a running pre-copy migration: what libvirt's job stats say (RAM remaining, dirty rate,
/// bandwidth, iteration, `vfio_data_transferred`, elapsed time) plus, where known, the devices' own sizes.
public struct MigrationSample: Equatable, Sendable {
    /// Seconds since the migration started.
    public var elapsed: Double
    /// QEMU's pass over RAM (libvirt's `memory_iteration`).
    public var iteration: Int
    public var ramRemaining: UInt64
    /// Bytes per second the guest dirties.
    public var dirtyRate: Double
    /// Bytes per second the link carries.
    public var bandwidth: Double
    /// Device (VFIO) bytes sent so far.
    public var deviceTransferred: UInt64
    /// Device bytes still to send, where known (PRECOPY_INFO initial + dirty, plus the stop-copy size); nil when
    /// only libvirt's stats are at hand, which do not include it.
    public var deviceRemaining: UInt64?

    public init(elapsed: Double, iteration: Int, ramRemaining: UInt64, dirtyRate: Double, bandwidth: Double,
                deviceTransferred: UInt64 = 0, deviceRemaining: UInt64? = nil) {
        self.elapsed = elapsed
        self.iteration = iteration
        self.ramRemaining = ramRemaining
        self.dirtyRate = dirtyRate
        self.bandwidth = bandwidth
        self.deviceTransferred = deviceTransferred
        self.deviceRemaining = deviceRemaining
    }

    /// What the stop-copy phase would have to send if the guest stopped now.
    public var bytesLeft: UInt64 { ramRemaining + (deviceRemaining ?? 0) }

    /// The downtime a switchover now would cost: bytes left over bandwidth, in milliseconds.
    public var predictedDowntimeMs: Double {
        bandwidth > 0 ? Double(bytesLeft) / bandwidth * 1000 : .infinity
    }
}

/// What to do after a sample. Each carries the sentence the log shows.
public enum PreCopyDecision: Equatable, Sendable, CustomStringConvertible {
    case keepCopying(String)
    /// Allow this much downtime from now on (libvirt: `virDomainMigrateSetMaxDowntime`).
    case raiseDowntime(toMs: Double, String)
    /// Stop the guest and send the rest now.
    case switchOver(String)
    case abort(String)

    public var explanation: String {
        switch self {
        case .keepCopying(let text), .raiseDowntime(_, let text), .switchOver(let text), .abort(let text): return text
        }
    }

    public var description: String {
        switch self {
        case .keepCopying: return "keep copying: \(explanation)"
        case .raiseDowntime(let ms, _): return "raise downtime to \(ms.rounded()) ms: \(explanation)"
        case .switchOver: return "switch over: \(explanation)"
        case .abort: return "abort: \(explanation)"
        }
    }
}

/// Anything that decides a pre-copy migration sample by sample: ours, and the baselines the simulator compares.
public protocol PreCopyPolicy: Sendable {
    var name: String { get }
    mutating func decide(_ sample: MigrationSample) -> PreCopyDecision
}

/// vgpuctl's policy: copy while the data left keeps shrinking; switch over as soon as the predicted downtime
/// (bytes left / bandwidth) fits the allowed downtime; raise the allowance one step only while the data left
/// has stopped shrinking; abort at the timeout, or when it still does not fit at the cap.
///
/// The allowance starts low on purpose: a migration that still converges reaches a smaller remainder by
/// waiting, so a raise is granted only to a stalled one, and withdrawn (back to the start) as soon as the
/// remainder reaches a new low again, e.g. after a dirty-rate burst. That is what keeps the downtime near the
/// least the trace allows (the remainder's floor), at the price of a few more seconds of copying.
public struct AdaptivePreCopyPolicy: PreCopyPolicy {
    public struct Settings: Equatable, Sendable {
        /// The first allowance, ms.
        public var startMs: Double = 20
        /// The most downtime the user accepts (`--max-downtime`), ms.
        public var capMs: Double = 1000
        /// Each raise multiplies the allowance by this.
        public var stepFactor: Double = 1.5
        /// A sample counts as progress when the data left is this fraction below the lowest seen so far.
        public var progressFraction: Double = 0.05
        /// Samples without progress before the first raise.
        public var patience: Int = 2
        /// Samples without progress spent at the cap before giving up (a dirty burst may still pass).
        public var patienceAtCap: Int = 8
        /// Seconds after which the migration is aborted, converged or not.
        public var timeout: Double = 300
        public init() {}
    }

    public let settings: Settings
    public let name = "vgpuctl adaptive"
    public private(set) var allowedMs: Double
    private var lowest: UInt64 = .max
    private var samplesWithoutProgress = 0
    private var samplesAtCap = 0

    public init(_ settings: Settings = Settings()) {
        self.settings = settings
        allowedMs = min(settings.startMs, settings.capMs)
    }

    public mutating func decide(_ sample: MigrationSample) -> PreCopyDecision {
        let predicted = sample.predictedDowntimeMs
        let left = "\(Self.megabytes(sample.bytesLeft)) left\(sample.deviceRemaining == nil ? " (RAM only: device size unknown)" : "")"
        if sample.elapsed >= settings.timeout {
            return .abort("timeout: \(Self.seconds(sample.elapsed)) elapsed (limit \(Self.seconds(settings.timeout))), \(left), predicted downtime \(Self.ms(predicted))")
        }
        var note = ""
        if Double(sample.bytesLeft) < Double(lowest) * (1 - settings.progressFraction) {
            if allowedMs > settings.startMs {
                note = "; shrinking again, allowance back to \(Self.ms(settings.startMs))"
                allowedMs = min(settings.startMs, settings.capMs)
            }
            lowest = sample.bytesLeft
            samplesWithoutProgress = 0
            samplesAtCap = 0
        } else {
            lowest = min(lowest, sample.bytesLeft)
            samplesWithoutProgress += 1
        }
        if predicted <= allowedMs {
            return .switchOver("predicted downtime \(Self.ms(predicted)) fits the allowed \(Self.ms(allowedMs)) (\(left))")
        }
        if samplesWithoutProgress == 0 {
            return .keepCopying("converging: \(left), predicted downtime \(Self.ms(predicted)) > allowed \(Self.ms(allowedMs))\(note)")
        }
        if samplesWithoutProgress < settings.patience {
            return .keepCopying("no progress for \(samplesWithoutProgress) sample(s): \(left), predicted \(Self.ms(predicted)); waiting")
        }
        if allowedMs < settings.capMs {
            allowedMs = min(settings.capMs, allowedMs * settings.stepFactor)
            return .raiseDowntime(toMs: allowedMs, "stalled at \(left) (lowest \(Self.megabytes(lowest))), predicted \(Self.ms(predicted)): allow \(Self.ms(allowedMs)) (cap \(Self.ms(settings.capMs)))")
        }
        samplesAtCap += 1
        if samplesAtCap >= settings.patienceAtCap {
            return .abort("not converging at the cap: predicted downtime \(Self.ms(predicted)) > \(Self.ms(settings.capMs)) after \(samplesWithoutProgress) samples without progress (dirty rate \(Self.megabytes(UInt64(sample.dirtyRate)))/s, bandwidth \(Self.megabytes(UInt64(sample.bandwidth)))/s)")
        }
        return .keepCopying("at the cap \(Self.ms(settings.capMs)), predicted \(Self.ms(predicted)); \(settings.patienceAtCap - samplesAtCap) more sample(s) before giving up")
    }

    static func ms(_ value: Double) -> String { value.isFinite ? "\(Int(value.rounded())) ms" : "unbounded" }
    static func seconds(_ value: Double) -> String { "\(Int(value.rounded())) s" }
    static func megabytes(_ bytes: UInt64) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
