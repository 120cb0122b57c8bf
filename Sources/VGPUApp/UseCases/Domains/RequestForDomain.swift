import VGPUCore
import VGPUHost

/// `create --vm --lifetime domain`: records the request and the hostdev in the domain's definition only; the
/// hook creates the vGPU at each start. A vendor-specific VFIO type reserves its VF now (placed preferring the
/// domain's NUMA node, VFs other domains name left out), since the hostdev names the VF.
public struct RequestForDomain: ChangeUseCase {
    public var type: String
    public var uuid: DeviceUUID
    public var domain: String
    public var group: String?
    public var policy: PlacementPolicy?
    public var hostdev: HostdevXML.Options

    public init(type: String, uuid: DeviceUUID, domain: String, group: String?, policy: PlacementPolicy?, hostdev: HostdevXML.Options) {
        self.type = type
        self.uuid = uuid
        self.domain = domain
        self.group = group
        self.policy = policy
        self.hostdev = hostdev
    }

    @discardableResult
    public func run(in session: Session) throws -> Placement? {
        let connection = try session.libvirt()
        let domain = try connection.domain(self.domain)
        let inventory = try session.inventory(domains: true)
        let pinned = try NUMAPinning.request(PlacementRequest(type: type), forDomain: domain.name,
                                             inactiveXML: try connection.xml(of: domain.name, inactive: true),
                                             nodeCPUs: SysfsReader(paths: session.environment.paths, os: session.environment.os).numaNodeCPUs())
        let templates = try session.templates()
        let (plan, placement) = try DomainPlanner.requestForDomain(
            type: type, uuid: uuid, domain: domain.name, inventory: inventory, hostdev: { try templates.hostdev(for: $0, options: hostdev) },
            group: group, policy: policy, migratable: hostdev.migratable, numaNode: pinned.numaNode, config: session.environment.placementConfig())
        try session.execute(plan)
        return placement
    }
}
