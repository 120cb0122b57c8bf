/// The device a `<hostdev>` refers to: an mdev by UUID, or a PCI host device (a vendor-specific VFIO VF) by address.
public enum HostdevSource: Hashable, Sendable, CustomStringConvertible {
    case mdev(DeviceUUID)
    /// `dddd:bb:ss.f`, lower-case hex, zero-padded as sysfs names it.
    case pci(String)

    public var description: String {
        switch self {
        case .mdev(let uuid): return "mdev \(uuid)"
        case .pci(let address): return "PCI device \(address)"
        }
    }

    /// The source of a `<hostdev>` element; nil for other hostdev kinds (USB, SCSI) or without a usable address.
    init?(hostdev: XMLNode) {
        guard hostdev.attribute("mode") ?? "subsystem" == "subsystem", let address = hostdev.path("source", "address") else { return nil }
        switch hostdev.attribute("type") {
        case "mdev":
            guard let uuid = address.attribute("uuid").flatMap({ try? DeviceUUID(parsing: $0) }) else { return nil }
            self = .mdev(uuid)
        case "pci":
            let domain = address.attribute("domain") ?? "0"
            guard let bus = address.attribute("bus"),
                  let slot = address.attribute("slot"), let function = address.attribute("function"),
                  let d = Self.number(domain), let b = Self.number(bus), let s = Self.number(slot), let f = Self.number(function) else { return nil }
            self = .pci("\(Self.hex(d, 4)):\(Self.hex(b, 2)):\(Self.hex(s, 2)).\(String(f, radix: 16))")
        default: return nil
        }
    }

    /// libvirt writes `0x17`; hand-written XML may say `23`.
    private static func number(_ text: String) -> Int? {
        text.hasPrefix("0x") || text.hasPrefix("0X") ? Int(text.dropFirst(2), radix: 16) : Int(text)
    }

    private static func hex(_ value: Int, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// One `<hostdev>` of a domain: its device and the alias libvirt gave it (device-removed events name aliases).
public struct DomainHostdev: Equatable, Sendable {
    public var source: HostdevSource
    public var alias: String?
}

/// What vgpuctl reads from a domain's XML (inactive, live, the status XML under /run/libvirt/qemu, or the
/// hook's stdin), read structurally: devices are `hostdev` children of `/domain/devices` in no namespace;
/// anything elsewhere (metadata, description, comments, CDATA, other namespaces) never counts.
public struct DomainDocument: Sendable {
    public let name: String?
    public let uuid: String?
    public let hostdevs: [DomainHostdev]
    /// The root element, for readers of other parts (metadata, NUMA pinning).
    public let root: XMLNode

    /// `what` names the document in errors ("the live XML of domain web01"). Accepts `<domain>` and libvirt's
    /// status XML (`<domstatus>` holding the `<domain>`).
    public init(xml: String, what: String) throws {
        var root = try XMLReader.parse(xml, what: what)
        if root.name == "domstatus", root.namespace == nil, let domain = root.child("domain") { root = domain }
        guard root.name == "domain", root.namespace == nil else {
            throw VGPUError(.invalidInput, "\(what) is not a libvirt domain (its root element is <\(root.name)>)",
                            fix: "give the XML of a domain, as 'virsh dumpxml' prints it")
        }
        self.root = root
        name = root.child("name")?.text
        uuid = root.child("uuid")?.text
        hostdevs = root.children("devices").flatMap { $0.children("hostdev") }.compactMap { element in
            HostdevSource(hostdev: element).map { DomainHostdev(source: $0, alias: element.child("alias")?.attribute("name")) }
        }
    }

    public var sources: Set<HostdevSource> { Set(hostdevs.map(\.source)) }
    public var mdevUUIDs: [DeviceUUID] { hostdevs.compactMap { if case .mdev(let uuid) = $0.source { return uuid } else { return nil } } }

    public func references(_ source: HostdevSource) -> Bool { hostdevs.contains { $0.source == source } }
    public func alias(of source: HostdevSource) -> String? { hostdevs.first { $0.source == source }?.alias }

    /// The device a single `<hostdev>` element (what vgpuctl generates from its templates) refers to.
    public static func source(ofHostdev xml: String) throws -> HostdevSource {
        let element = try XMLReader.parse(xml, what: "the hostdev XML")
        guard element.name == "hostdev", element.namespace == nil, let source = HostdevSource(hostdev: element) else {
            throw VGPUError(.internalError, "the hostdev XML names no mdev or PCI device: \(xml)", fix: "check xml-templates/")
        }
        return source
    }
}
