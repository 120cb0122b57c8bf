import VGPUCore
import VGPUHost

/// vgpud's host gauges: the inventory, each vGPU's domain when libvirt answers, and the hook's statistics. No
/// lock. Throws when the host cannot be read; libvirt not answering is reported in `domainsMissing`.
public struct ReadMetricSamples: ReadUseCase {
    public init() {}

    public struct Outcome: Sendable {
        public var samples: [MetricSample]
        /// Why domains are left out (libvirt did not answer), if they are.
        public var domainsMissing: String?
    }

    public func read(in environment: Environment) throws -> Outcome {
        var inventory = try environment.inventory()
        var missing: String?
        do { inventory = try environment.connect().annotate(inventory) } catch { missing = "\(error)" }
        var samples = InventoryMetrics.samples(inventory, domainsKnown: missing == nil)
        if let text = try? environment.os.read(HookStatistics(environment: environment).path), let stats = HookStats.parse(text) {
            samples += stats.samples
        }
        return Outcome(samples: samples, domainsMissing: missing)
    }
}
