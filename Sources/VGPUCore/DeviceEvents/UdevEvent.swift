/// One uevent as udevd passes it on (libudev's monitor, netlink group "udev"): what the kernel said, after udev's
/// rules ran. Plain data, so what vgpud makes of it is a pure function (`ParentEvent.from`).
public struct UdevEvent: Equatable, Sendable {
    /// `add`, `remove`, `change`, `bind`, `unbind`, `move`, `online`, `offline`.
    public var action: String
    /// `pci`, `mdev`, or a class such as `mtty` (the kernel samples' parents live in their own classes).
    public var subsystem: String?
    /// The kernel's name for the device: a PCI address, an mdev UUID, `mtty`.
    public var sysname: String
    /// `/devices/...`, relative to /sys.
    public var devpath: String
    /// Every property of the event (`MDEV_STATE`, `DRIVER`, `PCI_SLOT_NAME`, ...).
    public var properties: [String: String]

    public init(action: String, subsystem: String?, sysname: String, devpath: String, properties: [String: String] = [:]) {
        self.action = action
        self.subsystem = subsystem
        self.sysname = sysname
        self.devpath = devpath
        self.properties = properties
    }
}

/// What a uevent means to vgpud.
///
/// The kernel announces an mdev parent with a `change` uevent carrying `MDEV_STATE=registered` on the parent
/// device itself (`mdev_register_parent` in drivers/vfio/mdev/mdev_core.c), so its subsystem is the parent's own:
/// `pci` for a GPU or an SR-IOV VF, a class such as `mtty` for the kernel samples. `/sys/class/mdev_bus` is only a
/// compatibility class of symlinks and never sends uevents, so a subsystem filter on `mdev_bus` would see nothing:
/// vgpud listens to every subsystem and decides here. A vendor-specific VFIO VF (no mdev registration) announces
/// itself as a `pci` `add` and, once its vendor driver binds, a `pci` `bind`. vGPUs themselves are `mdev` devices.
public enum ParentEvent: Equatable, Sendable {
    /// A device that can host vGPUs appeared (or may have): start its `auto` definitions.
    case appeared(parent: String, why: String)
    /// A parent went away (its driver unloaded, VFs disabled): nothing to start; the metrics change.
    case disappeared(parent: String)
    /// A vGPU was created or removed: the metrics change.
    case vgpuChanged(uuid: String, action: String)

    public static func from(_ event: UdevEvent) -> ParentEvent? {
        let name = event.sysname
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        switch event.properties["MDEV_STATE"] {
        case "registered"?: return .appeared(parent: name, why: "mdev parent registered")
        case "unregistered"?: return .disappeared(parent: name)
        default: break
        }
        switch (event.subsystem, event.action) {
        case ("mdev"?, "add"), ("mdev"?, "remove"):
            return .vgpuChanged(uuid: name, action: event.action)
        case ("pci"?, "add") where isPCIAddress(name):
            return .appeared(parent: name, why: "PCI device added")
        case ("pci"?, "bind") where isPCIAddress(name):
            return .appeared(parent: name, why: "PCI driver \(event.properties["DRIVER"] ?? "?") bound")
        case ("pci"?, "remove") where isPCIAddress(name):
            return .disappeared(parent: name)
        default:
            return nil
        }
    }

    /// `DDDD:BB:DD.F` in lower-case hex, as sysfs names PCI functions.
    public static func isPCIAddress(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 12, bytes[4] == UInt8(ascii: ":"), bytes[7] == UInt8(ascii: ":"), bytes[10] == UInt8(ascii: ".") else { return false }
        let hex: (UInt8) -> Bool = { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
        for index in [0, 1, 2, 3, 5, 6, 8, 9] where !hex(bytes[index]) { return false }
        return (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[11])
    }
}
