import Foundation

/// Ready-made hosts, each mirroring a real machine's sysfs.
public enum FixtureHosts {
    /// The kernel's sample drivers as Linux 6.12 registers them: mtty (24 ports), mdpy (4 devices), mbochs (256 MB).
    public static func samples(at sysfs: String) throws -> SysfsTree {
        let tree = try SysfsTree(sysfs: sysfs)
        try tree.addMdevParent(tree.addVirtualDevice("mtty", className: "mtty"), types: [
            MdevTypeSpec("mtty-1", name: "Single port serial", available: 24),
            MdevTypeSpec("mtty-2", name: "Dual port serial", available: 12),
        ])
        try tree.addMdevParent(tree.addVirtualDevice("mdpy", className: "mdpy"), types: [
            MdevTypeSpec("mdpy-vga", name: "mdpy-vga", description: "virtual display, 640x480 framebuffer", available: 4),
            MdevTypeSpec("mdpy-xga", name: "mdpy-xga", description: "virtual display, 1024x768 framebuffer", available: 4),
            MdevTypeSpec("mdpy-hd", name: "mdpy-hd", description: "virtual display, 1920x1080 framebuffer", available: 4),
        ])
        try tree.addMdevParent(tree.addVirtualDevice("mbochs", className: "mbochs"), types: [
            MdevTypeSpec("mbochs-small", name: "mbochs-small", description: "virtual display, 4 MB video memory", available: 64),
            MdevTypeSpec("mbochs-medium", name: "mbochs-medium", description: "virtual display, 16 MB video memory", available: 16),
            MdevTypeSpec("mbochs-large", name: "mbochs-large", description: "virtual display, 64 MB video memory", available: 4),
        ])
        return tree
    }

    /// NVIDIA T4-class GPUs in the classic mdev layout (one parent per GPU, no SR-IOV), vGPU types `nvidia-222`….
    public static let t4Types: [(Int, String, Int)] = [
        (222, "GRID T4-1B", 16), (223, "GRID T4-2B", 8), (224, "GRID T4-2B4", 8), (225, "GRID T4-1A", 16),
        (226, "GRID T4-2A", 8), (227, "GRID T4-4A", 4), (228, "GRID T4-8A", 2), (229, "GRID T4-16A", 1),
        (230, "GRID T4-1Q", 16), (231, "GRID T4-2Q", 8), (232, "GRID T4-4Q", 4), (233, "GRID T4-8Q", 2),
        (234, "GRID T4-16Q", 1),
    ]

    public static func nvidiaMdev(at sysfs: String, gpus: [(address: String, numaNode: Int)] = [("0000:3b:00.0", 0), ("0000:86:00.0", 1)]) throws -> SysfsTree {
        let tree = try SysfsTree(sysfs: sysfs)
        for gpu in gpus {
            let directory = try tree.addPCIDevice(gpu.address, device: "0x1eb8", numaNode: gpu.numaNode)
            try tree.addMdevParent(directory, types: t4Types.map { id, name, max in
                let framebuffer = 16384 / max
                return MdevTypeSpec("nvidia-\(id)", name: name,
                                    description: "num_heads=4, frl_config=60, framebuffer=\(framebuffer)M, max_resolution=5120x2880, max_instance=\(max)",
                                    available: max)
            })
        }
        return tree
    }

    /// H200 vGPU types as the vendor-specific VFIO layout lists them in `creatable_vgpu_types`.
    public static let h200Types: [(Int, String)] = [
        (1414, "NVIDIA H200X-1-18C"), (1415, "NVIDIA H200X-1-35C"), (1416, "NVIDIA H200X-2-35C"),
        (1417, "NVIDIA H200X-3-71C"), (1418, "NVIDIA H200X-4-71C"), (1419, "NVIDIA H200X-7-141C"),
        (1420, "NVIDIA H200X-4C"), (1421, "NVIDIA H200X-7C"), (1422, "NVIDIA H200X-8C"), (1423, "NVIDIA H200X-10C"),
        (1424, "NVIDIA H200X-14C"), (1425, "NVIDIA H200X-17C"), (1426, "NVIDIA H200X-35C"), (1427, "NVIDIA H200X-47C"),
        (1428, "NVIDIA H200X-70C"), (1429, "NVIDIA H200X-141C"),
    ]

    /// NVIDIA vendor-specific VFIO (vGPU 17+): H200 PFs, each with SR-IOV VFs carrying `nvidia/`.
    /// `assigned` maps a VF address to the type number it already runs.
    public static func nvidiaVFIO(at sysfs: String, pfs: [(address: String, numaNode: Int)] = [("0000:17:00.0", 0), ("0000:65:00.0", 1)],
                                  vfsPerPF: Int = 4, assigned: [String: Int] = [:]) throws -> SysfsTree {
        let tree = try SysfsTree(sysfs: sysfs)
        var group = 100
        for pf in pfs {
            try tree.addPCIDevice(pf.address, numaNode: pf.numaNode)
            for index in 0..<vfsPerPF {
                let vf = vfAddress(pf: pf.address, index: index)
                let directory = try tree.addPCIDevice(vf, numaNode: pf.numaNode, physfn: pf.address)
                let current = assigned[vf] ?? 0
                // The driver offers only the type a GPU already runs (time-sliced vGPUs are homogeneous).
                let runningOnPF = assigned.first { vfAddressPF($0.key) == pf.address }?.value
                let creatable = current != 0 ? [] : h200Types.filter { runningOnPF == nil || $0.0 == runningOnPF }
                try tree.addNVIDIAVFIO(directory, creatable: creatable, current: current, iommuGroup: group)
                group += 1
            }
        }
        return tree
    }

