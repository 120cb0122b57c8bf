import VGPUCore
import VGPUHost

/// `vgpuctl migration probe`: an unused vGPU's VFIO migration flags and pre-copy sizes; the device is left
/// RUNNING.
public struct ProbeMigration: ReadUseCase {
    public var uuid: DeviceUUID

    public init(_ uuid: DeviceUUID) { self.uuid = uuid }

    public func read(in environment: Environment) throws -> MigrationProbeReport {
        let device = try VFIODevice.openUnused(uuid, in: environment.inventory(), paths: environment.paths, os: environment.os)
        defer { device.close() }
        return try VFIOMigration.probe(device)
    }
}
