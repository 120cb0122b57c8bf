#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// Creates and removes vGPUs by writing sysfs attributes, mapping the kernel's errno to actionable errors.
public struct SysfsWriter: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls
    let records: VFRecords

    /// Seconds a write that can block without end (`remove`, a VF's release) may take before it is given up
    /// (the libvirt hook's; nil: no bound, a CLI command that the user can interrupt). See BoundedWrite.swift.
    public let writeBound: Double?

    public init(paths: HostPaths, os: SystemCalls = LiveSystemCalls(), writeBound: Double? = nil) {
        self.paths = paths
        self.os = os
        self.writeBound = writeBound
        self.records = VFRecords(paths: paths, os: os)
    }

    func createPath(parent: String, type: String) -> String {
        Paths.join(paths.mdevBus, "\(parent)/mdev_supported_types/\(type)/create")
    }

    public func devicePath(_ uuid: DeviceUUID) -> String { Paths.join(paths.mdevDevices, uuid.text) }

    /// Creates an mdev. One that exists already with this type on this parent counts as created: recovery may
    /// repeat this step (planners never reuse a UUID that exists).
    public func createMdev(_ uuid: DeviceUUID, parent: String, type: String) throws {
        let path = createPath(parent: parent, type: type)
        do {
            try os.write(path, uuid.text)
        } catch {
            switch error.errno {
            case EEXIST where isMdev(uuid, parent: parent, type: type):
                return
            case EEXIST:
                throw VGPUError(.invalidInput, "the kernel refused UUID \(uuid) on \(parent): a device with it exists (\(path))",
                                fix: "choose another UUID, or omit --uuid")
            case ENOSPC, EUSERS, EDQUOT:
                throw VGPUError(.noCapacity, "the kernel has no free \(type) instance on \(parent) (\(path): \(error.reason))",
                                fix: "remove an unused vGPU, or choose another parent or type")
            default:
                throw Self.hostError(error, doing: "create \(type) vGPU \(uuid) on \(parent)")
            }
        }
    }

    /// The parent is the directory holding the device (its bus link resolved): the kernel's `mdev_type` link is
    /// relative (`../mdev_supported_types/TYPE`), so it names the type but not the parent.
    func isMdev(_ uuid: DeviceUUID, parent: String, type: String) -> Bool {
        guard let device = try? os.readLink(devicePath(uuid)),
              let typeLink = try? os.readLink(Paths.join(devicePath(uuid), "mdev_type")) else { return false }
        let deviceDirectory = Paths.resolve(device, from: paths.mdevDevices)
        return Paths.basename(typeLink) == type && Paths.basename(Paths.dirname(deviceDirectory)) == parent
    }

    /// Refuses (exit 5, nothing written) when a process holds the device at `directory` open: the last-moment
    /// check before a write the kernel would block until the holder lets go, whatever a planner decided from
    /// older or partial knowledge (libvirt's status files know only their own daemon's domains).
    func refuseIfHeld(_ uuid: DeviceUUID, deviceAt directory: String, doing what: String) throws {
        let holders = DeviceHolders(paths: paths, os: os).holders(ofDeviceAt: directory)
        guard holders.isEmpty else { throw DeviceHolder.busy(uuid, holders, doing: what) }
    }

    /// Removes an mdev. Removing one that is already gone succeeds: recovery may repeat this step. Refused,
    /// with nothing written, while a process holds it.
    public func removeMdev(_ uuid: DeviceUUID) throws {
        let path = Paths.join(devicePath(uuid), "remove")
        guard os.exists(devicePath(uuid)) else { return }
        try refuseIfHeld(uuid, deviceAt: devicePath(uuid), doing: "removed")
        do { try blockingWrite(path, "1") } catch where error.errno == ENOENT || error.errno == ENODEV {
        } catch {
            throw Self.hostError(error, doing: "remove vGPU \(uuid)")
        }
    }

    public func assignVF(_ address: String, type: String, uuid: DeviceUUID) throws {
        guard let number = NVIDIAVGPUTypes.number(type) else {
            throw VGPUError(.invalidInput, "type \(type) is not an NVIDIA vGPU type", fix: "use a type listed for VF \(address)")
        }
        let path = Paths.join(paths.pciDevices, "\(address)/nvidia/current_vgpu_type")
        if (try? os.read(path)).flatMap({ Int($0.trimmingTrailingWhitespace) }) != number {
            try refuseIfHeld(uuid, deviceAt: Paths.join(paths.pciDevices, address), doing: "reassigned")
        }
        do {
            try records.record(uuid, forVF: address)
            // Already this type (recovery repeating the step): writing again would be refused as busy.
            if let current = try? os.read(path), Int(current.trimmingTrailingWhitespace) == number { return }
            try os.write(path, String(number))
        } catch {
            try? records.forget(vf: address)
            throw assignError(error, vf: address, type: type, path: path)
        }
    }

    /// The driver's refusals of a `current_vgpu_type` write, in its terms. NVIDIA's listing shows what a VF can
    /// become at the moment it is read, not how many more the GPU can take, so EINVAL at the write is how a
    /// physical GPU says it is full (or now hosts another type): no capacity, naming the GPU.
    func assignError(_ error: OSError, vf address: String, type: String, path: String) -> VGPUError {
        let gpu = (try? os.readLink(Paths.join(paths.pciDevices, "\(address)/physfn"))).map(Paths.basename) ?? address
        switch error.errno {
        case EINVAL:
            return VGPUError(.noCapacity, "the vendor driver refused \(type) on VF \(address) (\(path): \(error.reason)): GPU \(gpu) cannot host one more \(type) now (it holds its maximum of that type, or runs another type)",
                             fix: "see what GPU \(gpu)'s VFs offer now with 'vgpuctl types'; place on another GPU (--parent or --group), or remove a vGPU from \(gpu)")
        case EBUSY:
            return VGPUError(.busy, "the vendor driver refused \(type) on VF \(address) (\(path): \(error.reason)): the VF is open through VFIO or already another vGPU",
                             fix: "stop the process or domain using VF \(address) (see 'vgpuctl list'), or choose another VF")
        default:
            return Self.hostError(error, doing: "assign \(type) to VF \(address)")
        }
    }

    public func releaseVF(_ address: String, uuid: DeviceUUID) throws {
        let path = Paths.join(paths.pciDevices, "\(address)/nvidia/current_vgpu_type")
        try refuseIfHeld(uuid, deviceAt: Paths.join(paths.pciDevices, address), doing: "released")
        do {
            try blockingWrite(path, "0")
            try records.forget(vf: address)
        } catch {
            throw Self.hostError(error, doing: "release VF \(address)")
        }
    }

    func blockingWrite(_ path: String, _ contents: String) throws(OSError) {
        if let writeBound { try os.write(path, contents, bound: writeBound) } else { try os.write(path, contents) }
    }

    static func hostError(_ error: OSError, doing what: String) -> VGPUError {
        let fix: String
        switch error.errno {
        case EACCES, EPERM, EROFS: fix = "run as root on a host with sysfs mounted read-write"
        case ENOENT: fix = "the device disappeared or the vendor driver is not loaded; check 'vgpuctl types'"
        case EBUSY: fix = "the device is in use; stop the domain that uses it"
        case ETIMEDOUT: fix = "the kernel did not finish the write in time, so it was left (it may still finish): a process probably holds the device; see which with 'vgpuctl list' and ls -l /proc/*/fd, stop it, then run 'vgpuctl reconcile'"
        default: fix = "check the kernel log (dmesg) for the vendor driver's reason"
        }
        return VGPUError(.host, "could not \(what): \(error)", fix: fix)
    }
}
