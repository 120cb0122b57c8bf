import VGPUCore
import VGPUHost

/// `vgpuctl nodedevs`: libvirt's mdev and mdev_types node devices, through its API.
public struct ReadNodeDevices: ReadUseCase {
    public init() {}

    public func read(in environment: Environment) throws -> [NodeDevice] { try environment.connect().nodeDevices() }
}
