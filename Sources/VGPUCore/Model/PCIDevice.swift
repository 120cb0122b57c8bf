/// One PCI function as sysfs shows it (`/sys/bus/pci/devices/<address>`): the facts whole-device passthrough and
/// the GPU listing decide on. A value; the host adapter reads it, the core only looks at it.
public struct PCIDevice: Equatable, Sendable {
    /// `0000:3b:00.0` (domain:bus:device.function).
    public var address: String
    /// `0x10de`, as sysfs writes it.
    public var vendor: String
    public var device: String
    /// The 24-bit class code (`0x030000`: VGA controller).
    public var classCode: UInt32
    /// The bound driver's name (the `driver` link), nil when none is bound.
    public var driver: String?
    /// nil where sysfs says -1 (no NUMA information) or has no attribute.
    public var numaNode: Int?
    /// nil when the device has no IOMMU group (the IOMMU is off, or the device is not behind one).
    public var iommuGroup: Int?
    /// `boot_vga` is 1: the firmware's console device (only VGA-class devices have the attribute).
    public var bootVGA: Bool
    /// nil for a device without the SR-IOV capability.
    public var sriov: SRIOVState?
    /// The PF of an SR-IOV VF (`physfn` link), nil otherwise.
    public var physfn: String?
    /// It registers mdev types (`mdev_supported_types/`).
    public var isMdevParent: Bool
    /// It carries NVIDIA's vendor-specific VFIO directory (`nvidia/creatable_vgpu_types`): on a VF.
    public var hasVendorVFIOLayout: Bool
    /// vGPUs on this function: its mdev devices, or for a VF, a `current_vgpu_type` other than 0.
    public var vgpus: Int

    public init(address: String, vendor: String, device: String, classCode: UInt32, driver: String? = nil,
                numaNode: Int? = nil, iommuGroup: Int? = nil, bootVGA: Bool = false, sriov: SRIOVState? = nil,
                physfn: String? = nil, isMdevParent: Bool = false, hasVendorVFIOLayout: Bool = false, vgpus: Int = 0) {
        self.address = address
        self.vendor = vendor
        self.device = device
        self.classCode = classCode
        self.driver = driver
        self.numaNode = numaNode
        self.iommuGroup = iommuGroup
        self.bootVGA = bootVGA
        self.sriov = sriov
        self.physfn = physfn
        self.isMdevParent = isMdevParent
        self.hasVendorVFIOLayout = hasVendorVFIOLayout
        self.vgpus = vgpus
    }

    /// Display controllers (base class 0x03: VGA, XGA, 3D, other), which is what GPUs are.
    public var isDisplay: Bool { classCode >> 16 == 0x03 }

    /// A PCI-to-PCI or CardBus bridge (subclass 0x0604, 0x0607, 0x0609): a function with a bridge header, marked
    /// in group listings.
    public var isBridge: Bool { [0x0604, 0x0607, 0x0609].contains(classCode >> 8) }

    /// `domain:bus:device`: the slot; the functions of one slot (`.0` to `.7`) are one physical card.
    public var slot: String { Self.slot(of: address) }

    public static func slot(of address: String) -> String {
        guard let dot = address.lastIndex(of: ".") else { return address }
        return String(address[..<dot])
    }

    /// `0x030000` as `0x030000`: six hex digits, as sysfs writes `class`.
    public var classText: String { PCIDevice.hex(classCode, digits: 6) }

    /// `10de:2335`, as lspci -n writes an ID.
    public var id: String { "\(vendor.dropHexPrefix):\(device.dropHexPrefix)" }

    public static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

/// A PF's SR-IOV counts (`sriov_totalvfs`, `sriov_numvfs`).
public struct SRIOVState: Equatable, Sendable {
    public var totalVFs: Int
    public var numVFs: Int

    public init(totalVFs: Int, numVFs: Int) {
        self.totalVFs = totalVFs
        self.numVFs = numVFs
    }
}

/// The CPU vendor, which decides the kernel parameter that turns the IOMMU on.
public enum CPUVendor: String, Equatable, Sendable {
    case intel, amd, unknown

    /// From `/proc/cpuinfo`'s `vendor_id`.
    public init(vendorID: String?) {
        switch vendorID {
        case "GenuineIntel": self = .intel
        case "AuthenticAMD", "HygonGenuine": self = .amd
        default: self = .unknown
        }
    }
}

/// The PCI side of a host: every function, and whether an IOMMU groups them.
public struct PCIHost: Equatable, Sendable {
    public var devices: [PCIDevice]
    /// PCI functions have IOMMU groups: an IOMMU is on and translating.
    public var iommuEnabled: Bool
    public var cpuVendor: CPUVendor

    public init(devices: [PCIDevice], iommuEnabled: Bool, cpuVendor: CPUVendor = .unknown) {
        self.devices = devices.sorted { $0.address < $1.address }
        self.iommuEnabled = iommuEnabled
        self.cpuVendor = cpuVendor
    }

    public func device(_ address: String) -> PCIDevice? { devices.first { $0.address == address } }

    /// Every function in IOMMU group `group`, by address.
    public func groupMembers(_ group: Int) -> [PCIDevice] { devices.filter { $0.iommuGroup == group } }

    /// The functions of `device`'s slot, itself included, by address. VFs are left out: they are the PF's
    /// children, not functions of the card.
    public func slotFunctions(of device: PCIDevice) -> [PCIDevice] {
        devices.filter { $0.slot == device.slot && $0.physfn == nil }
    }

    /// The VFs whose `physfn` is `address`.
    public func vfs(of address: String) -> [PCIDevice] { devices.filter { $0.physfn == address } }
}

extension String {
    var dropHexPrefix: String { hasPrefix("0x") ? String(dropFirst(2)) : self }
}
