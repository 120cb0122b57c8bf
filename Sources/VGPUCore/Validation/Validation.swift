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
