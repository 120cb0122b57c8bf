/// The libvirt XML vgpuctl generates (from `xml-templates/`) and reads back (from domain definitions).
public struct HostdevXML: Sendable {
    public struct Options: Equatable, Sendable {
        /// `display='on'`: expose the vGPU's display (needs a graphics device in the domain).
        public var display: Bool?
        /// `ramfb='on'`: a boot display before the guest driver loads (requires display on).
        public var ramfb: Bool?
        public init(display: Bool? = nil, ramfb: Bool? = nil) {
            self.display = display
            self.ramfb = ramfb
        }
    }

    public let mdev: Template
    public let pci: Template
    public let nodedev: Template

    public init(mdev: Template, pci: Template, nodedev: Template) {
        self.mdev = mdev
        self.pci = pci
        self.nodedev = nodedev
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

    /// libvirt's node device name for a parent: `pci_0000_3b_00_0` for PCI devices, the name itself otherwise.
    public static func nodedevName(_ parent: String) -> String {
        guard let address = try? PCIAddress(parsing: parent) else { return parent }
        return "pci_\(address.domain)_\(address.bus)_\(address.slot)_\(address.function)"
    }
}

/// Reads what a domain's XML references: mdev UUIDs and PCI host devices. libvirt writes its own XML in one
/// canonical form, so a scanner for `<hostdev>` elements is enough; it never evaluates anything.
public enum DomainXML {
    public static func mdevUUIDs(in xml: String) -> [DeviceUUID] {
        hostdevs(in: xml).filter { attribute("type", in: $0) == "mdev" }.compactMap { element in
            attribute("uuid", in: element).flatMap { try? DeviceUUID(parsing: $0) }
        }
    }

    /// PCI addresses of `<hostdev type='pci'>` sources, as `dddd:bb:ss.f`.
    public static func pciAddresses(in xml: String) -> [String] {
        hostdevs(in: xml).filter { attribute("type", in: $0) == "pci" }.compactMap { element in
            guard let source = element.firstRange(of: "<source") else { return nil }
            let rest = String(element[source.lowerBound...])
            guard let domain = attribute("domain", in: rest), let bus = attribute("bus", in: rest),
                  let slot = attribute("slot", in: rest), let function = attribute("function", in: rest) else { return nil }
            let strip = { (s: String) in String(s.hasPrefix("0x") ? s.dropFirst(2) : Substring(s)) }
            let pad = { (s: String, n: Int) in String(repeating: "0", count: max(0, n - s.count)) + s }
            return "\(pad(strip(domain), 4)):\(pad(strip(bus), 2)):\(pad(strip(slot), 2)).\(strip(function))"
        }
    }

    /// The alias libvirt gave (`<alias name='hostdev1'/>`) to the hostdev in `domain` that refers to the same
    /// device as `hostdev` (same mdev UUID or PCI address): device-removed events name devices by alias.
    public static func alias(in domain: String, of hostdev: String) -> String? {
        let uuids = Set(mdevUUIDs(in: hostdev)), addresses = Set(pciAddresses(in: hostdev))
        let match = hostdevs(in: domain).first { element in
            mdevUUIDs(in: element).contains(where: uuids.contains) || pciAddresses(in: element).contains(where: addresses.contains)
        }
        guard let match, let tag = match.firstRange(of: "<alias") else { return nil }
        return attribute("name", in: String(match[tag.lowerBound...].prefix { $0 != ">" }))
    }

    /// The NUMA node a domain pins its memory to (`<numatune><memory nodeset='1'/>`), when it names exactly one:
    /// placement prefers GPUs on that node.
    public static func numaNode(in xml: String) -> Int? {
        guard let tune = xml.firstRange(of: "<numatune"), let memory = xml[tune.upperBound...].firstRange(of: "<memory") else { return nil }
        let element = xml[memory.lowerBound...].prefix { $0 != ">" }
        return attribute("nodeset", in: String(element)).flatMap { Int($0) }
    }

    static func hostdevs(in xml: String) -> [String] {
        var result: [String] = []
        var rest = Substring(xml)
        while let start = rest.firstRange(of: "<hostdev") {
            let end = rest[start.upperBound...].firstRange(of: "</hostdev>")?.upperBound ?? rest.endIndex
            result.append(String(rest[start.lowerBound..<end]))
            rest = rest[end...]
        }
        return result
    }

    /// The first `name='value'` (or `name="value"`) in `element`, matched on a whole attribute name.
    static func attribute(_ name: String, in element: String) -> String? {
        var rest = Substring(element)
        while let match = rest.firstRange(of: name + "=") {
            let before = match.lowerBound == rest.startIndex ? " " : rest[rest.index(before: match.lowerBound)]
            let quote = rest[match.upperBound...].first
            if before.isWhitespace, let quote, quote == "'" || quote == "\"" {
                let valueStart = rest.index(after: match.upperBound)
                guard let close = rest[valueStart...].firstIndex(of: quote) else { return nil }
                return String(rest[valueStart..<close])
            }
            rest = rest[match.upperBound...]
        }
        return nil
    }
}
