/// What vgpud does with a PF's `sriov_numvfs` given the config's wish: enable VFs, never tear them down. The
/// kernel refuses to change a non-zero count to another non-zero one (EBUSY) without going through 0, and going
/// through 0 would destroy every VF and the vGPUs on them, so a different non-zero count is left alone and reported.
public enum SRIOVPolicy {
    public enum Decision: Equatable, Sendable {
        case alreadyEnabled
        case enable(Int)
        case refuse(VGPUError)
    }

    public static func decide(pf: String, wanted: Int, current: Int, total: Int?) -> Decision {
        if current == wanted { return .alreadyEnabled }
        if let total, wanted > total {
            return .refuse(VGPUError(.invalidInput, "GPU \(pf): sriov_numvfs = \(wanted) is more than the \(total) VFs it supports (sriov_totalvfs)",
                                     fix: "set sriov_numvfs to at most \(total) in [gpus.\"\(pf)\"]"))
        }
        if current != 0 {
            return .refuse(VGPUError(.busy, "GPU \(pf) already has \(current) VFs enabled, the config asks for \(wanted); left as it is",
                                     fix: "changing the count means disabling every VF first (echo 0 > sriov_numvfs) and the vGPUs on them: do it by hand when none is in use"))
        }
        return .enable(wanted)
    }
}

extension SRIOVPolicy {
    /// What `apply` does with a PF its layout names by address that hosts no vGPU parent yet: enables its VFs where
    /// it has none, the config's `sriov_numvfs` for it or else every VF it supports (as NVIDIA's `sriov-manage -e`
    /// does); nil where it has VFs already (their vendor driver may still be binding them: the GPU wait covers
    /// that) or no count is known.
    public static func enableForLayout(pf: String, configured: Int?, current: Int, total: Int?) -> Decision? {
        guard current == 0, let wanted = configured ?? total, wanted > 0 else { return nil }
        return decide(pf: pf, wanted: wanted, current: current, total: total)
    }

    /// The PF whose VFs vgpud enables again on this device event, and how many: a PF the config gives a
    /// `sriov_numvfs` whose driver has just bound (it was reloaded, or the PF came back), since a driver that
    /// unbinds takes its VFs with it and binds with none. Other events, and other PFs, enable nothing.
    public static func reenable(on event: UdevEvent, configured: [(pf: String, count: Int)]) -> (pf: String, count: Int)? {
        guard event.subsystem == "pci", event.action == "bind" else { return nil }
        return configured.first { $0.pf == event.sysname }
    }
}
