/// A libvirt node device with the mdev capability (a vGPU) or mdev_types (a parent), as libvirt's node device
/// driver sees it: the cross-check of vgpuctl's own sysfs view, and what libvirt-based tools will show. Its JSON
/// (`nodedevs --json`) is written by `JSONWriter.nodeDevices` alone.
public struct NodeDevice: Equatable, Sendable {
    public var name: String
    public var parent: String?
    /// False for an mdev libvirt knows only as a definition (from mdevctl), not running now.
    public var active: Bool
    /// For an mdev: its UUID and type.
    public var uuid: DeviceUUID?
    public var type: String?
    /// For a parent: the types it offers.
    public var types: [VGPUType]

    public init(name: String, parent: String?, active: Bool, uuid: DeviceUUID? = nil, type: String? = nil, types: [VGPUType] = []) {
        self.name = name
        self.parent = parent
        self.active = active
        self.uuid = uuid
        self.type = type
        self.types = types
    }
}

/// Reads libvirt's node device XML (formatnode): `<device><name/><parent/><capability type='mdev'>` with
/// `<type id=''/>` and `<uuid>`, or `<capability type='mdev_types'>` with one `<type id=''>` per type (for a PCI
/// parent nested inside `<capability type='pci'>`).
public enum NodeDeviceXML {
    public static func parse(_ xml: String, active: Bool) throws -> NodeDevice {
        let root = try XMLReader.parse(xml, what: "libvirt's node device XML")
        guard root.name == "device", root.namespace == nil else {
            throw VGPUError(.libvirt, "libvirt's node device XML has the root <\(root.name)>, not <device>", fix: "report this: libvirt's format changed")
        }
        var device = NodeDevice(name: root.child("name")?.text.trimmingWhitespace ?? "?",
                                parent: root.child("parent")?.text.trimmingWhitespace, active: active, uuid: nil, type: nil, types: [])
        for capability in capabilities(of: root) {
            switch capability.attribute("type") {
            case "mdev":
                device.uuid = capability.child("uuid").flatMap { try? DeviceUUID(parsing: $0.text.trimmingWhitespace) }
                device.type = capability.child("type")?.attribute("id")
            case "mdev_types":
                for type in capability.children("type") {
                    guard let id = type.attribute("id") else { continue }
                    let field = { (name: String) in type.child(name)?.text.trimmingWhitespace }
                    device.types.append(VGPUType(id: id, name: field("name"), deviceAPI: field("deviceAPI"),
                                                 availableInstances: field("availableInstances").flatMap { Int($0) } ?? 0))
                }
            default: break
            }
        }
        return device
    }

    /// The device's capabilities, and those nested one level inside them (mdev_types inside pci).
    private static func capabilities(of root: XMLNode) -> [XMLNode] {
        root.children("capability").flatMap { [$0] + $0.children("capability") }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
