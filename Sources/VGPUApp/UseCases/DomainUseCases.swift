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
        placed.numaNode = NUMAPinning.node(ofDomain: try connection.xml(of: domain.name, inactive: true), nodeCPUs: nodeCPUs)
        let (placements, _) = try LifecyclePlanner.create(placed, uuids: uuids, inventory: inventory, config: host.placementConfig())
        let templates = try TemplateStore.load()
        var plan = try DomainPlanner.createAndAttach(placements, uuids: uuids, domain: domain.name, scope: scope) {
            try templates.hostdev(for: $0, options: options)
        }
        if persist { plan = DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes) }
        try execute(plan)
        return placements
    }

    public func attach(_ uuid: DeviceUUID, domain name: String, config: Bool, live: Bool, hostdev options: HostdevXML.Options) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: inventory(domains: true))
        let domain = try libvirt().domain(name)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        let xml = try TemplateStore.load().hostdev(for: vgpu, options: options)
        try execute(DomainPlanner.attach(vgpu, domain: domain.name, scope: scope, xml: xml))
    }

    public func detach(_ uuid: DeviceUUID) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: inventory(domains: true))
        let isActive = try vgpu.domain.map { try libvirt().domain($0).isActive } ?? false
        let xml = try TemplateStore.load().hostdev(for: vgpu)
        try execute(DomainPlanner.detach(vgpu, isActive: isActive, xml: xml))
    }

    public func destroy(domain name: String) throws {
        let inventory = try inventory(domains: true)
        let domain = try libvirt().domain(name)
        let templates = try TemplateStore.load()
        let plan = try DomainPlanner.destroy(domain: domain.name, isActive: domain.isActive, inventory: inventory) {
            try templates.hostdev(for: $0)
        }
        try execute(plan)
    }
}
