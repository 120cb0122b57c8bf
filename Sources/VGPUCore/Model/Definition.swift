/// A persistent vGPU definition: what mdevctl keeps in `/etc/mdevctl.d/<parent>/<uuid>`
/// (`{"mdev_type": ..., "start": "auto"|"manual", "attrs": []}`), and vgpuctl's own equivalent for
/// vendor-specific VFIO VFs.
public struct Definition: Codable, Equatable, Sendable {
    public enum Start: String, Codable, Sendable { case auto, manual }

    public var uuid: DeviceUUID
    public var parent: String
    public var type: String
    public var start: Start
    public var layout: Layout

    public init(uuid: DeviceUUID, parent: String, type: String, start: Start, layout: Layout = .mdev) {
        self.uuid = uuid
        self.parent = parent
        self.type = type
        self.start = start
        self.layout = layout
    }
}
