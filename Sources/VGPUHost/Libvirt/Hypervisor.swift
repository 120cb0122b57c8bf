import VGPUCore

/// A libvirt domain as vgpuctl needs to know it.
public struct DomainInfo: Equatable, Sendable {
    public var name: String
    public var uuid: String
    public var isActive: Bool

    public init(name: String, uuid: String, isActive: Bool) {
        self.name = name
        self.uuid = uuid
        self.isActive = isActive
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
}

extension Hypervisor {
    /// Which domain's definition (or running state) references each vGPU: mdevs by UUID, VFs by PCI address.
    public func usage() throws -> (mdevs: [DeviceUUID: String], pci: [String: String], running: Set<String>) {
        var mdevs: [DeviceUUID: String] = [:], pci: [String: String] = [:], running: Set<String> = []
        for domain in try domains() {
            var documents = [try xml(of: domain.name, inactive: true)]
            if domain.isActive {
                running.insert(domain.name)
                documents.append(try xml(of: domain.name, inactive: false))
            }
            for document in documents {
                for uuid in DomainXML.mdevUUIDs(in: document) { mdevs[uuid] = domain.name }
                for address in DomainXML.pciAddresses(in: document) { pci[address] = domain.name }
            }
        }
        return (mdevs, pci, running)
    }

    /// The inventory with each vGPU's `domain` filled in.
    public func annotate(_ inventory: Inventory) throws -> Inventory {
        let (mdevs, pci, _) = try usage()
        var annotated = inventory
        for index in annotated.vgpus.indices {
            let vgpu = annotated.vgpus[index]
            annotated.vgpus[index].domain = mdevs[vgpu.uuid] ?? vgpu.pciAddress.flatMap { pci[$0] }
        }
        return annotated
    }
}
