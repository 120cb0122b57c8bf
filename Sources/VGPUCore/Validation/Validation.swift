/// Checks of user-supplied names, done before anything is read or written.
public enum Validation {
    /// A name that becomes one path component under sysfs or /etc (type, parent, VF address):
    /// no '/', no '.' or '..', no control characters, not empty, at most 255 bytes.
    public static func pathComponent(_ value: String, what: String, fix: String) throws -> String {
        let problem: String?
        if value.isEmpty { problem = "is empty" }
        else if value == "." || value == ".." || value.contains("/") { problem = "would leave its directory ('/', '.' or '..')" }
        else if value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { problem = "contains control characters" }
        else if value.utf8.count > 255 { problem = "is longer than 255 bytes" }
        else { problem = nil }
        if let problem {
            throw VGPUError(.invalidInput, "\(what) '\(printable(value))' \(problem)", fix: fix)
        }
        return value
    }

    public static func typeName(_ value: String) throws -> String {
        try pathComponent(value, what: "type", fix: "use a type id from 'vgpuctl types', e.g. nvidia-222 or mdpy-vga")
    }

    public static func parentName(_ value: String) throws -> String {
        try pathComponent(value, what: "parent", fix: "use a parent from 'vgpuctl types', e.g. 0000:3b:00.0 or mtty")
    }

    /// A libvirt domain name: libvirt allows almost anything, but a name with control characters or '/'
    /// is never a real domain and would corrupt logs and file names.
    public static func domainName(_ value: String) throws -> String {
        try pathComponent(value, what: "domain name", fix: "give the name shown by 'virsh list --all', or the domain's UUID")
    }

    /// A definition's attribute: a path relative to the device's sysfs directory (`vendor/test_attr`,
    /// `nvidia/vgpu_params`) that must stay inside it. Checked before anything changes, because a start writes
    /// the value as root: an absolute path, `..` or one of the device's links to elsewhere in sysfs would make a
    /// definition file a way to write any sysfs attribute (the host re-checks links as it writes).
    public static func attributeName(_ name: String) throws -> String {
        let fix = "give a path inside the device's sysfs directory, e.g. nvidia/vgpu_params or vendor/test_attr"
        let components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let problem: String?
        if name.isEmpty { problem = "is empty" }
        else if name.hasPrefix("/") { problem = "is an absolute path" }
        else if components.contains("..") { problem = "contains '..', which would leave the device's directory" }
        else if components.contains(where: { $0.isEmpty || $0 == "." }) { problem = "has an empty or '.' component" }
        else if deviceLinks.contains(components[0]) { problem = "goes through '\(components[0])', a link out of the device's directory" }
        else if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { problem = "contains control characters" }
        else if name.utf8.count > 4095 { problem = "is longer than PATH_MAX" }
        else { problem = nil }
        if let problem { throw VGPUError(.invalidInput, "attribute '\(printable(name))' \(problem)", fix: fix) }
        return name
    }

    /// The links every device's sysfs directory has that lead out of it (to the type, the IOMMU group, the driver).
    static let deviceLinks: Set<String> = ["mdev_type", "iommu_group", "driver", "subsystem", "firmware_node", "physfn"]

    /// An attribute's value: anything the kernel takes, but not a NUL (it would end the write early).
    public static func attributeValue(_ value: String, of name: String) throws -> String {
        if value.unicodeScalars.contains("\u{0}") {
            throw VGPUError(.invalidInput, "the value of attribute '\(printable(name))' contains a NUL byte", fix: "drop it")
        }
        if value.utf8.count > 4096 {
            throw VGPUError(.invalidInput, "the value of attribute '\(printable(name))' is longer than a sysfs page (4096 bytes)",
                            fix: "give a shorter value")
        }
        return value
    }

    /// Every attribute of a definition, in order.
    public static func attributes(_ attributes: [Definition.Attribute]) throws {
        for attribute in attributes {
            _ = try attributeName(attribute.name)
            _ = try attributeValue(attribute.value, of: attribute.name)
        }
    }

    /// Renders a value for an error message: control characters become visible escapes.
    public static func printable(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f { out += "\\u{\(String(scalar.value, radix: 16))}" }
            else { out.unicodeScalars.append(scalar) }
        }
        return out
    }
}
