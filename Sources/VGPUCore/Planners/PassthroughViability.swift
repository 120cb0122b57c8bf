/// Why a PCI device cannot be handed to a guest whole (through `vfio-pci`), each with the fix.
public enum PassthroughRefusal: Equatable, Sendable {
    /// No PCI device has an IOMMU group: the IOMMU is off (or absent), so VFIO cannot isolate any device.
    case iommuOff(CPUVendor)
    /// The IOMMU is on but the device is in no group (a device no IOMMU translates for).
    case noIOMMUGroup
    /// Another function in the device's IOMMU group is bound to a driver that keeps the kernel's DMA ownership
    /// and is not part of the request: an endpoint, or a bridge bound to something other than pcieport.
    case groupMemberInUse(group: Int, member: String, driver: String, bridge: Bool)
    /// The firmware's console device (`boot_vga`): the host would lose its console.
    case bootVGA
    /// vGPUs (mdev devices, or typed vendor-specific VFIO VFs) live on the device.
    case vgpusExist(count: Int)
    /// SR-IOV VFs are enabled: vfio-pci refuses to bind a PF with VFs enabled.
    case vfsEnabled(count: Int)

    /// Stable identifiers (`--json`'s `reason`).
    public var reason: String {
        switch self {
        case .iommuOff: "iommu-off"
        case .noIOMMUGroup: "no-iommu-group"
        case .groupMemberInUse: "group-member-in-use"
        case .bootVGA: "boot-vga"
        case .vgpusExist: "vgpus-exist"
        case .vfsEnabled: "vfs-enabled"
        }
    }

    public func message(_ address: String) -> String {
        switch self {
        case .iommuOff: "\(address): the IOMMU is off (no PCI device has an IOMMU group), so VFIO cannot isolate the device"
        case .noIOMMUGroup: "\(address) is in no IOMMU group (no IOMMU translates for it)"
        case .groupMemberInUse(let group, let member, let driver, let bridge):
            "\(address) shares IOMMU group \(group) with \(bridge ? "the bridge " : "")\(member), which the host driver \(driver) holds"
        case .bootVGA: "\(address) is the boot VGA device (boot_vga = 1): it drives the host's console"
        case .vgpusExist(let count): "\(address) hosts \(count) vGPU\(count == 1 ? "" : "s")"
        case .vfsEnabled(let count): "\(address) has \(count) SR-IOV VF\(count == 1 ? "" : "s") enabled (vfio-pci binds no PF with VFs)"
        }
    }

    public func fix(_ address: String) -> String {
        switch self {
        case .iommuOff(.intel):
            "enable VT-d in the firmware and add intel_iommu=on to the kernel command line, then reboot"
        case .iommuOff(.amd):
            "enable the IOMMU (AMD-Vi) in the firmware and remove amd_iommu=off from the kernel command line if it is there, then reboot"
        case .iommuOff(.unknown):
            "enable the IOMMU in the firmware and on the kernel command line (intel_iommu=on on Intel; AMD-Vi is on by default), then reboot"
        case .noIOMMUGroup:
            "check the firmware's IOMMU (DMAR/IVRS) tables cover the device's slot, or use another slot"
        case .groupMemberInUse(_, let member, let driver, true):
            "unbind \(driver) from the bridge (echo \(member) > /sys/bus/pci/devices/\(member)/driver/unbind; the devices behind it keep working), or move the card to a slot with its own group"
        case .groupMemberInUse(_, let member, _, false):
            "pass \(member) through too (or unbind it: echo \(member) > /sys/bus/pci/devices/\(member)/driver/unbind), or move the card to a slot with its own group"
        case .bootVGA:
            "make another GPU the firmware's primary display, or give the host no console on this one"
        case .vgpusExist:
            "remove its vGPUs first ('vgpuctl list' shows them)"
        case .vfsEnabled:
            "disable them: echo 0 > /sys/bus/pci/devices/\(address)/sriov_numvfs (no vGPU may be using them)"
        }
    }
}

/// Whether a set of functions (a GPU and the other functions of its card) can go to a guest whole, by the
/// kernel's rule: every other function in each IOMMU group the request touches must have no driver or a driver
/// that leaves DMA ownership to VFIO (`driver_managed_dma`: vfio-pci and its variants, pci-stub, and pcieport,
/// which drives every PCIe port, so bridges normally do not count), or be part of the request. Since Linux 5.19
/// the driver decides, not the header type: a PCIe-to-PCI bridge bound to shpchp makes its group non-viable, as
/// the VM tier's lab machine shows. Pure: the refusals, in a stable order (IOMMU, group, console, vGPUs, VFs).
public enum PassthroughViability {
    /// Drivers that set `driver_managed_dma` (they claim no DMA ownership), so a member bound to one keeps the
    /// group viable. Variant drivers are named `<vendor>_vfio_pci` or `<vendor>-vfio-pci`.
    public static func releasesDMA(_ driver: String) -> Bool {
        driver == "vfio-pci" || driver == "pci-stub" || driver == "pcieport" || driver.hasSuffix("_vfio_pci")
            || driver.hasSuffix("-vfio-pci")
    }

    /// The refusals for passing `request` (addresses; normally every function of one card) through whole.
    public static func refusals(request: [String], host: PCIHost) -> [(address: String, refusal: PassthroughRefusal)] {
        let requested = Set(request)
        let devices = request.compactMap(host.device)
        var found: [(String, PassthroughRefusal)] = []
        guard host.iommuEnabled else { return devices.prefix(1).map { ($0.address, .iommuOff(host.cpuVendor)) } }
        var seenMembers: Set<String> = []
        for device in devices {
            guard let group = device.iommuGroup else {
                found.append((device.address, .noIOMMUGroup))
                continue
            }
            for member in host.groupMembers(group) where !requested.contains(member.address) {
                guard let driver = member.driver, !releasesDMA(driver), seenMembers.insert(member.address).inserted else { continue }
                found.append((device.address, .groupMemberInUse(group: group, member: member.address, driver: driver, bridge: member.isBridge)))
            }
        }
        for device in devices where device.bootVGA { found.append((device.address, .bootVGA)) }
        for device in devices {
            let vgpus = device.vgpus + host.vfs(of: device.address).reduce(0) { $0 + $1.vgpus }
            if vgpus > 0 { found.append((device.address, .vgpusExist(count: vgpus))) }
        }
        for device in devices {
            if let sriov = device.sriov, sriov.numVFs > 0 { found.append((device.address, .vfsEnabled(count: sriov.numVFs))) }
        }
        return found
    }
}
