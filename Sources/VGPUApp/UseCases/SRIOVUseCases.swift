import VGPUCore
import VGPUHost

/// What enabling a PF's VFs did.
public enum SRIOVOutcome: Equatable, Sendable {
    case alreadyEnabled(Int)
    case enabled(Int)
}

/// How far a PF's VFs are: created by the kernel, and usable as vGPU parents (mdev parent registered, or the
/// vendor-specific VFIO `nvidia/` directory present).
public struct VFReadiness: Equatable, Sendable {
    public var wanted: Int
    public var vfs: [String]
    public var parents: [String]

    public init(wanted: Int, vfs: [String], parents: [String]) {
        self.wanted = wanted
        self.vfs = vfs
        self.parents = parents
    }

    public var isReady: Bool { vfs.count >= wanted && Set(vfs).isSubset(of: Set(parents)) }
}

/// SR-IOV VFs for vgpud (`sriov_numvfs` in the config). Writing `sriov_numvfs` is one idempotent write that needs
/// no undo, so it is not journaled; it is made under the host lock so no vgpuctl command reads the host mid-way.
extension HostSession {
    public func enableVFs(pf: String, count: Int) throws -> SRIOVOutcome {
        let device = SRIOVDevice(paths: host.paths, os: host.os, pf: pf)
        let (current, total) = try device.counts()
        switch SRIOVPolicy.decide(pf: pf, wanted: count, current: current, total: total) {
        case .alreadyEnabled: return .alreadyEnabled(current)
        case .refuse(let error): throw error
        case .enable(let wanted):
            try device.enable(wanted)
            return .enabled(wanted)
        }
    }
}

extension HostContext {
    /// Read-only (no lock): how many of a PF's VFs exist and host vGPU types.
    public func vfReadiness(pf: String, wanted: Int) -> VFReadiness {
        let vfs = SRIOVDevice(paths: paths, os: os, pf: pf).vfs()
        let parents = (try? SysfsReader(paths: paths, os: os).inventory().parents.map(\.name)) ?? []
        return VFReadiness(wanted: wanted, vfs: vfs, parents: parents.filter { vfs.contains($0) })
    }
}
