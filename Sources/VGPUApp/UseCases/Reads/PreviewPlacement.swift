import VGPUCore
import VGPUHost

/// `vgpuctl plan`: where `create` would place the vGPUs, and why; no lock, no change. With a domain, placement
/// prefers the NUMA node the domain is pinned to, as `create --vm` does (libvirt is asked for its definition).
public struct PreviewPlacement: ReadUseCase {
    public var request: PlacementRequest
    public var domain: String?

    public init(_ request: PlacementRequest, domain: String? = nil) {
        self.request = request
        self.domain = domain
    }

    public func read(in environment: Environment) throws -> [Placement] {
        var request = self.request
        if let domain {
            let connection = try environment.connect()
            let name = try connection.domain(domain).name
            request = try NUMAPinning.request(request, forDomain: name, inactiveXML: try connection.xml(of: name, inactive: true),
                                              nodeCPUs: SysfsReader(paths: environment.paths, os: environment.os).numaNodeCPUs())
        }
        return try Placer(inventory: environment.inventory(), config: environment.placementConfig()).place(request)
    }
}
