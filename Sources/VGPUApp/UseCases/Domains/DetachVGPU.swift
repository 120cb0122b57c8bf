import VGPUCore
import VGPUHost

/// Detaches a vGPU from `domain` (needed when several domains name it), else from the one that does.
public struct DetachVGPU: ChangeUseCase {
    public var uuid: DeviceUUID
    public var domain: String?

    public init(_ uuid: DeviceUUID, from domain: String? = nil) {
        self.uuid = uuid
        self.domain = domain
    }

    public func run(in session: Session) throws {
        let vgpu = try LifecyclePlanner.existing(uuid, in: session.inventory(domains: true))
        let name = try DomainPlanner.detachedDomain(vgpu, requested: try domain.map { try session.libvirt().domain($0).name })
        let xml = try session.templates().hostdev(for: vgpu)
        try session.execute(DomainPlanner.detach(vgpu, from: name, isActive: try session.libvirt().domain(name).isActive, xml: xml,
                                                 requests: try session.libvirt().vgpuRequests(of: name)))
    }
}
