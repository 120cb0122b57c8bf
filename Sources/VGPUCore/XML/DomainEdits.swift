/// The changes vgpuctl makes to a domain's XML text as libvirt wrote it, for migration: only the attribute
/// values it means (found structurally, by the reader's byte ranges) or the element it inserts change; every
/// other byte stays, so libvirt's ABI check sees the same domain.
public enum DomainEdits {
    /// The qemu namespace libvirt reads `<qemu:override>` from.
    public static let qemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0"

    /// `xml` with each mdev UUID in `renames` replaced where it names a device: the source address of a
    /// `<hostdev type='mdev'>` under `/domain/devices`, and the `uuid` of vgpuctl's metadata device entry. A
    /// look-alike anywhere else (description, comments, other namespaces) is left as it is.
    public static func renamingVGPUs(in xml: String, _ renames: [DeviceUUID: DeviceUUID], what: String) throws -> String {
        guard !renames.isEmpty else { return xml }
        let domain = try DomainDocument(xml: xml, what: what)
        let addresses = domain.root.children("devices").flatMap { $0.children("hostdev") }
            .filter { $0.attribute("type") == "mdev" }.compactMap { $0.path("source", "address") }
        let metadata = VGPUMetadata.deviceElements(in: domain)
        var edits: [(range: Range<Int>, text: String)] = []
        for element in addresses + metadata {
            guard let attribute = element.attributes.first(where: { $0.name == "uuid" && $0.namespace == nil }),
                  let range = attribute.valueRange, let old = try? DeviceUUID(parsing: attribute.value),
                  let new = renames[old] else { continue }
            edits.append((range, new.text))
        }
        return replacing(edits, in: xml)
    }

    /// `xml` with `defined='auto|manual'` on each vgpuctl metadata device entry whose vGPU has a definition
    /// here (`definitions`: UUID → start policy), so the destination of a migration defines the vGPU it
    /// provides, as the source had it (VGPUMetadata).
    public static func recordingDefinitions(in xml: String, _ definitions: [DeviceUUID: Definition.Start], what: String) throws -> String {
        guard !definitions.isEmpty else { return xml }
        let domain = try DomainDocument(xml: xml, what: what)
        var edits: [(range: Range<Int>, text: String)] = []
        for element in VGPUMetadata.deviceElements(in: domain) {
            let attribute = { (name: String) in element.attributes.first { $0.name == name && $0.namespace == nil } }
            guard let uuid = attribute("uuid"), let uuidRange = uuid.valueRange, let id = try? DeviceUUID(parsing: uuid.value),
                  let start = definitions[id] else { continue }
            if let defined = attribute("defined"), let range = defined.valueRange {
                edits.append((range, start.rawValue))
            } else {
                // Right after the uuid value's closing quote.
                edits.append((uuidRange.upperBound + 1..<uuidRange.upperBound + 1, " defined='\(start.rawValue)'"))
            }
        }
        return replacing(edits, in: xml)
    }

    /// The user alias libvirt requires before a `<qemu:override>` may name a hostdev (`ua-` prefix).
    public static func userAlias(for uuid: DeviceUUID) -> String { "ua-vgpu-\(uuid.text)" }

    /// `xml` (a domain's persistent definition) with a `<qemu:override>` that sets two of QEMU's vfio-pci
    /// properties on the hostdev with `alias`: `x-device-dirty-page-tracking=off` (do not ask the device to log
    /// DMA) and `enable-migration=on` (migrate even though neither the device nor the legacy type1 IOMMU tracks
    /// dirty pages; QEMU then treats guest memory the device may write as dirty). Without the second, QEMU
    /// 10 adds a migration blocker for an mdev whose driver does not log DMA (the kernel's mtty sample, seen in
    /// the VM tier). Both are OnOffAuto properties, hence `type='string'`. libvirt merges several
    /// `<qemu:override>` elements, so the domain's own are left alone. Nil when the domain has the override
    /// already (nothing to change).
    public static func addingMigrationOverride(in xml: String, alias: String, what: String) throws -> String? {
        let domain = try DomainDocument(xml: xml, what: what)
        guard overrideDevices(in: domain, alias: alias).isEmpty else { return nil }
        guard domain.root.children("devices").flatMap({ $0.children("hostdev") }).contains(where: { $0.child("alias")?.attribute("name") == alias }) else {
            throw VGPUError(.internalError, "\(what) has no hostdev with alias \(alias) to override", fix: "report this")
        }
        let override = """
            <qemu:override xmlns:qemu='\(qemuNamespace)'>
                <qemu:device alias='\(alias)'>
                  <qemu:frontend>
                    <qemu:property name='x-device-dirty-page-tracking' type='string' value='off'/>
                    <qemu:property name='enable-migration' type='string' value='on'/>
                  </qemu:frontend>
                </qemu:device>
              </qemu:override>

            """
        // Just before the root's end tag: the last '<' of the root element as the reader delimited it.
        let bytes = Array(xml.utf8)
        guard let root = domain.root.range, let end = bytes[root].lastIndex(of: UInt8(ascii: "<")), end > root.lowerBound else {
            throw VGPUError(.internalError, "\(what) has no </domain> end tag", fix: "report this")
        }
        return replacing([(end..<end, "  " + override)], in: xml)
    }

    /// `xml` without the `<qemu:device>` override of `alias` (and without its `<qemu:override>` when that held
    /// nothing else).
    public static func removingMigrationOverride(in xml: String, alias: String, what: String) throws -> String? {
        let domain = try DomainDocument(xml: xml, what: what)
        let found = overrideDevices(in: domain, alias: alias)
        guard !found.isEmpty else { return nil }
        let bytes = Array(xml.utf8)
        let ranges = found.compactMap { override, device in override.children.count == 1 ? override.range : device.range }
        return replacing(ranges.map { (wholeLines($0, in: bytes), "") }, in: xml)
    }

    private static func overrideDevices(in domain: DomainDocument, alias: String) -> [(XMLNode, XMLNode)] {
        domain.root.children("override", namespace: qemuNamespace).flatMap { override in
            override.children("device", namespace: qemuNamespace).filter { $0.attribute("alias") == alias }.map { (override, $0) }
        }
    }

    /// `range` grown to the whole lines it covers when nothing but blanks shares them (so a removed element
    /// leaves no empty line behind).
    static func wholeLines(_ range: Range<Int>, in bytes: [UInt8]) -> Range<Int> {
        var start = range.lowerBound, end = range.upperBound
        while start > 0, bytes[start - 1] == 0x20 || bytes[start - 1] == 0x09 { start -= 1 }
        guard start == 0 || bytes[start - 1] == 0x0A else { return range }
        while end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { end += 1 }
        guard end == bytes.count || bytes[end] == 0x0A else { return range }
        return start..<min(end + 1, bytes.count)
    }

    /// Applies non-overlapping byte-range replacements (values are UUIDs: nothing to escape).
    static func replacing(_ edits: [(range: Range<Int>, text: String)], in xml: String) -> String {
        var bytes = Array(xml.utf8)
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            bytes.replaceSubrange(edit.range, with: Array(edit.text.utf8))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
