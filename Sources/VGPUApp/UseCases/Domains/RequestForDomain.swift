import VGPUCore
import VGPUHost

/// `create --vm --lifetime domain`: records the request and the hostdev in the domain's definition only; the
/// hook creates the vGPU at each start.
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

    public func run(in session: Session) throws {
        let domain = try session.libvirt().domain(self.domain)
        let xml = try session.templates().hostdev(for: VGPU(uuid: uuid, parent: "", type: type, layout: .mdev), options: hostdev)
        try session.execute(DomainPlanner.requestForDomain(type: type, uuid: uuid, domain: domain.name, inventory: session.environment.inventory(),
                                                           hostdev: xml, group: group, policy: policy, migratable: hostdev.migratable))
    }
}
