import VGPUCore
import VGPUHost

/// VFs that `apply` enabled on a PF (or, for a dry run, would enable).
public struct VFEnabling: Equatable, Sendable {
    public var pf: String
    public var count: Int

    public init(pf: String, count: Int) {
        self.pf = pf
        self.count = count
    }
}

/// `apply` on vendor-specific VFIO, before it waits for the layout's GPUs: enables the VFs of every PF the layout
/// names by address that has none (`SRIOVPolicy.enableForLayout`), so a layout is reached on a host whose VFs are
/// not enabled yet instead of failing for want of parents. One idempotent write per PF, not journaled (as vgpud's
/// `EnableVFs`): VFs without a type are no vGPUs, so a layout refused afterwards leaves no vGPU changed.
public struct EnableLayoutVFs: ChangeUseCase {
    public var layout: DeclaredLayout
    public var config: PlacementConfig

    public init(_ layout: DeclaredLayout, config: PlacementConfig) {
        self.layout = layout
        self.config = config
    }

    /// Decided again under the host lock, since a vgpud may have enabled them meanwhile.
    public func run(in session: Session) throws -> [VFEnabling] {
        let environment = session.environment
        let wanted = try Self.pending(layout, config: config, environment: environment)
        for enabling in wanted {
            try SRIOVDevice(paths: environment.paths, os: environment.os, pf: enabling.pf).enable(enabling.count)
        }
        return wanted
    }

    /// The PFs the layout names that need their VFs enabled, and how many; a config count the PF cannot give is
    /// refused (exit 2) before anything changes.
    static func pending(_ layout: DeclaredLayout, config: PlacementConfig, environment: Environment) throws -> [VFEnabling] {
        let presence = GPUPresence(paths: environment.paths, os: environment.os)
        return try presence.missing(layout.namedGPUs).compactMap { gpu in
            // Not an SR-IOV PF (a parent's name, a typo): left to the GPU wait, which names it.
            guard let (current, total) = try? SRIOVDevice(paths: environment.paths, os: environment.os, pf: gpu).counts() else { return nil }
            switch SRIOVPolicy.enableForLayout(pf: gpu, configured: config.rules[gpu]?.sriovNumVFs, current: current, total: total) {
            case .enable(let count)?: return VFEnabling(pf: gpu, count: count)
            case .refuse(let error)?: throw error
            case .alreadyEnabled?, nil: return nil
            }
        }
    }
}

/// `apply --dry-run`: the VFs `EnableLayoutVFs` would enable; no lock, no change.
public struct PendingLayoutVFs: ReadUseCase {
    public var layout: DeclaredLayout
    public var config: PlacementConfig

    public init(_ layout: DeclaredLayout, config: PlacementConfig) {
        self.layout = layout
        self.config = config
    }

    public func read(in environment: Environment) throws -> [VFEnabling] {
        try EnableLayoutVFs.pending(layout, config: config, environment: environment)
    }
}
