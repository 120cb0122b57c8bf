import VGPUCore
import VGPUHost

/// `destroy --vm`: detaches every vGPU of a domain and removes those no other domain's definition names, and
/// gives back every PCI device `passthrough` gave it (detached, returned to its own driver), in one plan.
public struct DestroyDomainVGPUs: ChangeUseCase {
    public var domain: String

    public init(domain: String) { self.domain = domain }

    /// The vGPUs it removed, and those it only detached because another domain's definition names them too.
    public struct Outcome {
        public var removed: [VGPU]
        public var kept: [VGPU]
        /// Passed-through functions given back to their drivers.
        public var givenBack: [PassthroughRecord] = []
    }

    public func run(in session: Session) throws -> Outcome {
        let inventory = try session.inventory(domains: true)
        let domain = try session.libvirt().domain(self.domain)
        let templates = try session.templates()
        let requests = try session.libvirt().vgpuRequests(of: domain.name)
        var (plan, kept) = try DomainPlanner.destroy(domain: domain.name, isActive: domain.isActive, inventory: inventory, requests: requests) {
            try templates.hostdev(for: $0)
        }
        // A shut-off domain has no QEMU, so a process holding one of its vGPUs is foreign: refuse before any
        // step (the writer would refuse the removal too, after the detaches, which would then be undone). A
        // running domain's own QEMU holds its vGPUs until the live detach; the writer checks those.
        if !domain.isActive { try session.refuseHeldRemovals(plan, in: inventory) }
        let records = PassthroughRecords(paths: session.environment.paths, os: session.environment.os).all()
        var givenBack: [PassthroughRecord] = []
        if records.contains(where: { $0.domain == domain.name }) {
            let giveBack = try GiveBackGPU.plan(domain: domain, named: domain.name, only: nil, records: records, session: session)
            plan.steps += giveBack.steps
            givenBack = giveBack.steps.compactMap { if case let .restoreDriver(record) = $0 { record } else { nil } }
        }
        if !plan.steps.isEmpty { try session.execute(plan) }
        let removed = inventory.vgpus.filter { $0.domains.contains(domain.name) && !kept.contains($0) }
        return Outcome(removed: removed, kept: kept, givenBack: givenBack)
    }
}
