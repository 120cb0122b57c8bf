import VGPUCore

/// Whether GPUs exist as vGPU parents, by a few lookups per GPU rather than a full inventory (no type attributes
/// read), so that waiting for GPUs costs little and a no-op `apply` stays cheap.
public struct GPUPresence: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls

    public init(paths: HostPaths, os: SystemCalls) {
        self.paths = paths
        self.os = os
    }

    /// The ids among `gpus` that host no vGPU parent yet. A GPU id is a parent's name (`/sys/class/mdev_bus/ID`)
    /// or a PF's PCI address whose SR-IOV VFs are the parents (mdev parents, or NVIDIA vendor-specific VFIO VFs
    /// with `nvidia/creatable_vgpu_types`).
    public func missing(_ gpus: [String]) -> [String] {
        gpus.filter { !isPresent($0) }
    }

    func isPresent(_ gpu: String) -> Bool {
        if os.exists(Paths.join(paths.mdevBus, gpu)) { return true }
        let pf = Paths.join(paths.pciDevices, gpu)
        guard let names = try? os.list(pf) else { return false }
        for name in names where name.hasPrefix("virtfn") {
            guard let target = try? os.readLink(Paths.join(pf, name)) else { continue }
            let vf = Paths.basename(target)
            if os.exists(Paths.join(paths.mdevBus, vf)) || os.exists(Paths.join(paths.pciDevices, "\(vf)/nvidia/creatable_vgpu_types")) {
                return true
            }
        }
        return false
    }
}