    /// The address of VF `index` of a PF: functions .4 onwards on the same bus (as H100/H200 number them).
    public static func vfAddress(pf: String, index: Int) -> String {
        let prefix = pf.split(separator: ":").prefix(2).joined(separator: ":")
        let slot = (4 + index) / 8, function = (4 + index) % 8
        return "\(prefix):\(String(format: "%02x", slot)).\(function)"
    }

    static func vfAddressPF(_ vf: String) -> String {
        vf.split(separator: ":").prefix(2).joined(separator: ":") + ":00.0"
    }
}

extension FixtureHosts {
    /// The VM tier's lab machine (vmtier/run.sh, `pci-*` scenarios) as its kernel lays it out: a boot VGA device
    /// on the root complex; behind the node-0 expander bridge a GPU alone on its root port, a GPU with its audio
    /// function in one slot, two GPUs behind a PCIe-to-PCI bridge (one IOMMU group with the bridge) and an igb
    /// SR-IOV NIC; behind the node-1 one a GPU and another igb. Group numbers and drivers are the ones the lab's
    /// kernel gives (pci-lab.sh prints them). `iommu: false` is the same machine booted without
    /// `intel_iommu=on` (no groups). `cpuVendor` goes to `/proc/cpuinfo` beside the tree (`<root>/proc`, for a
    /// tree at `<root>/sys`); nil writes none.
    public static func pciLab(at sysfs: String, iommu: Bool = true, cpuVendor: String? = nil) throws -> SysfsTree {
        let tree = try SysfsTree(sysfs: sysfs)
        if let cpuVendor { try tree.writeCPUInfo(vendorID: cpuVendor) }
        let group = { (number: Int) in iommu ? number : nil }
        let pxb0 = "pci0000:40", pxb1 = "pci0000:80"
        let bridge = { (address: String, under: String, number: Int, node: Int) -> PCIFunctionSpec in
            PCIFunctionSpec(address, vendor: "0x1b36", device: "0x000c", classCode: "0x060400", driver: "pcieport",
                            numaNode: node, iommuGroup: group(number), under: under)
        }
        let specs: [PCIFunctionSpec] = [
            PCIFunctionSpec("0000:00:00.0", vendor: "0x8086", device: "0x29c0", classCode: "0x060000", numaNode: -1, iommuGroup: group(0)),
            PCIFunctionSpec("0000:00:01.0", classCode: "0x030000", driver: "bochs-drm", numaNode: -1, iommuGroup: group(1), bootVGA: true),
            bridge("0000:40:00.0", pxb0, 11, 0),
            PCIFunctionSpec("0000:41:00.0", driver: "bochs-drm", iommuGroup: group(15), under: "\(pxb0)/0000:40:00.0"),
            bridge("0000:40:01.0", pxb0, 12, 0),
            PCIFunctionSpec("0000:42:00.0", driver: "bochs-drm", iommuGroup: group(16), under: "\(pxb0)/0000:40:01.0"),
            PCIFunctionSpec("0000:42:00.1", vendor: "0x8086", device: "0x293e", classCode: "0x040300", iommuGroup: group(16),
                            under: "\(pxb0)/0000:40:01.0"),
            bridge("0000:40:02.0", pxb0, 13, 0),
            PCIFunctionSpec("0000:43:00.0", vendor: "0x1b36", device: "0x000e", classCode: "0x060400", driver: "shpchp", iommuGroup: group(17),
                            under: "\(pxb0)/0000:40:02.0"),
            PCIFunctionSpec("0000:44:01.0", driver: "bochs-drm", iommuGroup: group(17), under: "\(pxb0)/0000:40:02.0/0000:43:00.0"),
            PCIFunctionSpec("0000:44:02.0", driver: "bochs-drm", iommuGroup: group(17), under: "\(pxb0)/0000:40:02.0/0000:43:00.0"),
            bridge("0000:40:03.0", pxb0, 14, 0),
            PCIFunctionSpec("0000:45:00.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000", driver: "igb", iommuGroup: group(18),
                            sriov: (7, 0), under: "\(pxb0)/0000:40:03.0"),
            bridge("0000:80:00.0", pxb1, 7, 1),
            PCIFunctionSpec("0000:81:00.0", driver: "bochs-drm", numaNode: 1, iommuGroup: group(9), under: "\(pxb1)/0000:80:00.0"),
            bridge("0000:80:01.0", pxb1, 8, 1),
            PCIFunctionSpec("0000:82:00.0", vendor: "0x8086", device: "0x10c9", classCode: "0x020000", driver: "igb", numaNode: 1,
                            iommuGroup: group(10), sriov: (7, 0), under: "\(pxb1)/0000:80:01.0"),
        ]
        for spec in specs { try tree.addPCIFunction(spec) }
        // The lab's initramfs loads vfio-pci (its driver directory is what says it is loaded).
        try FileManager.default.createDirectory(atPath: tree.path("bus/pci/drivers/vfio-pci"), withIntermediateDirectories: true)
        return tree
    }
}
