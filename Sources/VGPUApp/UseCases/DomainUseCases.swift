import VGPUCore
import VGPUHost

/// vGPUs and libvirt domains: create-and-attach, attach, detach, destroy.
extension HostSession {
    /// Places (preferring the domain's NUMA node), creates and attaches: one transaction.
    public func create(_ request: PlacementRequest, uuids: [DeviceUUID], domain name: String, config: Bool, live: Bool,
                       hostdev options: HostdevXML.Options, persist: Bool, attributes: [Definition.Attribute] = []) throws -> [Placement] {
        try Validation.attributes(attributes)
        let connection = try libvirt()
        let inventory = try inventory(domains: true)
        let domain = try connection.domain(name)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        let nodeCPUs = SysfsReader(paths: host.paths, os: host.os).numaNodeCPUs()
        var placed = request
        let definition = try DomainDocument(xml: try connection.xml(of: domain.name, inactive: true), what: "the inactive XML of domain \(domain.name)")
        placed.numaNode = NUMAPinning.node(ofDomain: definition, nodeCPUs: nodeCPUs)
        let (placements, _) = try LifecyclePlanner.create(placed, uuids: uuids, inventory: inventory, config: host.placementConfig())
        let templates = try templates()
        var plan = try DomainPlanner.createAndAttach(placements, uuids: uuids, domain: domain.name, scope: scope, migratable: options.migratable) {
            try templates.hostdev(for: $0, options: options)
        }
        if persist { plan = DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes) }
        try execute(plan)
        return placements
    }

    /// `create --vm --lifetime domain`: records the request and the hostdev in the domain's definition only.
    public func requestForDomain(type: String, uuid: DeviceUUID, domain name: String, group: String?, policy: PlacementPolicy?,
                                 hostdev options: HostdevXML.Options) throws {
        let domain = try libvirt().domain(name)
        let xml = try templates().hostdev(for: VGPU(uuid: uuid, parent: "", type: type, layout: .mdev), options: options)
        try execute(DomainPlanner.requestForDomain(type: type, uuid: uuid, domain: domain.name, inventory: host.inventory(),
                                                   hostdev: xml, group: group, policy: policy, migratable: options.migratable))
    }

    public func attach(_ uuid: DeviceUUID, domain name: String, config: Bool, live: Bool, hostdev options: HostdevXML.Options) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: inventory(domains: true))
        let domain = try libvirt().domain(name)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        let xml = try templates().hostdev(for: vgpu, options: options)
        try execute(DomainPlanner.attach(vgpu, domain: domain.name, scope: scope, xml: xml, migratable: options.migratable))
    }

    /// Detaches from `domain` (needed when several domains name the vGPU), else from the one that does.
    public func detach(_ uuid: DeviceUUID, from domain: String? = nil) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: inventory(domains: true))
        let name = try DomainPlanner.detachedDomain(vgpu, requested: try domain.map { try libvirt().domain($0).name })
        let xml = try templates().hostdev(for: vgpu)
        try execute(DomainPlanner.detach(vgpu, from: name, isActive: try libvirt().domain(name).isActive, xml: xml,
                                         requests: try libvirt().vgpuRequests(of: name)))
    }

    /// What `destroy --vm` did: the vGPUs it removed, and those it only detached because another domain's
    /// definition names them too.
    public struct DestroyOutcome {
        public var removed: [VGPU]
        public var kept: [VGPU]
    }

    public func destroy(domain name: String) throws -> DestroyOutcome {
        let inventory = try inventory(domains: true)
        let domain = try libvirt().domain(name)
        let templates = try templates()
        let requests = try libvirt().vgpuRequests(of: domain.name)
        let (plan, kept) = try DomainPlanner.destroy(domain: domain.name, isActive: domain.isActive, inventory: inventory, requests: requests) {
            try templates.hostdev(for: $0)
        }
        // A shut-off domain has no QEMU, so a process holding one of its vGPUs is foreign: refuse before any
        // step (the writer would refuse the removal too, after the detaches, which would then be undone). A
        // running domain's own QEMU holds its vGPUs until the live detach; the writer checks those.
        if !domain.isActive { try refuseHeldRemovals(plan, in: inventory) }
        if !plan.steps.isEmpty { try execute(plan) }
        let removed = inventory.vgpus.filter { $0.domains.contains(domain.name) && !kept.contains($0) }
        return DestroyOutcome(removed: removed, kept: kept)
    }
}
