#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// Moves a PCI function to `vfio-pci` and back, as the kernel documents it: `driver_override` names the driver,
/// the current one is unbound, `drivers_probe` lets the override (or, cleared, the device's own match) take it.
/// Each operation first looks at where the function is, so recovery may repeat it. The function's record
/// (PassthroughRecords) is written before it leaves its driver and dropped after it is back.
public struct PCIDriverBinding: Sendable {
    public static let vfio = "vfio-pci"

    public let paths: HostPaths
    public let os: SystemCalls
    /// Seconds an unbind may take: unbinding vfio-pci waits (without end) until every process that opened the
    /// device closes it, and a host driver may wait for its users too. The write is made by a child process
    /// (BoundedWrite) and given up after this, so neither vgpuctl nor the host lock waits on the kernel.
    public let unbindBound: Double

    public init(paths: HostPaths, os: SystemCalls, unbindBound: Double = 30) {
        self.paths = paths
        self.os = os
        self.unbindBound = unbindBound
    }

    public var records: PassthroughRecords { PassthroughRecords(paths: paths, os: os) }
    func directory(_ address: String) -> String { Paths.join(paths.pciDevices, address) }
    public var vfioLoaded: Bool { os.exists(Paths.join(paths.sysfs, "bus/pci/drivers/\(Self.vfio)")) }

    /// The bound driver's name; nil when none is.
    public func driver(of address: String) -> String? {
        (try? os.readLink(Paths.join(directory(address), "driver"))).map(Paths.basename)
    }

    /// `driver_override`'s value; nil when unset (the kernel reads back "(null)").
    func override(of address: String) -> String? {
        guard let text = (try? os.read(Paths.join(directory(address), "driver_override")))?.trimmingTrailingWhitespace,
              !text.isEmpty, text != "(null)" else { return nil }
        return text
    }

    /// Records the function's driver, then binds it to vfio-pci. A bind that fails part-way gives the function
    /// back before it throws (the executor undoes only whole steps), unless it was passed through before.
    public func bind(_ record: PassthroughRecord) throws {
        let recordedBefore = records.all().contains { $0.address == record.address }
        do { try bindRecorded(record) } catch {
            if !recordedBefore { try? restore(record) }
            throw error
        }
    }

    private func bindRecorded(_ record: PassthroughRecord) throws {
        let address = record.address
        guard os.exists(directory(address)) else {
            throw VGPUError(.notFound, "PCI device \(address) is gone (\(directory(address)))", fix: "see 'vgpuctl gpus'")
        }
        try attempt("record \(address)'s driver") { () throws(OSError) in try records.write(record) }
        let current = driver(of: address)
        if current == Self.vfio && override(of: address) == Self.vfio { return }
        try attempt("set \(address)'s driver_override to vfio-pci") { () throws(OSError) in
            try os.write(Paths.join(directory(address), "driver_override"), Self.vfio)
        }
        if current == Self.vfio { return }
        if let current { try unbind(address, from: current) }
        try probe(address)
        let now = driver(of: address)
        guard now == Self.vfio else {
            throw VGPUError(.host, "vfio-pci did not take \(address) (its driver is now \(now ?? "none"))",
                            fix: vfioLoaded ? "see the kernel log (dmesg) for vfio-pci's reason" : "modprobe vfio-pci")
        }
    }

    /// Gives the function back to the recorded driver and drops the record. Refused (exit 5, nothing written)
    /// while a process holds its VFIO group or device open: unbinding vfio-pci would wait for it.
    public func restore(_ record: PassthroughRecord) throws {
        let address = record.address
        guard os.exists(directory(address)) else {
            // Hot-removed meanwhile: nothing to give back.
            try attempt("drop \(address)'s record") { () throws(OSError) in try records.forget(address) }
            return
        }
        if record.driver == Self.vfio {
            try attempt("drop \(address)'s record") { () throws(OSError) in try records.forget(address) }
            return
        }
        let current = driver(of: address)
        if current != record.driver {
            let holders = DeviceHolders(paths: paths, os: os).holders(ofDeviceAt: directory(address))
            if !holders.isEmpty {
                throw VGPUError(.busy, "PCI device \(address) is in use: \(holders.map(\.description).joined(separator: "; ")); not given back to \(record.driverText)",
                                fix: "stop process \(holders.map { String($0.pid) }.joined(separator: ", ")) first (for a QEMU, shut its domain down or detach the device), then 'vgpuctl recover' or run the command again")
            }
        }
        if override(of: address) != nil {
            try attempt("clear \(address)'s driver_override") { () throws(OSError) in
                try os.write(Paths.join(directory(address), "driver_override"), "\n")
            }
        }
        if current != record.driver {
            if let current { try unbind(address, from: current) }
            if let original = record.driver {
                try probe(address)
                // Another driver that also matches may have won the probe: hand it to the recorded one by name.
                if let now = driver(of: address), now != original { try unbind(address, from: now) }
                if driver(of: address) == nil {
                    try attempt("bind \(address) to \(original)") { () throws(OSError) in
                        try os.write(Paths.join(paths.sysfs, "bus/pci/drivers/\(original)/bind"), address)
                    }
                }
                let now = driver(of: address)
                guard now == original else {
                    throw VGPUError(.host, "\(address) did not go back to \(original) (its driver is now \(now ?? "none"))",
                                    fix: "load the driver (modprobe \(original)) and run 'vgpuctl recover'; see dmesg for its reason")
                }
            }
        }
        try attempt("drop \(address)'s record") { () throws(OSError) in try records.forget(address) }
    }

    private func unbind(_ address: String, from driver: String) throws {
        try attempt("unbind \(address) from \(driver)") { () throws(OSError) in
            try os.write(Paths.join(paths.sysfs, "bus/pci/drivers/\(driver)/unbind"), address, bound: unbindBound)
        }
    }

    private func probe(_ address: String) throws {
        try attempt("probe drivers for \(address)") { () throws(OSError) in
            try os.write(Paths.join(paths.sysfs, "bus/pci/drivers_probe"), address)
        }
    }

    private func attempt(_ what: String, _ body: () throws(OSError) -> Void) throws {
        do { try body() } catch {
            // drivers_probe answers ENODEV/EINVAL... when no driver takes the device; the check after it decides.
            if what.hasPrefix("probe"), error.errno == ENODEV || error.errno == ENXIO { return }
            throw SysfsWriter.hostError(error, doing: what)
        }
    }
}
