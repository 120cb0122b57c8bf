/// One GPU as `vgpuctl gpus` reports it: the device, its IOMMU group and the other functions of its card, the
/// vGPU layout it offers, and whether it can be passed through whole (and if not, why).
public struct GPUReport: Equatable, Sendable {
    public var device: PCIDevice
    /// Every function in the device's IOMMU group, itself included, by address; empty without a group.
    public var groupMembers: [PCIDevice]
    /// The other functions of the card (same slot), by address: a GPU's HDMI-audio function, for example.
    public var functions: [PCIDevice]
    /// nil: neither mdev nor vendor-specific VFIO.
    public var layout: Layout?
    /// vGPUs on the GPU: its own mdev devices and those of its VFs.
    public var vgpus: Int
    /// Why the card cannot go to a guest whole; empty when it can. Each names the function it is about.
    public var refusals: [(address: String, refusal: PassthroughRefusal)]

    public var passthroughPossible: Bool { refusals.isEmpty }

    public static func == (lhs: GPUReport, rhs: GPUReport) -> Bool {
        lhs.device == rhs.device && lhs.groupMembers == rhs.groupMembers && lhs.functions == rhs.functions
            && lhs.layout == rhs.layout && lhs.vgpus == rhs.vgpus
            && lhs.refusals.map(\.address) == rhs.refusals.map(\.address) && lhs.refusals.map(\.refusal) == rhs.refusals.map(\.refusal)
    }

    /// The GPUs of a host, by address: every display-class function that is not a VF, and every SR-IOV PF whose
    /// VFs carry NVIDIA's vendor-specific VFIO layout (whatever its class). A card goes through whole, so each GPU
    /// is judged with all the functions of its slot.
    public static func reports(_ host: PCIHost) -> [GPUReport] {
        host.devices.filter { device in
            device.physfn == nil && (device.isDisplay || host.vfs(of: device.address).contains { $0.hasVendorVFIOLayout })
        }.map { report($0, host: host) }
    }

    static func report(_ device: PCIDevice, host: PCIHost) -> GPUReport {
        let vfs = host.vfs(of: device.address)
        let layout: Layout? = device.isMdevParent || vfs.contains { $0.isMdevParent } ? .mdev
            : vfs.contains { $0.hasVendorVFIOLayout } || device.hasVendorVFIOLayout ? .nvidiaVFIO : nil
        let card = host.slotFunctions(of: device)
        return GPUReport(device: device,
                         groupMembers: device.iommuGroup.map(host.groupMembers) ?? [],
                         functions: card.filter { $0.address != device.address },
                         layout: layout,
                         vgpus: device.vgpus + vfs.reduce(0) { $0 + $1.vgpus },
                         refusals: PassthroughViability.refusals(request: card.map(\.address), host: host))
    }
}

/// `vgpuctl gpus` output: the table and `--json` (stable, documented in README.md).
public enum GPUReportOutput {
    /// A row per GPU, then per GPU its group members, other functions and refusals with their fixes.
    public static func text(_ reports: [GPUReport]) -> String {
        guard !reports.isEmpty else { return "no GPUs (no display-class PCI device, no vendor-specific VFIO PF)\n" }
        var table = Table("ADDRESS", "ID", "CLASS", "DRIVER", "NUMA", "GROUP", "SRIOV", "LAYOUT", "VGPUS", "BOOT_VGA", "PASSTHROUGH")
        for report in reports {
            let device = report.device
            table.add(device.address, device.id, device.classText, device.driver ?? "-",
                      device.numaNode.map(String.init) ?? "-", device.iommuGroup.map(String.init) ?? "-",
                      device.sriov.map { "\($0.numVFs)/\($0.totalVFs)" } ?? "-", report.layout?.rawValue ?? "none",
                      String(report.vgpus), device.bootVGA ? "yes" : "no", report.passthroughPossible ? "yes" : "no")
        }
        var text = table.render() + "\n"
        for report in reports {
            text += "\n\(report.device.address):\n"
            if let group = report.device.iommuGroup {
                text += "  IOMMU group \(group):\n"
                for member in report.groupMembers { text += "    \(memberLine(member))\n" }
            }
            if !report.functions.isEmpty {
                text += "  other functions of the card:\n"
                for function in report.functions { text += "    \(memberLine(function))\n" }
            }
            if report.passthroughPossible {
                text += "  passthrough: possible\n"
            } else {
                text += "  passthrough: refused\n"
                for (address, refusal) in report.refusals {
                    text += "    \(refusal.message(address))\n      fix: \(refusal.fix(address))\n"
                }
            }
        }
        return text
    }

    private static func memberLine(_ device: PCIDevice) -> String {
        "\(device.address)  \(device.classText)  \(device.driver ?? "-")\(device.isBridge ? "  (bridge)" : "")"
    }

    /// An array of GPUs, keys sorted, as the other `--json` outputs print (pretty, sorted keys).
    public static func json(_ reports: [GPUReport]) -> [UInt8] {
        var json = JSONWriter(.pretty)
        json.beginArray()
        for report in reports {
            let device = report.device
            json.element()
            json.beginObject()
            json.key("address"); json.string(device.address)
            json.key("boot_vga"); json.bool(device.bootVGA)
            json.key("class"); json.string(device.classText)
            json.key("device"); json.string(device.device)
            if let driver = device.driver { json.key("driver"); json.string(driver) }
            json.key("functions"); members(&json, report.functions, bridges: false)
            if let group = device.iommuGroup { json.key("iommu_group"); json.int(group) }
            json.key("iommu_group_members"); members(&json, report.groupMembers, bridges: true)
            json.key("layout"); json.string(report.layout?.rawValue ?? "none")
            if let node = device.numaNode { json.key("numa_node"); json.int(node) }
            json.key("passthrough")
            json.beginObject()
            json.key("possible"); json.bool(report.passthroughPossible)
            json.key("refusals")
            json.beginArray()
            for (address, refusal) in report.refusals {
                json.element()
                json.beginObject()
                json.key("address"); json.string(address)
                json.key("fix"); json.string(refusal.fix(address))
                json.key("message"); json.string(refusal.message(address))
                json.key("reason"); json.string(refusal.reason)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            if let sriov = device.sriov {
                json.key("sriov")
                json.beginObject()
                json.key("num_vfs"); json.int(sriov.numVFs)
                json.key("total_vfs"); json.int(sriov.totalVFs)
                json.endObject()
            }
            json.key("vendor"); json.string(device.vendor)
            json.key("vgpus"); json.int(report.vgpus)
            json.endObject()
        }
        json.endArray()
        return json.bytes + [0x0A]
    }

    private static func members(_ json: inout JSONWriter, _ devices: [PCIDevice], bridges: Bool) {
        json.beginArray()
        for device in devices {
            json.element()
            json.beginObject()
            json.key("address"); json.string(device.address)
            if bridges { json.key("bridge"); json.bool(device.isBridge) }
            json.key("class"); json.string(device.classText)
            if let driver = device.driver { json.key("driver"); json.string(driver) }
            json.endObject()
        }
        json.endArray()
    }
}
