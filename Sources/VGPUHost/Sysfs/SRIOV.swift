import VGPUCore

/// A PF's SR-IOV state in sysfs: `sriov_numvfs` (write to enable VFs), `sriov_totalvfs`, and the `virtfnN` links
/// to the VFs the kernel created. Every access goes through `SystemCalls`.
public struct SRIOVDevice {
    public let paths: HostPaths
    public let os: SystemCalls
    public let pf: String

    public init(paths: HostPaths, os: SystemCalls, pf: String) {
        self.paths = paths
        self.os = os
        self.pf = pf
    }

    var directory: String { Paths.join(paths.pciDevices, pf) }

    /// Enabled and supported VF counts; throws not-found when the PF is absent or has no SR-IOV capability.
    public func counts() throws -> (current: Int, total: Int?) {
        guard os.exists(directory) else {
            throw VGPUError(.notFound, "GPU \(pf) (sriov_numvfs in the config) is not a PCI device on this host",
                            fix: "check the address in [gpus.\"\(pf)\"] against lspci -D")
        }
        guard let text = try? os.read(Paths.join(directory, "sriov_numvfs")), let current = Int(text.trimmingTrailingWhitespace) else {
            throw VGPUError(.notFound, "GPU \(pf) has no sriov_numvfs: not an SR-IOV physical function, or its driver is not loaded",
                            fix: "load the vendor driver first (vgpud.service should start after it), or drop sriov_numvfs for it")
        }
        let total = (try? os.read(Paths.join(directory, "sriov_totalvfs"))).flatMap { Int($0.trimmingTrailingWhitespace) }
        return (current, total)
    }

    public func enable(_ count: Int) throws {
        do {
            try os.write(Paths.join(directory, "sriov_numvfs"), "\(count)\n")
        } catch {
            throw VGPUError(.host, "could not enable \(count) VFs on \(pf): \(error)",
                            fix: "check dmesg; the PF's driver must support SR-IOV (NVIDIA: run its sriov-manage, or load nvidia with vGPU support)")
        }
    }

    /// The PCI addresses of the VFs that exist now (`virtfn0`…), in index order.
    public func vfs() -> [String] {
        let names = ((try? os.list(directory)) ?? []).filter { $0.hasPrefix("virtfn") }
        return names.compactMap { name -> (Int, String)? in
            guard let index = Int(name.dropFirst("virtfn".count)), let target = try? os.readLink(Paths.join(directory, name)) else { return nil }
            return (index, Paths.basename(target))
        }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
