import VGPUCore
import VGPUHost

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

/// How many of a PF's VFs exist and host vGPU types; no lock.
public struct ReadVFReadiness: ReadUseCase {
    public var pf: String
    public var wanted: Int

    public init(pf: String, wanted: Int) {
        self.pf = pf
        self.wanted = wanted
    }

    public func read(in environment: Environment) throws -> VFReadiness {
        let vfs = SRIOVDevice(paths: environment.paths, os: environment.os, pf: pf).vfs()
        let parents = (try? SysfsReader(paths: environment.paths, os: environment.os).inventory().parents.map(\.name)) ?? []
        return VFReadiness(wanted: wanted, vfs: vfs, parents: parents.filter { vfs.contains($0) })
    }
}
