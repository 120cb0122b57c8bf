import VGPUCore

/// Reads the host's PCI functions (`/sys/bus/pci/devices`), their IOMMU groups and the CPU vendor into a
/// `PCIHost`, through the one OS handle. Missing attributes are left at their defaults: the kernel creates
/// `boot_vga` only for VGA devices and `sriov_*` only for SR-IOV PFs.
public struct PCIDeviceReader: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls = LiveSystemCalls()) {
        self.paths = paths
        self.os = os
    }

    public func host() throws -> PCIHost {
        guard os.isDirectory(paths.sysfs) else {
            throw VGPUError(.host, "sysfs root \(paths.sysfs) is not a directory",
                            fix: "mount sysfs at /sys, or point --sysfs-root / VGPUCTL_SYSFS_ROOT at a sysfs tree")
        }
        let addresses: [String]
        do { addresses = try os.list(paths.pciDevices) } catch {
            throw VGPUError(.host, "cannot list \(paths.pciDevices): \(error)",
                            fix: "this host has no PCI bus in sysfs, or --sysfs-root names the wrong directory")
        }
        // The IOMMU is on when PCI functions have groups. Not /sys/kernel/iommu_groups itself: an mdev gets an
        // emulated group of its own there on a host without an IOMMU (the VM tier's mdev machine showed it).
        let devices = addresses.compactMap(device)
        return PCIHost(devices: devices, iommuEnabled: devices.contains { $0.iommuGroup != nil }, cpuVendor: cpuVendor())
    }

    private func device(_ address: String) -> PCIDevice? {
        let directory = Paths.join(paths.pciDevices, address)
        guard let vendor = attribute(directory, "vendor"), let device = attribute(directory, "device"),
              let classText = attribute(directory, "class"), let classCode = UInt32(classText.dropHexPrefix, radix: 16)
        else { return nil }
        let link = { (name: String) in (try? os.readLink(Paths.join(directory, name))).map(Paths.basename) }
        let sriov = attribute(directory, "sriov_totalvfs").flatMap { Int($0) }.map { total in
            SRIOVState(totalVFs: total, numVFs: attribute(directory, "sriov_numvfs").flatMap { Int($0) } ?? 0)
        }
        let vendorLayout = os.exists(Paths.join(directory, "nvidia/creatable_vgpu_types"))
        let currentType = vendorLayout ? attribute(directory, "nvidia/current_vgpu_type").flatMap { Int($0) } ?? 0 : 0
        let isMdevParent = os.isDirectory(Paths.join(directory, "mdev_supported_types"))
        // An mdev device is a child directory of its parent named by its UUID.
        let mdevs = isMdevParent ? ((try? os.list(directory)) ?? []).filter(DeviceUUID.looksLikeUUID).count : 0
        return PCIDevice(address: address, vendor: vendor, device: device, classCode: classCode, driver: link("driver"),
                         numaNode: attribute(directory, "numa_node").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil },
                         iommuGroup: link("iommu_group").flatMap { Int($0) },
                         bootVGA: attribute(directory, "boot_vga") == "1", sriov: sriov, physfn: link("physfn"),
                         isMdevParent: isMdevParent, hasVendorVFIOLayout: vendorLayout,
                         vgpus: mdevs + (currentType != 0 ? 1 : 0))
    }

    /// From `/proc/cpuinfo` under the root; unknown when it cannot be read (a fixture tree without one).
    private func cpuVendor() -> CPUVendor {
        guard let text = try? os.read(Paths.join(paths.proc, "cpuinfo")) else { return .unknown }
        for line in text.split(separator: "\n") where line.hasPrefix("vendor_id") {
            return CPUVendor(vendorID: line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: " \t") })
        }
        return .unknown
    }

    private func attribute(_ directory: String, _ name: String) -> String? {
        (try? os.read(Paths.join(directory, name)))?.trimmingTrailingWhitespace
    }
}

private extension String {
    var dropHexPrefix: Substring { hasPrefix("0x") ? dropFirst(2) : Substring(self) }
}
