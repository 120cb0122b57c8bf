/// The libvirt XML vgpuctl generates (from `xml-templates/`) and reads back (from domain definitions).
public struct HostdevXML: Sendable {
    public struct Options: Equatable, Sendable {
        /// `display='on'`: expose the vGPU's display (needs a graphics device in the domain).
        public var display: Bool?
        /// `ramfb='on'`: a boot display before the guest driver loads (requires display on).
        public var ramfb: Bool?
        /// `--migratable`: a user alias (`ua-vgpu-UUID`) so a `<qemu:override>` can name the device, and that
        /// override (DomainEdits.addingMigrationOverride) in the domain's definition.
        public var migratable: Bool
        public init(display: Bool? = nil, ramfb: Bool? = nil, migratable: Bool = false) {
            self.display = display
            self.ramfb = ramfb
            self.migratable = migratable
        }
    }

    public let mdev: Template
    public let pci: Template
    public let nodedev: Template
    /// One `<vgpu:device>` of vgpuctl's domain metadata (VGPUMetadata).
    public let metadataDevice: Template

    public init(mdev: Template, pci: Template, nodedev: Template,
                metadataDevice: Template = Template(name: "metadata-device", text: "<device uuid='{{uuid}}' type='{{type}}' lifetime='{{lifetime}}'{{#group}} group='{{group}}'{{/group}}{{#policy}} policy='{{policy}}'{{/policy}}{{#defined}} defined='{{defined}}'{{/defined}}{{#vf}} vf='{{vf}}'{{/vf}}/>")) {
        self.mdev = mdev
        self.pci = pci
        self.nodedev = nodedev
        self.metadataDevice = metadataDevice
    }

    /// The `<vgpu:vgpus>` metadata element recording `requests`; nil for none.
    public func metadata(_ requests: [VGPURequest]) throws -> String? {
        try VGPUMetadata.element(requests, device: metadataDevice)
    }

    /// The `<hostdev>` that attaches a vGPU: mdev by UUID, or a vendor-specific VFIO VF by PCI address with
    /// managed='no' (so libvirt leaves the VF on NVIDIA's VFIO variant driver).
    public func hostdev(for vgpu: VGPU, options: Options = Options()) throws -> String {
        switch vgpu.layout {
        case .mdev:
            return try mdev.render([
                "uuid": vgpu.uuid.text,
                "display": options.display.map { $0 ? "on" : "off" } ?? "",
                "ramfb": options.ramfb.map { $0 ? "on" : "off" } ?? "",
                "alias": options.migratable ? DomainEdits.userAlias(for: vgpu.uuid) : "",
            ])
        case .nvidiaVFIO:
            let address = try PCIAddress(parsing: vgpu.pciAddress ?? vgpu.parent)
            return try pci.render(["pci_domain": address.domain, "pci_bus": address.bus, "pci_slot": address.slot, "pci_function": address.function])
        }
    }

    /// libvirt's node device XML for an mdev (`virsh nodedev-define` understands it).
    public func nodedev(for vgpu: VGPU) throws -> String {
        let parent = PCIAddress.nodedevName(vgpu.parent)
        // libvirt names an mdev node device mdev_<uuid with underscores>_<parent node device>.
        let name = "mdev_" + String(vgpu.uuid.text.map { $0 == "-" ? "_" : $0 }) + "_" + parent
        return try nodedev.render(["nodedev_name": name, "parent_nodedev": parent, "type": vgpu.type, "uuid": vgpu.uuid.text])
    }
}

/// A PCI address `dddd:bb:ss.f`.
public struct PCIAddress: Equatable, Sendable {
    public let domain: String, bus: String, slot: String, function: String

    public init(parsing text: String) throws {
        let parts = text.split(separator: ":")
        let slotFunction = parts.last?.split(separator: ".") ?? []
        let isHex = { (s: Substring) in !s.isEmpty && s.allSatisfy(\.isHexDigit) }
        guard parts.count == 3, slotFunction.count == 2, isHex(parts[0]), isHex(parts[1]), isHex(slotFunction[0]), isHex(slotFunction[1]) else {
            throw VGPUError(.invalidInput, "'\(Validation.printable(text))' is not a PCI address", fix: "give it as dddd:bb:ss.f, e.g. 0000:17:00.4")
        }
        (domain, bus, slot, function) = (String(parts[0]), String(parts[1]), String(slotFunction[0]), String(slotFunction[1]))
    }

    /// `dddd:bb:ss.f`, as it was parsed.
    public var text: String { "\(domain):\(bus):\(slot).\(function)" }

    /// libvirt's node device name for a parent: `pci_0000_3b_00_0` for PCI devices, the name itself otherwise.
    public static func nodedevName(_ parent: String) -> String {
        guard let address = try? PCIAddress(parsing: parent) else { return parent }
        return "pci_\(address.domain)_\(address.bus)_\(address.slot)_\(address.function)"
    }
}

