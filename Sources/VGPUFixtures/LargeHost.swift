import Foundation

/// Which layout a generated host uses.
public enum FixtureLayout: String, CaseIterable, Sendable {
    /// A100/A30-style: every SR-IOV VF is an mdev parent offering every type.
    case mdev
    /// vGPU 17+ vendor-specific VFIO: every VF lists its creatable types in `nvidia/`.
    case vfio
    /// Half the GPUs of each.
    case both
}

extension FixtureHosts {
    /// A large SR-IOV host for benchmarks: `gpus` PFs × `vfsPerGPU` VFs × `types` types.
    public static func large(at sysfs: String, gpus: Int = 8, vfsPerGPU: Int = 32, types: Int = 24,
                             layout: FixtureLayout = .mdev) throws -> SysfsTree {
        let tree = try SysfsTree(sysfs: sysfs)
        let typeList = (0..<types).map { (500 + $0, "NVIDIA A100-\($0 + 1)-\(80 / ($0 + 1))C") }
        var group = 1
        for gpu in 0..<gpus {
            let pf = String(format: "0000:%02x:00.0", 0x17 + gpu * 0x10)
            try tree.addPCIDevice(pf, device: "0x20b5", numaNode: gpu < gpus / 2 ? 0 : 1)
            let vfio = layout == .vfio || (layout == .both && gpu % 2 == 1)
            for index in 0..<vfsPerGPU {
                let vf = vfAddress(pf: pf, index: index)
                let directory = try tree.addPCIDevice(vf, device: "0x20b5", numaNode: gpu < gpus / 2 ? 0 : 1, physfn: pf)
                if vfio {
                    try tree.addNVIDIAVFIO(directory, creatable: typeList, current: 0, iommuGroup: group)
                } else {
                    try tree.addMdevParent(directory, types: typeList.map { id, name in
                        MdevTypeSpec("nvidia-\(id)", name: name,
                                     description: "num_heads=1, frl_config=60, framebuffer=\(81920 / (id - 499))M, max_resolution=4096x2160, max_instance=1",
                                     available: 1)
                    })
                }
                group += 1
            }
        }
        return tree
    }
}
