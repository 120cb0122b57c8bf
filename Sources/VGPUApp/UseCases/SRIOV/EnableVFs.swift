import VGPUCore
import VGPUHost

/// What enabling a PF's VFs did.
public enum SRIOVOutcome: Equatable, Sendable {
    case alreadyEnabled(Int)
    case enabled(Int)
}

/// SR-IOV VFs for vgpud (`sriov_numvfs` in the config). Writing `sriov_numvfs` is one idempotent write that needs
/// no undo, so it is not journaled; it is made under the host lock so no vgpuctl command reads the host mid-way.
public struct EnableVFs: ChangeUseCase {
    public var pf: String
    public var count: Int

    public init(pf: String, count: Int) {
        self.pf = pf
        self.count = count
    }

    public func run(in session: Session) throws -> SRIOVOutcome {
        let device = SRIOVDevice(paths: session.environment.paths, os: session.environment.os, pf: pf)
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
