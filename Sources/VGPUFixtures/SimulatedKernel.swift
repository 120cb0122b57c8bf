import Foundation
import VGPUHost

/// Plays the kernel's part on a fixture tree: a write to `<parent>/mdev_supported_types/<type>/create` makes the
/// mdev (device directory, links, one fewer available instance) and a write to `<device>/remove` takes it away,
/// with the kernel's errno for a duplicate UUID (EEXIST) or no capacity (ENOSPC). Each device has a writable
/// `vendor/test_attr` (as the VM tier's patched mtty). PCI drivers bind as the kernel's driver core does:
/// `driver_override`, `drivers/NAME/unbind` and `bind`, and `drivers_probe`, which binds the override or else
/// the driver the fixture gave the function (its "match"). Everything else passes through.
public final class SimulatedKernel: SystemCalls, @unchecked Sendable {
    private let base: SystemCalls
    private let tree: SysfsTree
    private var nextGroup = 1000
    /// `apply` writes from several threads: one create or remove at a time, as the kernel serialises a parent's.
    private let mutex = Mutex()

    public init(tree: SysfsTree, base: SystemCalls = LiveSystemCalls()) {
        self.tree = tree
        self.base = base
    }

    public func write(_ path: String, _ contents: String) throws(OSError) {
        let relative = String(path.dropFirst(tree.sysfs.count + 1))
        let parts = relative.split(separator: "/").map(String.init)
        if parts.count == 6, parts[0] == "class", parts[1] == "mdev_bus", parts[3] == "mdev_supported_types", parts[5] == "create" {
            let uuid = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            return try mutex.withLock { Result { () throws(OSError) in try create(uuid: uuid, parent: parts[2], type: parts[4], path: path) } }.get()
        }
        if parts.count == 5, parts[0] == "bus", parts[1] == "mdev", parts[2] == "devices", parts[4] == "remove" {
            return try mutex.withLock { Result { () throws(OSError) in try remove(uuid: parts[3], path: path) } }.get()
        }
        if parts.count == 3, parts[0] == "bus", parts[1] == "pci", parts[2] == "drivers_probe" {
            return try mutex.withLock { Result { () throws(OSError) in try probe(contents.trimmingCharacters(in: .whitespacesAndNewlines), path: path) } }.get()
        }
        if parts.count == 5, parts[0] == "bus", parts[1] == "pci", parts[2] == "drivers", parts[4] == "unbind" || parts[4] == "bind" {
            let address = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            return try mutex.withLock { Result { () throws(OSError) in
                try parts[4] == "bind" ? bind(address, to: parts[3], path: path) : unbind(address, from: parts[3], path: path)
            } }.get()
        }
        if parts.count == 5, parts[0] == "bus", parts[1] == "pci", parts[2] == "devices", parts[4] == "driver_override" {
            let value = contents.trimmingCharacters(in: .whitespacesAndNewlines)
            return try base.write(path, value.isEmpty ? "(null)\n" : value + "\n")
        }
        // The VM tier's patched mtty: vendor/test_attr refuses "invalid" as a driver refuses a value.
        if parts.last == "test_attr", contents.trimmingCharacters(in: .whitespacesAndNewlines) == "invalid" {
            throw OSError(.write, path, errno: EINVAL)
        }
        try base.write(path, contents)
    }

