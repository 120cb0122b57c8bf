#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

extension SysfsWriter {
    /// The sysfs directory of a vGPU: the mdev device, or for vendor-specific VFIO the VF's PCI device.
    public func deviceDirectory(_ uuid: DeviceUUID, parent: String, layout: Layout) -> String {
        layout == .mdev ? devicePath(uuid) : Paths.join(paths.pciDevices, parent)
    }

    /// Writes a definition's attributes in order, as mdevctl does after creating the device. Each must already
    /// exist (the driver creates its attributes with the device; a missing one is a definition for another
    /// driver) and no component of its path may be a link (it would lead out of the device's directory).
    /// Writing the same values again is harmless, so recovery may repeat this step.
    public func writeAttributes(_ attributes: [Definition.Attribute], uuid: DeviceUUID, parent: String, layout: Layout) throws {
        let directory = deviceDirectory(uuid, parent: parent, layout: layout)
        for (index, attribute) in attributes.enumerated() {
            let what = "attribute \(index) '\(Validation.printable(attribute.name))' = '\(Validation.printable(attribute.value))' of vGPU \(uuid)"
            _ = try Validation.attributeName(attribute.name)
            let path = Paths.join(directory, attribute.name)
            var prefix = directory
            for component in attribute.name.split(separator: "/") {
                prefix = Paths.join(prefix, String(component))
                if (try? os.readLink(prefix)) != nil {
                    throw VGPUError(.invalidInput, "\(what): \(prefix) is a link out of the device's directory",
                                    fix: "give a path inside \(directory)")
                }
            }
            guard os.exists(path) else {
                throw VGPUError(.invalidInput, "\(what): the device has no such attribute (\(path) does not exist)",
                                fix: "check the name against \(directory); the vendor driver decides which attributes a device has")
            }
            do {
                try os.write(path, attribute.value)
            } catch {
                // EINVAL and its kin: the driver refused this value (a bad definition), anything else is the host.
                let refused = [EINVAL, ERANGE, E2BIG].contains(error.errno)
                throw VGPUError(refused ? .invalidInput : .host,
                                "could not write \(what): \(path): \(error.reason) (errno \(error.errno))",
                                fix: refused ? "the driver refused the value; see its documentation and the kernel log (dmesg)"
                                             : Self.hostError(error, doing: "").fix)
            }
        }
    }
}
