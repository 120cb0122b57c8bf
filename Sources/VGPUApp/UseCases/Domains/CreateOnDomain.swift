import VGPUCore
import VGPUHost

/// `create --vm`: places (preferring the domain's NUMA node), creates and attaches, one transaction.
public struct CreateOnDomain: ChangeUseCase {
    public var request: PlacementRequest
    public var uuids: [DeviceUUID]
    public var domain: String
    public var config: Bool
    public var live: Bool
    public var hostdev: HostdevXML.Options
    public var persist: Bool
    public var attributes: [Definition.Attribute]

    public init(_ request: PlacementRequest, uuids: [DeviceUUID], domain: String, config: Bool = false, live: Bool = false,
                hostdev: HostdevXML.Options = HostdevXML.Options(display: nil, ramfb: nil), persist: Bool = false,
                attributes: [Definition.Attribute] = []) {
        self.request = request
        self.uuids = uuids
        self.domain = domain
        self.config = config
        self.live = live
        self.hostdev = hostdev
        self.persist = persist
        self.attributes = attributes
    }

    public func run(in session: Session) throws -> [Placement] {
        try Validation.attributes(attributes)
        let connection = try session.libvirt()
        let inventory = try session.inventory(domains: true)
        let domain = try connection.domain(self.domain)
        let nodeCPUs = SysfsReader(paths: session.environment.paths, os: session.environment.os).numaNodeCPUs()
        let (placements, plan) = try DomainPlanner.createAndAttach(
            request, uuids: uuids, domain: domain.name, isActive: domain.isActive, inactiveXML: try connection.xml(of: domain.name, inactive: true),
            nodeCPUs: nodeCPUs, config: config, live: live, migratable: hostdev.migratable, inventory: inventory,
            placementConfig: session.environment.placementConfig(), hostdev: { try session.templates().hostdev(for: $0, options: hostdev) })
        try session.execute(persist ? DefinitionPlanner.persisting(plan, start: .auto, attributes: attributes) : plan)
        return placements
    }
}
