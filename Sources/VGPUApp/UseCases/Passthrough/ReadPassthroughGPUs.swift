import VGPUCore
import VGPUHost

/// `vgpuctl list --passthrough`: the PCI functions vgpuctl passed through, each with its domain (the owner), the
/// driver it goes back to and the driver bound now. No lock, no libvirt: the records say which domain has it.
public struct ReadPassthroughGPUs: ReadUseCase {
    public init() {}

    public struct Row: Equatable, Sendable {
        public var record: PassthroughRecord
        /// The driver bound now (vfio-pci while passed through; nil: none).
        public var driver: String?
    }

    public func read(in environment: Environment) throws -> [Row] {
        let binding = PCIDriverBinding(paths: environment.paths, os: environment.os)
        return binding.records.all().map { Row(record: $0, driver: binding.driver(of: $0.address)) }
    }
}
