import VGPUCore
import VGPUHost

/// `vgpuctl list`: the inventory with, when libvirt answers, the domains that name each vGPU.
public struct ReadVGPUs: ReadUseCase {
    /// False: do not ask libvirt (`--no-libvirt`).
    public var domains: Bool

    public init(domains: Bool) { self.domains = domains }

    public struct Outcome: Sendable {
        public var inventory: Inventory
        /// Why domains are not shown, when libvirt was asked and did not answer.
        public var domainsMissing: String?
    }

    public func read(in environment: Environment) throws -> Outcome {
        let inventory = try environment.inventory()
        guard domains && !inventory.vgpus.isEmpty else { return Outcome(inventory: inventory) }
        do { return Outcome(inventory: try environment.connect().annotate(inventory)) } catch let error as VGPUError {
            return Outcome(inventory: inventory, domainsMissing: error.message)
        }
    }
}
