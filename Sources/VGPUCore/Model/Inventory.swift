/// How the kernel exposes a parent's vGPUs. Users never need to choose; it only decides which files are written.
public enum Layout: String, Codable, Sendable {
    /// `/sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/create` (mtty, i915 GVT-g, NVIDIA before vGPU 17).
    case mdev
    /// NVIDIA vendor-specific VFIO: an SR-IOV VF hosts one vGPU, chosen by writing `nvidia/current_vgpu_type`.
    case nvidiaVFIO = "nvidia-vfio"
}

/// One vGPU type offered by a parent. Its JSON (`types --json`) is written by `JSONWriter.parents` alone.
public struct VGPUType: Equatable, Sendable {
    /// The id users pass to `--type`: the mdev type directory name, or `nvidia-<id>` for vendor-specific VFIO.
    public var id: String
    public var name: String?
    public var description: String?
    /// `vfio-pci`, `vfio-ccw`, ...; vendor-specific VFIO VFs are always `vfio-pci`.
    public var deviceAPI: String?
    public var availableInstances: Int

    public init(id: String, name: String? = nil, description: String? = nil, deviceAPI: String? = nil, availableInstances: Int) {
        self.id = id
        self.name = name
        self.description = description
        self.deviceAPI = deviceAPI
        self.availableInstances = availableInstances
    }
}

/// A device that can host vGPUs: an mdev parent, or a vendor-specific VFIO VF. Its JSON (`types --json`) is
/// written by `JSONWriter.parents` alone.
public struct Parent: Equatable, Sendable {
    /// Directory name in `/sys/class/mdev_bus`, or the VF's PCI address.
    public var name: String
    public var layout: Layout
    /// The physical GPU this parent belongs to (the unit of placement): an SR-IOV VF's PF, else the parent itself.
    public var gpu: String
    /// PCI vendor id as sysfs prints it (`0x10de`); nil for virtual parents such as the mtty sample.
    public var vendor: String?
    /// NUMA node of the physical GPU; nil where sysfs says -1 or has no such file.
    public var numaNode: Int?
    public var types: [VGPUType]

    public init(name: String, layout: Layout, gpu: String, vendor: String? = nil, numaNode: Int? = nil, types: [VGPUType]) {
        self.name = name
        self.layout = layout
        self.gpu = gpu
        self.vendor = vendor
        self.numaNode = numaNode
        self.types = types
    }

    public func type(_ id: String) -> VGPUType? { types.first { $0.id == id } }
}

/// A vGPU that exists now (created in sysfs).
public struct VGPU: Codable, Equatable, Sendable {
    public var uuid: DeviceUUID
    public var parent: String
    public var type: String
    public var layout: Layout
    public var iommuGroup: Int?
    /// For vendor-specific VFIO: the VF's PCI address (what libvirt attaches). Nil for mdevs.
    public var pciAddress: String?
    /// Every libvirt domain whose definition or running state references this vGPU, sorted, filled in by the
    /// libvirt adapter. More than one is possible: libvirt lets two shut-off domains name the same mdev.
    public var domains: [String]

    /// The one domain that references it; nil when none does or several do (see `domains`).
    public var domain: String? { domains.count == 1 ? domains[0] : nil }

    public init(uuid: DeviceUUID, parent: String, type: String, layout: Layout, iommuGroup: Int? = nil,
                pciAddress: String? = nil, domains: [String] = []) {
        self.uuid = uuid
        self.parent = parent
        self.type = type
        self.layout = layout
        self.iommuGroup = iommuGroup
        self.pciAddress = pciAddress
        self.domains = domains.sorted()
    }

    /// The device it is: what a domain's `<hostdev>` names.
    public var source: HostdevSource { pciAddress.map(HostdevSource.pci) ?? .mdev(uuid) }

    enum CodingKeys: String, CodingKey {
        case uuid, parent, type, layout, iommuGroup = "iommu_group", pciAddress = "pci_address", domain, domains
    }

    /// `domains` always (a list), and `domain` too when exactly one domain references the vGPU, as before.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(uuid, forKey: .uuid)
        try container.encode(parent, forKey: .parent)
        try container.encode(type, forKey: .type)
        try container.encode(layout, forKey: .layout)
        try container.encodeIfPresent(iommuGroup, forKey: .iommuGroup)
        try container.encodeIfPresent(pciAddress, forKey: .pciAddress)
        try container.encodeIfPresent(domain, forKey: .domain)
        try container.encode(domains, forKey: .domains)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(uuid: try container.decode(DeviceUUID.self, forKey: .uuid), parent: try container.decode(String.self, forKey: .parent),
                  type: try container.decode(String.self, forKey: .type), layout: try container.decode(Layout.self, forKey: .layout),
                  iommuGroup: try container.decodeIfPresent(Int.self, forKey: .iommuGroup),
                  pciAddress: try container.decodeIfPresent(String.self, forKey: .pciAddress),
                  domains: try container.decodeIfPresent([String].self, forKey: .domains) ?? [])
    }
}

/// An immutable snapshot of the host's vGPU state: what every planner works from.
public struct Inventory: Equatable, Sendable {
    public var parents: [Parent]
    public var vgpus: [VGPU]
    /// Persistent definitions (mdevctl's and vgpuctl's own), whether or not the vGPU exists now.
    public var definitions: [Definition]

    public init(parents: [Parent], vgpus: [VGPU], definitions: [Definition] = []) {
        self.parents = parents.sorted { $0.name < $1.name }
        self.vgpus = vgpus.sorted { ($0.parent, $0.uuid) < ($1.parent, $1.uuid) }
        self.definitions = definitions.sorted { ($0.parent, $0.uuid) < ($1.parent, $1.uuid) }
    }

    public func parent(_ name: String) -> Parent? { parents.first { $0.name == name } }
    public func vgpu(_ uuid: DeviceUUID) -> VGPU? { vgpus.first { $0.uuid == uuid } }
    public func definition(_ uuid: DeviceUUID) -> Definition? { definitions.first { $0.uuid == uuid } }

    /// Every type id offered anywhere, sorted: used to suggest alternatives in error messages.
    public var typeIDs: [String] { Array(Set(parents.flatMap { $0.types.map(\.id) })).sorted() }
}

extension Inventory {
    /// The inventory with libvirt's `usage` (which domains' XML names which device) applied: each vGPU's
    /// `domains`, and every vendor-specific VFIO VF a domain names while it is no vGPU (reserved for a
    /// domain-lifetime vGPU the hook makes at start) offering nothing, so that no placement takes it.
    public func annotated(with usage: [HostdevSource: Set<String>]) -> Inventory {
        var annotated = self
        for index in annotated.vgpus.indices {
            annotated.vgpus[index].domains = (usage[annotated.vgpus[index].source] ?? []).sorted()
        }
        let vgpuParents = Set(vgpus.map(\.parent))
        for index in annotated.parents.indices where annotated.parents[index].layout == .nvidiaVFIO {
            let vf = annotated.parents[index].name
            guard !vgpuParents.contains(vf), !(usage[.pci(vf)] ?? []).isEmpty else { continue }
            for type in annotated.parents[index].types.indices { annotated.parents[index].types[type].availableInstances = 0 }
        }
        return annotated
    }
}
