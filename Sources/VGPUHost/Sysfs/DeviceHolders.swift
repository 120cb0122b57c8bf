import VGPUCore

/// Which processes hold a device's VFIO files open, from `/proc/<pid>/fd`: the kernel's answer to "is it in
/// use?", whatever started the holder (a QEMU of this libvirtd, of another one, one started by hand). libvirt's
/// status files only know their own daemon's domains. The kernel blocks the writer of `remove` (and of a VF's
/// `current_vgpu_type`) until every holder lets go, so every path that removes or reuses a device asks this first.
///
/// A device's files are its legacy group, `/dev/vfio/<group>` (its sysfs `iommu_group` link), and its VFIO
/// cdev, `/dev/vfio/devices/vfioN` (its sysfs `vfio-dev/vfioN` directory, on kernels with VFIO_DEVICE_CDEV).
/// Every access goes through `os`, under `paths.root`, so fixture trees with a fake /proc work.
public struct DeviceHolders: Sendable {
    public typealias Holder = DeviceHolder

    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    /// One scan of /proc: every open file under /dev/vfio/ (but the container, /dev/vfio/vfio, and iommufd)
    /// with the processes that hold it, each process once per file, by pid.
    public func scan() -> [String: [Holder]] {
        var found: [String: [Holder]] = [:]
        for name in (try? os.list(paths.proc)) ?? [] {
            guard let pid = Int(name) else { continue }
            let fdDirectory = Paths.join(paths.proc, "\(name)/fd")
            var files = Set<String>()
            // Processes that exit meanwhile, or that we may not inspect, are skipped.
            for fd in (try? os.list(fdDirectory)) ?? [] {
                guard let target = try? os.readLink(Paths.join(fdDirectory, fd)), Self.isDeviceFile(target) else { continue }
                files.insert(target)
            }
            guard !files.isEmpty else { continue }
            let command = (try? os.read(Paths.join(paths.proc, "\(name)/comm")))?.trimmingTrailingWhitespace ?? "?"
            for file in files { found[file, default: []].append(Holder(pid: pid, command: command, file: file)) }
        }
        return found.mapValues { $0.sorted { $0.pid < $1.pid } }
    }

    static func isDeviceFile(_ target: String) -> Bool {
        guard target.hasPrefix("/dev/vfio/") else { return false }
        let rest = target.dropFirst("/dev/vfio/".count)
        if rest.allSatisfy(\.isNumber) { return !rest.isEmpty }
        return rest.hasPrefix("devices/vfio")
    }

    /// The VFIO files of the device whose sysfs directory is `directory` (an mdev's, or a VF's).
    public func files(ofDeviceAt directory: String) -> [String] {
        var files: [String] = []
        if let group = (try? os.readLink(Paths.join(directory, "iommu_group"))).map(Paths.basename), Int(group) != nil {
            files.append("/dev/vfio/\(group)")
        }
        for name in ((try? os.list(Paths.join(directory, "vfio-dev"))) ?? []).sorted() where name.hasPrefix("vfio") {
            files.append("/dev/vfio/devices/\(name)")
        }
        return files
    }

    /// The sysfs directory of a vGPU: its mdev, or the VF that carries it.
    public func directory(of vgpu: VGPU) -> String {
        switch vgpu.layout {
        case .mdev: return Paths.join(paths.mdevDevices, vgpu.uuid.text)
        case .nvidiaVFIO: return Paths.join(paths.pciDevices, vgpu.parent)
        }
    }

    /// A vGPU's VFIO files: those its sysfs directory names, and the group the inventory read.
    public func files(of vgpu: VGPU) -> [String] {
        var files = files(ofDeviceAt: directory(of: vgpu))
        if let group = vgpu.iommuGroup, !files.contains("/dev/vfio/\(group)") { files.insert("/dev/vfio/\(group)", at: 0) }
        return files
    }

    /// Who holds the vGPU, from one scan (or `scanned`, a scan already made).
    public func holders(of vgpu: VGPU, scanned: [String: [Holder]]? = nil) -> [Holder] {
        holders(holding: files(of: vgpu), scanned: scanned)
    }

    /// Who holds the device at `directory`, from one scan (or `scanned`, a scan already made).
    public func holders(ofDeviceAt directory: String, scanned: [String: [Holder]]? = nil) -> [Holder] {
        holders(holding: files(ofDeviceAt: directory), scanned: scanned)
    }

    /// A device without VFIO files has no holder: /proc is not scanned for it.
    private func holders(holding files: [String], scanned: [String: [Holder]]?) -> [Holder] {
        guard !files.isEmpty else { return [] }
        let table = scanned ?? scan()
        return files.flatMap { table[$0] ?? [] }
    }

    /// Every held vGPU of the inventory and its holders: one scan of /proc for the whole operation.
    public func held(in inventory: Inventory) -> HeldDevices {
        let table = scan()
        guard !table.isEmpty else { return [:] }
        var held: HeldDevices = [:]
        for vgpu in inventory.vgpus {
            let holders = holders(of: vgpu, scanned: table)
            if !holders.isEmpty { held[vgpu.uuid] = holders }
        }
        return held
    }

    public func holders(ofGroup group: Int) -> [Holder] {
        scan()["/dev/vfio/\(group)"] ?? []
    }

    /// Refuses (exit 5) when a process holds the vGPU's group or cdev, naming it.
    public func refuseIfHeld(_ vgpu: VGPU) throws {
        let holders = holders(of: vgpu)
        guard holders.isEmpty else { throw DeviceHolder.busy(vgpu.uuid, holders) }
    }
}
