#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// Finds `xml-templates/`: `$VGPUCTL_TEMPLATES_DIR`, `<bin>/../share/vgpuctl/xml-templates`,
/// `/usr/share/vgpuctl/xml-templates`, then the source tree this binary was built from.
public enum TemplateStore {
    public static func load(os: SystemCalls = LiveSystemCalls()) throws -> HostdevXML {
        let directory = try locate(os: os)
        func template(_ file: String) throws -> Template {
            let path = Paths.join(directory, file)
            do { return Template(name: path, text: try os.read(path)) } catch {
                throw VGPUError(.host, "could not read template \(path): \(error.reason)", fix: "reinstall vgpuctl's xml-templates")
            }
        }
        return HostdevXML(mdev: try template("hostdev-mdev.xml"), pci: try template("hostdev-pci.xml"), nodedev: try template("nodedev-mdev.xml"),
                          metadataDevice: try template("metadata-device.xml"))
    }

    static func candidates() -> [String] {
        var list: [String] = []
        if let custom = getenv("VGPUCTL_TEMPLATES_DIR") { list.append(String(cString: custom)) }
        if let executable = try? LiveSystemCalls().readLink("/proc/self/exe") {
            list.append(Paths.join(Paths.dirname(Paths.dirname(executable)), "share/vgpuctl/xml-templates"))
        }
        list.append("/usr/share/vgpuctl/xml-templates")
        // Sources/VGPUHost/Libvirt/TemplateStore.swift -> <repo>/xml-templates
        let source = Paths.dirname(Paths.dirname(Paths.dirname(Paths.dirname(#filePath))))
        list.append(Paths.join(source, "xml-templates"))
        return list
    }

    static func locate(os: SystemCalls) throws -> String {
        let list = candidates()
        guard let found = list.first(where: { os.exists(Paths.join($0, "hostdev-mdev.xml")) }) else {
            throw VGPUError(.host, "no xml-templates directory found (looked in \(list.joined(separator: ", ")))",
                            fix: "set VGPUCTL_TEMPLATES_DIR to the directory holding hostdev-mdev.xml")
        }
        return found
    }
}
