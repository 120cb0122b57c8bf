/// A persistent vGPU definition: what mdevctl keeps in `/etc/mdevctl.d/<parent>/<uuid>`
/// (`{"mdev_type": ..., "start": "auto"|"manual", "attrs": []}`), and vgpuctl's own equivalent for
/// vendor-specific VFIO VFs. `auto` definitions are started when their parent appears (boot).
public struct Definition: Codable, Equatable, Sendable {
    public enum Start: String, Codable, Sendable, CaseIterable { case auto, manual }

    /// One sysfs attribute mdevctl writes after creating the device, in order.
    public struct Attribute: Codable, Equatable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var uuid: DeviceUUID
    public var parent: String
    public var type: String
    public var start: Start
    public var layout: Layout
    public var attributes: [Attribute]

    public init(uuid: DeviceUUID, parent: String, type: String, start: Start, layout: Layout = .mdev, attributes: [Attribute] = []) {
        self.uuid = uuid
        self.parent = parent
        self.type = type
        self.start = start
        self.layout = layout
        self.attributes = attributes
    }
}
