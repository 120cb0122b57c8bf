/// A request to hand a whole GPU to a domain: `vgpuctl passthrough ADDRESS --vm NAME` (the command is not written
/// yet; this is its pure decision).
public struct PassthroughRequest: Equatable, Sendable {
    /// Any function of the card; the whole card goes.
    public var address: String
    public var domain: String
    /// Pass the boot VGA device through anyway (the host loses its console).
    public var allowBootVGA: Bool

    public init(address: String, domain: String, allowBootVGA: Bool = false) {
        self.address = address
        self.domain = domain
        self.allowBootVGA = allowBootVGA
    }
}

/// One function to move to `vfio-pci`, and the driver to give it back to afterwards (nil: none was bound).
public struct PassthroughFunction: Equatable, Sendable {
    public var address: String
    public var originalDriver: String?

    public init(address: String, originalDriver: String?) {
        self.address = address
        self.originalDriver = originalDriver
    }

    /// Already on vfio-pci: nothing to bind, and nothing to give back.
    public var needsBinding: Bool { originalDriver != "vfio-pci" }
}

/// What a passthrough does: every function of the card, in address order, bound to vfio-pci and attached to the
/// domain; `detach`, `destroy --vm` and `recover` give each back to its original driver.
public struct PassthroughPlan: Equatable, Sendable {
    public var domain: String
    public var functions: [PassthroughFunction]
}

/// Decides a whole-GPU passthrough from the host's PCI state and which domains already name which PCI devices.
/// Pure: the plan, or the first refusal as a typed error naming the fix (every reason is in its message).
public enum PassthroughPlanner {
    /// `namedBy`: PCI address -> the domains whose definitions name it as a hostdev.
    public static func plan(_ request: PassthroughRequest, host: PCIHost, namedBy: [String: [String]] = [:]) throws(VGPUError) -> PassthroughPlan {
        guard let device = host.device(request.address) else {
            throw VGPUError(.notFound, "no PCI device \(request.address)", fix: "run 'vgpuctl gpus' to see the GPUs and their addresses")
        }
        let card = host.slotFunctions(of: device)
        guard let gpu = GPUReport.reports(host).first(where: { report in card.contains { $0.address == report.device.address } }) else {
            throw VGPUError(.invalidInput, "\(request.address) is not a GPU (class \(device.classText)\(device.physfn.map { ", a VF of \($0)" } ?? ""))",
                            fix: "run 'vgpuctl gpus' to see the GPUs; a vendor-specific VFIO VF takes a vGPU with 'vgpuctl create --type'")
        }
        let refusals = gpu.refusals.filter { !(request.allowBootVGA && $0.refusal == .bootVGA) }
        if let first = refusals.first {
            let kind: VGPUError.Kind = switch first.refusal {
            case .iommuOff, .noIOMMUGroup: .host
            case .bootVGA: .invalidInput
            case .groupMemberInUse, .vgpusExist, .vfsEnabled: .busy
            }
            let message = refusals.map { $0.refusal.message($0.address) }.joined(separator: "; ")
            var fix = refusals.map { $0.refusal.fix($0.address) }.joined(separator: "; ")
            if first.refusal == .bootVGA { fix += " (or pass it through anyway, leaving the host without this console)" }
            throw VGPUError(kind, "cannot pass \(gpu.device.address) through: \(message)", fix: fix)
        }
        let functions = [gpu.device] + gpu.functions
        for function in functions {
            let others = (namedBy[function.address] ?? []).filter { $0 != request.domain }.sorted()
            if !others.isEmpty {
                throw VGPUError(.busy, "\(function.address) is already given to domain\(others.count == 1 ? "" : "s") \(others.joined(separator: ", "))",
                                fix: "detach it there first ('vgpuctl detach' or 'virsh detach-device')")
            }
        }
        return PassthroughPlan(domain: request.domain,
                               functions: functions.sorted { $0.address < $1.address }
                                   .map { PassthroughFunction(address: $0.address, originalDriver: $0.driver) })
    }
}
