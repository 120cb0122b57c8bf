import VGPUCore
import VGPUHost

/// Attaches an existing vGPU to a domain's definition and, if it runs, to the running domain.
public struct AttachVGPU: ChangeUseCase {
    public var uuid: DeviceUUID
    public var domain: String
    public var config: Bool
    public var live: Bool
    public var hostdev: HostdevXML.Options

    public init(_ uuid: DeviceUUID, domain: String, config: Bool, live: Bool, hostdev: HostdevXML.Options) {
        self.uuid = uuid
        self.domain = domain
        self.config = config
        self.live = live
        self.hostdev = hostdev
    }

    public func run(in session: Session) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: session.inventory(domains: true))
        let domain = try session.libvirt().domain(self.domain)
        let scope = try DomainPlanner.scope(config: config, live: live, domain: domain.name, isActive: domain.isActive)
        let xml = try session.templates().hostdev(for: vgpu, options: hostdev)
        try session.execute(DomainPlanner.attach(vgpu, domain: domain.name, scope: scope, xml: xml, migratable: hostdev.migratable))
    }
}
