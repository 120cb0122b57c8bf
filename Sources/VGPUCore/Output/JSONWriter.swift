/// A hand-written JSON writer, in the two styles `JSONEncoder` has, for the outputs that have no Codable
/// encoding (`types --json`, the journal record); VGPUHostTests compares its bytes with stored files.
///
/// Why: the Codable encoder's intermediate tree and generic machinery (and the runtime's type lookups) are a
/// large share of `vgpuctl types --json` on a large host and of the journal record every multi-step operation
/// writes (the README's start-up section has the figures); this writes the bytes directly. Only those hot paths
/// use it, and their types are not Encodable; other `--json` outputs use `JSONEncoder`. Optional members are
/// left out when nil.
public struct JSONWriter {
    public enum Style {
        /// `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`: the caller writes keys in sorted order
        /// (UTF-8 byte order, as `.sortedKeys` sorts them).
        case pretty
        /// `[.sortedKeys]`: no whitespace, `/` escaped; the caller writes keys in sorted order.
        case compact
    }

    public let style: Style
    public private(set) var bytes: [UInt8] = []
    /// One entry per open array or object: whether it has had no member yet.
    private var empty: [Bool] = []

    public init(_ style: Style, reservingCapacity capacity: Int = 0) {
        self.style = style
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }
    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }

    /// Starts the next array element.
    public mutating func element() { separate() }

    /// Starts an object member, `"name" : ` (pretty) or `"name":` (compact); its value follows.
    public mutating func key(_ name: String) {
        separate()
        string(name)
        if style == .pretty { bytes.append(0x20) }
        bytes.append(UInt8(ascii: ":"))
        if style == .pretty { bytes.append(0x20) }
    }

    public mutating func int(_ value: Int) { bytes.append(contentsOf: String(value).utf8) }

    public mutating func bool(_ value: Bool) { bytes.append(contentsOf: (value ? "true" : "false").utf8) }

    /// A string, escaped as JSONEncoder escapes: `"` and `\`, \b \f \n \r \t by name, other control bytes as
    /// \u00xx (lowercase hex), `/` as `\/` in the compact style, everything else (non-ASCII included) as is.
    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        defer { bytes.append(UInt8(ascii: "\"")) }
        var value = value
        let slash: UInt8 = style == .compact ? UInt8(ascii: "/") : 0
        value.withUTF8 { utf8 in
            // Almost every string needs no escape: copy it whole.
            if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == slash }) {
                bytes.append(contentsOf: utf8)
            } else {
                escape(utf8)
            }
        }
    }

    private mutating func escape(_ utf8: UnsafeBufferPointer<UInt8>) {
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "/") where style == .compact: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "/")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                          hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
    }

    // Pretty: JSONEncoder puts a newline after every opening bracket and before every closing one, so an empty
    // array is `[` `\n` `\n` indent `]`; compact: no whitespace at all.
    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        if style == .pretty { bytes.append(0x0A) }
        empty.append(true)
    }

    private mutating func separate() {
        if empty[empty.count - 1] {
            empty[empty.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
            if style == .pretty { bytes.append(0x0A) }
        }
        indent(empty.count)
    }

    private mutating func close(_ bracket: UInt8) {
        empty.removeLast()
        if style == .pretty { bytes.append(0x0A) }
        indent(empty.count)
        bytes.append(bracket)
    }

    private mutating func indent(_ depth: Int) {
        guard style == .pretty else { return }
        for _ in 0..<2 * depth { bytes.append(0x20) }
    }
}

extension JSONWriter {
    /// `vgpuctl types --json` (keys sorted, nil members left out): Parent's only JSON encoding.
    public static func parents(_ parents: [Parent]) -> [UInt8] {
        var json = JSONWriter(.pretty, reservingCapacity: parents.reduce(64) { $0 + 160 + $1.types.count * 256 })
        json.beginArray()
        for parent in parents {
            json.element()
            json.beginObject()
            json.key("gpu"); json.string(parent.gpu)
            json.key("layout"); json.string(parent.layout.rawValue)
            if let numaNode = parent.numaNode { json.key("numa_node"); json.int(numaNode) }
            json.key("parent"); json.string(parent.name)
            json.key("types"); json.types(parent.types)
            if let vendor = parent.vendor { json.key("vendor"); json.string(vendor) }
            json.endObject()
        }
        json.endArray()
        return json.bytes
    }

    /// `vgpuctl nodedevs --json` (keys sorted, nil members left out): NodeDevice's only JSON encoding.
    public static func nodeDevices(_ devices: [NodeDevice]) -> [UInt8] {
        var json = JSONWriter(.pretty, reservingCapacity: devices.reduce(64) { $0 + 160 + $1.types.count * 256 })
        json.beginArray()
        for device in devices {
            json.element()
            json.beginObject()
            json.key("active"); json.bool(device.active)
            json.key("name"); json.string(device.name)
            if let parent = device.parent { json.key("parent"); json.string(parent) }
            if let type = device.type { json.key("type"); json.string(type) }
            json.key("types"); json.types(device.types)
            if let uuid = device.uuid { json.key("uuid"); json.string(uuid.text) }
            json.endObject()
        }
        json.endArray()
        return json.bytes
    }

    /// VGPUType's only JSON encoding, as `types --json` and `nodedevs --json` show it.
    mutating func types(_ types: [VGPUType]) {
        beginArray()
        for type in types {
            element()
            beginObject()
            key("available_instances"); int(type.availableInstances)
            if let description = type.description { key("description"); string(description) }
            if let deviceAPI = type.deviceAPI { key("device_api"); string(deviceAPI) }
            if let name = type.name { key("name"); string(name) }
            key("type"); string(type.id)
            endObject()
        }
        endArray()
    }
}
