import Foundation

/// Builds directory trees that mirror real sysfs: device directories under `devices/`, relative symlinks from
/// `class/mdev_bus`, `bus/mdev/devices` and `bus/pci/devices`, as the kernel lays them out.
public struct SysfsTree {
    /// The directory that stands for /sys.
    public let sysfs: String
    private let files = FileManager.default

    public init(sysfs: String) throws {
        self.sysfs = sysfs
        for directory in ["class/mdev_bus", "bus/mdev/devices", "bus/pci/devices", "kernel/iommu_groups", "devices/virtual"] {
            try files.createDirectory(atPath: path(directory), withIntermediateDirectories: true)
        }
    }

    public func path(_ relative: String) -> String { sysfs + "/" + relative }

    public func write(_ relative: String, _ contents: String) throws {
        let full = path(relative)
        try files.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: full, atomically: false, encoding: .utf8)
    }

    /// A relative symlink at `link` pointing to `target` (both relative to the sysfs root), like sysfs makes.
    public func link(_ link: String, to target: String) throws {
        let linkParts = link.split(separator: "/").dropLast()
        let targetParts = target.split(separator: "/")
        var common = 0
        while common < linkParts.count, common < targetParts.count, linkParts[linkParts.startIndex + common] == targetParts[common] {
            common += 1
        }
        let relative = Array(repeating: "..", count: linkParts.count - common) + targetParts[common...].map(String.init)
        let full = path(link)
        try files.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: full, withDestinationPath: relative.joined(separator: "/"))
    }

    // MARK: devices

    /// A PCI function under `devices/pci0000:00/`, with the attributes a real GPU has (defaults: an NVIDIA H200
    /// as read off real hardware, `shared/real-sysfs`).
    @discardableResult
    public func addPCIDevice(_ address: String, vendor: String = "0x10de", device: String = "0x2335",
                             numaNode: Int = -1, physfn: String? = nil) throws -> String {
        // VFs are siblings of their PF in real sysfs (physfn -> ../<PF>).
        let directory = "devices/pci0000:00/" + address
        let attributes: [String: String] = [
            "vendor": vendor, "device": device, "class": "0x030200", "subsystem_vendor": "0x10de",
            "subsystem_device": "0x18bf", "revision": "0xa1", "numa_node": String(numaNode),
            "current_link_speed": "32.0 GT/s PCIe", "current_link_width": "16", "local_cpulist": "0-15",
            "uevent": "DRIVER=nvidia\nPCI_CLASS=30200\nPCI_ID=10DE:\(device.dropFirst(2).uppercased())\nPCI_SLOT_NAME=\(address)\n",
        ]
        for (name, value) in attributes { try write("\(directory)/\(name)", value + "\n") }
        try link("bus/pci/devices/\(address)", to: directory)
        if let physfn {
            let pfDirectory = "devices/pci0000:00/\(physfn)"
            try link("\(directory)/physfn", to: pfDirectory)
            let index = (try? files.contentsOfDirectory(atPath: path(pfDirectory)).filter { $0.hasPrefix("virtfn") }.count) ?? 0
            try link("\(pfDirectory)/virtfn\(index)", to: directory)
        }
        return directory
    }

    /// A virtual parent like the kernel samples register (`devices/virtual/mtty/mtty`).
    @discardableResult
    public func addVirtualDevice(_ name: String, className: String) throws -> String {
        let directory = "devices/virtual/\(className)/\(name)"
        try files.createDirectory(atPath: path(directory), withIntermediateDirectories: true)
        try write("\(directory)/uevent", "")
        return directory
    }

    /// Makes `deviceDirectory` an mdev parent offering `types`.
    public func addMdevParent(_ deviceDirectory: String, types: [MdevTypeSpec]) throws {
        let name = String(deviceDirectory.split(separator: "/").last!)
        for type in types {
            let typeDirectory = "\(deviceDirectory)/mdev_supported_types/\(type.id)"
            if let value = type.name { try write("\(typeDirectory)/name", value + "\n") }
            if let value = type.description { try write("\(typeDirectory)/description", value + "\n") }
            try write("\(typeDirectory)/device_api", type.deviceAPI + "\n")
            try write("\(typeDirectory)/available_instances", "\(type.available)\n")
            try write("\(typeDirectory)/create", "")
            try files.createDirectory(atPath: path("\(typeDirectory)/devices"), withIntermediateDirectories: true)
        }
        try link("class/mdev_bus/\(name)", to: deviceDirectory)
    }

    /// An existing mdev device of `type` on the parent at `deviceDirectory`.
    public func addMdevDevice(_ uuid: String, parentDirectory: String, type: String, iommuGroup: Int) throws {
        let directory = "\(parentDirectory)/\(uuid)"
        try write("\(directory)/remove", "")
        try write("\(directory)/uevent", "MDEV_TYPE=\(type)\n")
        try link("\(directory)/mdev_type", to: "\(parentDirectory)/mdev_supported_types/\(type)")
        try files.createDirectory(atPath: path("kernel/iommu_groups/\(iommuGroup)/devices"), withIntermediateDirectories: true)
        try link("\(directory)/iommu_group", to: "kernel/iommu_groups/\(iommuGroup)")
        try link("bus/mdev/devices/\(uuid)", to: directory)
        try link("\(parentDirectory)/mdev_supported_types/\(type)/devices/\(uuid)", to: directory)
    }

    /// Makes a VF a vendor-specific VFIO vGPU host: `nvidia/creatable_vgpu_types` and `nvidia/current_vgpu_type`.
    public func addNVIDIAVFIO(_ deviceDirectory: String, creatable: [(Int, String)], current: Int, iommuGroup: Int) throws {
        let listing = "ID    : vGPU Name\n" + creatable.map { "\($0.0)  : \($0.1)\n" }.joined()
        try write("\(deviceDirectory)/nvidia/creatable_vgpu_types", listing)
        try write("\(deviceDirectory)/nvidia/current_vgpu_type", "\(current)\n")
        try files.createDirectory(atPath: path("kernel/iommu_groups/\(iommuGroup)/devices"), withIntermediateDirectories: true)
        try link("\(deviceDirectory)/iommu_group", to: "kernel/iommu_groups/\(iommuGroup)")
    }
}

