import VGPUCore
import VGPUHost

/// `vgpuctl xml`: a vGPU's libvirt `<hostdev>` (or, with `nodedev`, its node device) XML, from the templates.
public struct ReadDeviceXML: ReadUseCase {
    public var uuid: DeviceUUID
    public var hostdev: HostdevXML.Options
    public var nodedev: Bool

    public init(_ uuid: DeviceUUID, hostdev: HostdevXML.Options, nodedev: Bool) {
        self.uuid = uuid
        self.hostdev = hostdev
        self.nodedev = nodedev
    }

    public func read(in environment: Environment) throws -> String {
        let vgpu = try LifecyclePlanner.existing(uuid, in: environment.inventory())
        let templates = try environment.templates()
        return try nodedev ? templates.nodedev(for: vgpu) : templates.hostdev(for: vgpu, options: hostdev)
    }
}
