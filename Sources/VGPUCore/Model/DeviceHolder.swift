/// A process that has a device's VFIO file open (`/dev/vfio/<group>` or the cdev `/dev/vfio/devices/vfioN`),
/// as the kernel shows it in `/proc/<pid>/fd`. The kernel blocks a write to the device's `remove` (or a VF's
/// `current_vgpu_type`) until every holder lets go, so a held device is in use, whatever started the process:
/// a QEMU of this libvirtd, of another one, or one started by hand.
public struct DeviceHolder: Hashable, Codable, Sendable {
    public var pid: Int
    /// `/proc/<pid>/comm` ("?" when it could not be read).
    public var command: String
    /// The device file it holds, as its fd link reads.
    public var file: String

    public init(pid: Int, command: String, file: String) {
        self.pid = pid
        self.command = command
        self.file = file
    }

    /// "process 4242 (qemu-system-x86) holds /dev/vfio/17"
    public var description: String { "process \(pid) (\(command)) holds \(file)" }

    /// The refusal every path that would remove or reuse a held device gives (exit 5).
    public static func busy(_ uuid: DeviceUUID, _ holders: [DeviceHolder], doing what: String? = nil) -> VGPUError {
        let named = holders.map(\.description).joined(separator: "; ")
        return VGPUError(.busy, "vGPU \(uuid) is in use: \(named)\(what.map { "; not \($0)" } ?? "")",
                         fix: "stop process \(holders.map { String($0.pid) }.joined(separator: ", ")) first (for a QEMU, shut its domain down); removing or reusing the vGPU now would block until it lets go")
    }
}

/// The kernel's answer to "who holds which vGPU", read once per operation (see VGPUHost's DeviceHolders).
public typealias HeldDevices = [DeviceUUID: [DeviceHolder]]
