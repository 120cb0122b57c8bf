import VGPUCore
import VGPUHost

/// `vgpuctl migration selftest`: moves one unused vGPU's device state into another of the same type on this
/// host, as a migration does. It overwrites the destination's device state.
public struct MigrationSelftest: ReadUseCase {
    public var source: DeviceUUID
    public var destination: DeviceUUID
    /// Bytes dropped from the stream's end (shows that the destination refuses it).
    public var truncate: Int
    /// mtty only: a byte written into the source's UART scratch register and read back on the destination.
    public var mttyMarker: UInt8?

    public init(from source: DeviceUUID, to destination: DeviceUUID, truncate: Int, mttyMarker: UInt8?) {
        self.source = source
        self.destination = destination
        self.truncate = truncate
        self.mttyMarker = mttyMarker
    }

    public func read(in environment: Environment) throws -> MigrationTransferReport {
        let inventory = try environment.inventory()
        if let a = inventory.vgpu(source), let b = inventory.vgpu(destination), a.type != b.type {
            throw VGPUError(.invalidInput, "vGPU \(source) is \(a.type) but \(destination) is \(b.type)", fix: "a device state only loads into the same type")
        }
        if mttyMarker != nil, let other = [source, destination].first(where: { inventory.vgpu($0).map { $0.parent != "mtty" } ?? false }) {
            throw VGPUError(.invalidInput, "--mtty-marker writes mtty's UART registers, and vGPU \(other) is not on the mtty parent", fix: "leave --mtty-marker out for other drivers")
        }
        let sourceDevice = try VFIODevice.openUnused(source, in: inventory, paths: environment.paths, os: environment.os)
        defer { sourceDevice.close() }
        let destinationDevice = try VFIODevice.openUnused(destination, in: inventory, paths: environment.paths, os: environment.os)
        defer { destinationDevice.close() }
        return try VFIOMigration.transfer(from: sourceDevice, to: destinationDevice, truncate: truncate, marker: mttyMarker)
    }
}
