import VGPUCore
import VGPUHost

/// The host's parents, types, vGPUs and definitions, from sysfs and the definition files; no libvirt.
public struct ReadInventory: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> Inventory { try environment.inventory() }
}
