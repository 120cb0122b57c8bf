import VGPUCore

/// A libvirt domain as vgpuctl needs to know it.
public struct DomainInfo: Equatable, Sendable {
    public var name: String
    public var uuid: String
    public var isActive: Bool
    /// libvirt starts it when libvirtd starts (reconcile provides its vGPUs ahead of that).
    public var autostart: Bool

    public init(name: String, uuid: String, isActive: Bool, autostart: Bool = false) {
        self.name = name
        self.uuid = uuid
        self.isActive = isActive
        self.autostart = autostart
    }
}

/// What vgpuctl asks of libvirt. `LibvirtConnection` is the real one; tests use fakes that can fail on demand.
public protocol Hypervisor: AnyObject {
    /// By name, or by UUID when the text is one. Throws `.notFound` for an unknown domain.
    func domain(_ nameOrUUID: String) throws -> DomainInfo
    func domains() throws -> [DomainInfo]
    /// The persistent definition (`inactive`) or the running domain's XML.
    func xml(of domain: String, inactive: Bool) throws -> String
    func attach(_ xml: String, to domain: String, scope: AttachScope) throws
    /// For a live detach, waits up to `timeout` seconds for the guest to release the device.
    func detach(_ xml: String, from domain: String, scope: AttachScope, timeout: Double) throws
    /// Defines (or redefines) a domain from its XML: the persistent definition changes, a running domain not.
    func define(_ xml: String) throws
    /// Replaces the domain's metadata element in `namespace` with `element` (nil removes it).
    func setMetadata(_ element: String?, namespace: String, prefix: String, domain: String, scope: AttachScope) throws
}

extension Hypervisor {
    /// Which domains' definitions (or running state) reference each device. A device may be named by several
    /// shut-off domains; every one is kept, never the last one read.
    public func usage() throws -> [HostdevSource: Set<String>] {
        var usage: [HostdevSource: Set<String>] = [:]
        for domain in try domains() {
            var documents = [("inactive", try xml(of: domain.name, inactive: true))]
            if domain.isActive { documents.append(("live", try xml(of: domain.name, inactive: false))) }
            for (kind, text) in documents {
                let document = try DomainDocument(xml: text, what: "the \(kind) XML of domain \(domain.name)")
                for source in document.sources { usage[source, default: []].insert(domain.name) }
            }
        }
        return usage
    }

    /// The vGPUs a domain's persistent definition asks for in vgpuctl's metadata.
    public func vgpuRequests(of domain: String) throws -> [VGPURequest] {
        VGPUMetadata.requests(in: try DomainDocument(xml: xml(of: domain, inactive: true), what: "the inactive XML of domain \(domain)")).requests
    }

    /// The inventory with each vGPU's `domains` filled in (and VFs domains reserve left out of placement).
    public func annotate(_ inventory: Inventory) throws -> Inventory {
        inventory.annotated(with: try usage())
    }
}
