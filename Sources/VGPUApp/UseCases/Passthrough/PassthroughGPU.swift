import VGPUCore
import VGPUHost

/// `vgpuctl passthrough ADDRESS --vm NAME`: every function of the card bound to vfio-pci (each one's driver
/// recorded) and attached to the domain, as one journaled plan that completes or is undone.
public struct PassthroughGPU: ChangeUseCase {
    public var request: PassthroughRequest
    public var config: Bool
    public var live: Bool

    public init(_ request: PassthroughRequest, config: Bool = false, live: Bool = false) {
        self.request = request
        self.config = config
        self.live = live
    }

    /// What was (or, for a dry run, would be) done.
    public struct Outcome: Sendable {
        public var domain: String
        public var functions: [PassthroughFunction]
        public var scope: AttachScope
        public var plan: Plan
    }

    public func run(in session: Session) throws -> Outcome {
        let outcome = try Self.decide(request, config: config, live: live, environment: session.environment,
                                      libvirt: session.libvirt(), templates: session.templates())
        try session.execute(outcome.plan)
        return outcome
    }

    /// The decision, shared with the dry run: the host's PCI state, vgpuctl's records and which domains name
    /// which PCI devices, through the pure planner.
    static func decide(_ request: PassthroughRequest, config: Bool, live: Bool, environment: Environment, libvirt: Hypervisor,
                       templates: HostdevXML) throws -> Outcome {
        _ = try PCIAddress(parsing: request.address)
        let host = try PCIDeviceReader(paths: environment.paths, os: environment.os).host()
        let binding = PCIDriverBinding(paths: environment.paths, os: environment.os)
        let domain = try libvirt.domain(request.domain)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        var namedBy: [String: [String]] = [:]
        for (source, domains) in try libvirt.usage() {
            if case let .pci(address) = source { namedBy[address] = domains.sorted() }
        }
        var named = request
        named.domain = domain.name
        let decided = try PassthroughPlanner.plan(named, host: host, namedBy: namedBy, records: binding.records.all(),
                                                  vfioLoaded: binding.vfioLoaded)
        let plan = try decided.steps(scope: scope) { try templates.hostdev(pciAddress: $0) }
        return Outcome(domain: domain.name, functions: decided.functions, scope: scope, plan: plan)
    }
}
