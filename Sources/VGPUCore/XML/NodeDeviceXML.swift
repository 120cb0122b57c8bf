/// A libvirt node device with the mdev capability (a vGPU) or mdev_types (a parent), as libvirt's node device
/// driver sees it: the cross-check of vgpuctl's own sysfs view, and what libvirt-based tools will show.
public struct NodeDevice: Codable, Equatable, Sendable {
    public var name: String
    public var parent: String?
    /// False for an mdev libvirt knows only as a definition (from mdevctl), not running now.
    public var active: Bool
    /// For an mdev: its UUID and type.
    public var uuid: DeviceUUID?
    public var type: String?
    /// For a parent: the types it offers.
    public var types: [VGPUType]

    enum CodingKeys: String, CodingKey { case name, parent, active, uuid, type, types }
}

/// Reads libvirt's node device XML (formatnode): `<device><name/><parent/><capability type='mdev'>` with
/// `<type id=''/>` and `<uuid>`, or `<capability type='mdev_types'>` with one `<type id=''>` per type.
public enum NodeDeviceXML {
    public static func parse(_ xml: String, active: Bool) -> NodeDevice {
        var device = NodeDevice(name: element("name", in: Substring(xml)) ?? "?", parent: element("parent", in: Substring(xml)),
                                active: active, uuid: nil, type: nil, types: [])
        for capability in blocks("capability", in: Substring(xml)) {
            switch DomainXML.attribute("type", in: String(capability.prefix { $0 != ">" })) {
            case "mdev":
                device.uuid = element("uuid", in: capability).flatMap { try? DeviceUUID(parsing: $0) }
                device.type = capability.firstRange(of: "<type").flatMap { DomainXML.attribute("id", in: String(capability[$0.lowerBound...].prefix { $0 != ">" })) }
            case "mdev_types":
                for type in blocks("type", in: capability.dropFirst()) {
                    guard let id = DomainXML.attribute("id", in: String(type.prefix { $0 != ">" })) else { continue }
                    device.types.append(VGPUType(id: id, name: element("name", in: type), deviceAPI: element("deviceAPI", in: type),
                                                 availableInstances: element("availableInstances", in: type).flatMap { Int($0) } ?? 0))
                }
            default: break
            }
        }
        return device
    }

    /// The text of the first `<tag>text</tag>` in `xml`.
    static func element(_ tag: String, in xml: Substring) -> String? {
        guard let open = xml.firstRange(of: "<\(tag)>"), let close = xml[open.upperBound...].firstRange(of: "</\(tag)>") else { return nil }
        return String(xml[open.upperBound..<close.lowerBound]).trimmingWhitespace
    }

    /// From each `<tag ` to the next `</tag>`. A PCI parent nests `<capability type='mdev_types'>` inside
    /// `<capability type='pci'>`; starting a block at every opening tag finds the inner one too.
    static func blocks(_ tag: String, in xml: Substring) -> [Substring] {
        var result: [Substring] = []
        var rest = xml
        while let start = rest.firstRange(of: "<\(tag) ") {
            guard let end = rest[start.upperBound...].firstRange(of: "</\(tag)>") else { break }
            result.append(rest[start.lowerBound..<end.upperBound])
            rest = rest[start.upperBound...]
        }
        return result
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