    private func create(uuid: String, parent: String, type: String, path: String) throws(OSError) {
        let parentDirectory = resolved("class/mdev_bus/\(parent)")
        let available = Int((try? String(contentsOfFile: tree.path("\(parentDirectory)/mdev_supported_types/\(type)/available_instances"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0
        if base.exists(tree.path("bus/mdev/devices/\(uuid)")) { throw OSError(.write, path, errno: EEXIST) }
        if available <= 0 { throw OSError(.write, path, errno: ENOSPC) }
        do {
            try tree.addMdevDevice(uuid, parentDirectory: parentDirectory, type: type, iommuGroup: nextGroup)
            // Every device gets the writable attribute the VM tier's patched mtty gives its devices.
            try tree.write("\(parentDirectory)/\(uuid)/vendor/test_attr", "\n")
            try tree.write("\(parentDirectory)/mdev_supported_types/\(type)/available_instances", "\(available - 1)\n")
        } catch { throw OSError(.write, path, errno: EIO) }
        nextGroup += 1
    }

    private func remove(uuid: String, path: String) throws(OSError) {
        let link = "bus/mdev/devices/\(uuid)"
        let deviceDirectory = resolved(link)
        let parentDirectory = (deviceDirectory as NSString).deletingLastPathComponent
        guard let typeLink = try? FileManager.default.destinationOfSymbolicLink(atPath: tree.path("\(deviceDirectory)/mdev_type")) else {
            throw OSError(.write, path, errno: ENOENT)
        }
        let type = (typeLink as NSString).lastPathComponent
        let availablePath = "\(parentDirectory)/mdev_supported_types/\(type)/available_instances"
        let available = Int((try? String(contentsOfFile: tree.path(availablePath), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0
        if let group = try? base.readLink(tree.path("\(deviceDirectory)/iommu_group")) {
            try? FileManager.default.removeItem(atPath: Paths.resolve(group, from: tree.path(deviceDirectory)))
        }
        try? FileManager.default.removeItem(atPath: tree.path(deviceDirectory))
        try? FileManager.default.removeItem(atPath: tree.path(link))
        try? FileManager.default.removeItem(atPath: tree.path("\(parentDirectory)/mdev_supported_types/\(type)/devices/\(uuid)"))
        try? tree.write(availablePath, "\(available + 1)\n")
    }

    /// The driver that matches a PCI function, what a probe without an override binds: the one the fixture
    /// bound it to (its `uevent`'s DRIVER line, which this kernel leaves as the fixture wrote it).
    private func match(_ address: String) -> String? {
        guard let uevent = try? base.read(tree.path("bus/pci/devices/\(address)/uevent")) else { return nil }
        return uevent.split(separator: "\n").first { $0.hasPrefix("DRIVER=") }.map { String($0.dropFirst("DRIVER=".count)) }
    }

    private func driverOf(_ address: String) -> String? {
        (try? base.readLink(tree.path("bus/pci/devices/\(address)/driver"))).map { ($0 as NSString).lastPathComponent }
    }

    private func unbind(_ address: String, from driver: String, path: String) throws(OSError) {
        guard driverOf(address) == driver else { throw OSError(.write, path, errno: ENODEV) }
        try? FileManager.default.removeItem(atPath: tree.path("\(resolved("bus/pci/devices/\(address)"))/driver"))
        try? FileManager.default.removeItem(atPath: tree.path("bus/pci/drivers/\(driver)/\(address)"))
    }

    private func bind(_ address: String, to driver: String, path: String) throws(OSError) {
        guard base.exists(tree.path("bus/pci/devices/\(address)")), base.exists(tree.path("bus/pci/drivers/\(driver)")) else {
            throw OSError(.write, path, errno: ENODEV)
        }
        if driverOf(address) != nil { throw OSError(.write, path, errno: EBUSY) }
        let directory = resolved("bus/pci/devices/\(address)")
        do {
            try tree.link("\(directory)/driver", to: "bus/pci/drivers/\(driver)")
            try tree.link("bus/pci/drivers/\(driver)/\(address)", to: directory)
        } catch { throw OSError(.write, path, errno: EIO) }
    }

    private func probe(_ address: String, path: String) throws(OSError) {
        guard base.exists(tree.path("bus/pci/devices/\(address)")) else { throw OSError(.write, path, errno: ENODEV) }
        guard driverOf(address) == nil else { return }
        let override = (try? base.read(tree.path("bus/pci/devices/\(address)/driver_override")))?.trimmingCharacters(in: .whitespacesAndNewlines)
        let wanted = override.flatMap { $0.isEmpty || $0 == "(null)" ? nil : $0 } ?? match(address)
        // An override names the only driver that may take it; a driver that is not loaded takes nothing.
        guard let wanted, base.exists(tree.path("bus/pci/drivers/\(wanted)")) else { return }
        try bind(address, to: wanted, path: path)
    }

    /// The device directory a sysfs link points at, relative to the tree.
    private func resolved(_ link: String) -> String {
        guard let target = try? base.readLink(tree.path(link)) else { return link }
        let full = Paths.resolve(target, from: Paths.dirname(tree.path(link)))
        return String(full.dropFirst(tree.sysfs.count + 1))
    }

    public func read(_ path: String) throws(OSError) -> String { try base.read(path) }
    public func readBytes(_ path: String) throws(OSError) -> [UInt8] { try base.readBytes(path) }
    public func list(_ path: String) throws(OSError) -> [String] { try base.list(path) }
    public func readLink(_ path: String) throws(OSError) -> String { try base.readLink(path) }
    public func exists(_ path: String) -> Bool { base.exists(path) }
    public func createFile(_ path: String, _ contents: String, mode: mode_t, sync: Bool) throws(OSError) {
        try base.createFile(path, contents, mode: mode, sync: sync)
    }
    public func mkdir(_ path: String, mode: mode_t) throws(OSError) { try base.mkdir(path, mode: mode) }
    public func rename(_ from: String, _ to: String) throws(OSError) { try base.rename(from, to) }
    public func unlink(_ path: String) throws(OSError) { try base.unlink(path) }
    public func fsync(_ path: String) throws(OSError) { try base.fsync(path) }
    public func syncFileSystem(containing path: String) throws(OSError) { try base.syncFileSystem(containing: path) }
    public func lock(_ path: String, wait: Bool) throws(OSError) -> Int32? { try base.lock(path, wait: wait) }
    public func unlock(_ descriptor: Int32) { base.unlock(descriptor) }
    public func symlink(_ target: String, at path: String) throws(OSError) { try base.symlink(target, at: path) }
    public func run(_ executable: String, arguments: [String], stdin: String, timeout: Double) throws(OSError) -> ProcessResult {
        try base.run(executable, arguments: arguments, stdin: stdin, timeout: timeout)
    }
}