public struct MdevTypeSpec: Sendable {
    public var id: String
    public var name: String?
    public var description: String?
    public var deviceAPI: String
    public var available: Int

    public init(_ id: String, name: String?, description: String? = nil, deviceAPI: String = "vfio-pci", available: Int) {
        self.id = id
        self.name = name
        self.description = description
        self.deviceAPI = deviceAPI
        self.available = available
    }
}

/// A PCI function as `addPCIFunction` lays it out; the defaults are a function with nothing bound.
public struct PCIFunctionSpec: Sendable {
    public var address: String
    public var vendor: String
    public var device: String
    /// Six hex digits with `0x`, as sysfs writes `class`.
    public var classCode: String
    public var driver: String?
    public var numaNode: Int
    public var iommuGroup: Int?
    /// nil: no `boot_vga` file (the kernel makes one only for VGA-class devices).
    public var bootVGA: Bool?
    public var sriov: (total: Int, enabled: Int)?
    /// The directory under `devices/` that holds it (its bridge's), e.g. `pci0000:00/0000:00:02.0`.
    public var parentDirectory: String

    public init(_ address: String, vendor: String = "0x1234", device: String = "0x1111", classCode: String = "0x038000",
                driver: String? = nil, numaNode: Int = 0, iommuGroup: Int? = nil, bootVGA: Bool? = nil,
                sriov: (total: Int, enabled: Int)? = nil, under parentDirectory: String = "pci0000:00") {
        self.address = address
        self.vendor = vendor
        self.device = device
        self.classCode = classCode
        self.driver = driver
        self.numaNode = numaNode
        self.iommuGroup = iommuGroup
        self.bootVGA = bootVGA
        self.sriov = sriov
        self.parentDirectory = parentDirectory
    }
}

extension SysfsTree {
    /// A PCI function as the kernel lays it out: its directory under its bridge, `bus/pci/devices/<address>`, the
    /// `driver` link into `bus/pci/drivers/<name>`, and the `iommu_group` link with the group's `devices/` entry.
    /// Returns its directory (relative to the sysfs root).
    @discardableResult
    public func addPCIFunction(_ spec: PCIFunctionSpec, physfn: String? = nil) throws -> String {
        let directory = "devices/\(spec.parentDirectory)/\(spec.address)"
        var attributes = ["vendor": spec.vendor, "device": spec.device, "class": spec.classCode, "numa_node": String(spec.numaNode),
                          "subsystem_vendor": "0x1af4", "subsystem_device": "0x1100", "revision": "0x02", "driver_override": "(null)",
                          "uevent": "PCI_CLASS=\(spec.classCode.dropFirst(2).uppercased())\nPCI_SLOT_NAME=\(spec.address)"]
        if let driver = spec.driver { attributes["uevent"] = "DRIVER=\(driver)\n" + attributes["uevent"]! }
        if let bootVGA = spec.bootVGA { attributes["boot_vga"] = bootVGA ? "1" : "0" }
        if let sriov = spec.sriov {
            attributes["sriov_totalvfs"] = String(sriov.total)
            attributes["sriov_numvfs"] = String(sriov.enabled)
        }
        for (name, value) in attributes { try write("\(directory)/\(name)", value + "\n") }
        try link("bus/pci/devices/\(spec.address)", to: directory)
        if let driver = spec.driver {
            try FileManager.default.createDirectory(atPath: path("bus/pci/drivers/\(driver)"), withIntermediateDirectories: true)
            try link("\(directory)/driver", to: "bus/pci/drivers/\(driver)")
            try link("bus/pci/drivers/\(driver)/\(spec.address)", to: directory)
        }
        if let group = spec.iommuGroup {
            try link("\(directory)/iommu_group", to: "kernel/iommu_groups/\(group)")
            try link("kernel/iommu_groups/\(group)/devices/\(spec.address)", to: directory)
        }
        if let physfn {
            let pfDirectory = "devices/\(spec.parentDirectory)/\(physfn)"
            try link("\(directory)/physfn", to: pfDirectory)
            let index = (try? FileManager.default.contentsOfDirectory(atPath: path(pfDirectory)).filter { $0.hasPrefix("virtfn") }.count) ?? 0
            try link("\(pfDirectory)/virtfn\(index)", to: directory)
        }
        return directory
    }

    /// `/proc/cpuinfo`'s vendor line, in the root that holds this sysfs tree (`<root>/proc`, beside `<root>/sys`).
    public func writeCPUInfo(vendorID: String) throws {
        let proc = (sysfs as NSString).deletingLastPathComponent + "/proc"
        try FileManager.default.createDirectory(atPath: proc, withIntermediateDirectories: true)
        try "processor\t: 0\nvendor_id\t: \(vendorID)\n".write(toFile: proc + "/cpuinfo", atomically: false, encoding: .utf8)
    }
}
