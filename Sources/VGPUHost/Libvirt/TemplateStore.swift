#if canImport(Glibc)
import Glibc
#endif
import VGPUCore

/// Finds `xml-templates/`. An installed binary uses the templates installed with it and never a source tree; a
/// development build (a binary under a `.build*` directory) uses the source tree it was built from, so that an
/// edited template is what the next run uses. The order (see `candidates`):
///  1. `$VGPUCTL_TEMPLATES_DIR`, when set;
///  2. for a development build only: `<source tree>/xml-templates`;
///  3. `<exe>/../share/vgpuctl/xml-templates` (`/usr/bin/vgpuctl` → `/usr/share/…`, `/usr/local/bin` → `/usr/local/share/…`);
///  4. `/usr/share/vgpuctl/xml-templates`, where the Debian package puts them.
public enum TemplateStore {
    public static let installedDirectory = "/usr/share/vgpuctl/xml-templates"
    /// Sources/VGPUHost/Libvirt/TemplateStore.swift -> <repo>/xml-templates
    static let sourceDirectory = Paths.join(Paths.dirname(Paths.dirname(Paths.dirname(Paths.dirname(#filePath)))), "xml-templates")

    /// `override`: `VGPUCTL_TEMPLATES_DIR`, as the caller's environment has it.
    public static func load(os: SystemCalls = LiveSystemCalls(), override: String? = nil) throws -> HostdevXML {
        let directory = try locate(os: os, override: override)
        func template(_ file: String) throws -> Template {
            let path = Paths.join(directory, file)
            do { return Template(name: path, text: try os.read(path)) } catch {
                throw VGPUError(.host, "could not read template \(path): \(error.reason)", fix: "reinstall vgpuctl's xml-templates")
            }
        }
        return HostdevXML(mdev: try template("hostdev-mdev.xml"), pci: try template("hostdev-pci.xml"), nodedev: try template("nodedev-mdev.xml"),
                          metadataDevice: try template("metadata-device.xml"))
    }

    static func locate(os: SystemCalls, override: String?) throws -> String {
        return try resolve(executable: try? os.readLink("/proc/self/exe"), override: override, sourceTree: sourceDirectory,
                           exists: { os.exists($0) })
    }

    /// A binary is a development build when it runs from SwiftPM's build directory (`.build`, or a scratch path
    /// such as `.build-release`): then, and only then, the source tree is a place to look.
    public static func isDevelopmentBuild(_ executable: String) -> Bool {
        executable.split(separator: "/").contains { $0.hasPrefix(".build") }
    }

    /// The directories to look in, in order: a pure function of the executable's path, `VGPUCTL_TEMPLATES_DIR`
    /// and the source tree the binary was built from.
    public static func candidates(executable: String?, override: String?, sourceTree: String) -> [String] {
        var list: [String] = []
        if let override, !override.isEmpty { list.append(override) }
        if let executable, isDevelopmentBuild(executable) { list.append(sourceTree) }
        if let executable, executable.hasPrefix("/") {
            list.append(Paths.join(Paths.dirname(Paths.dirname(executable)), "share/vgpuctl/xml-templates"))
        }
        list.append(installedDirectory)
        var seen = Set<String>()
        return list.filter { seen.insert($0).inserted }
    }

    /// The first candidate holding `hostdev-mdev.xml`, where `exists` answers for a path.
    public static func resolve(executable: String?, override: String?, sourceTree: String, exists: (String) -> Bool) throws -> String {
        let list = candidates(executable: executable, override: override, sourceTree: sourceTree)
        guard let found = list.first(where: { exists(Paths.join($0, "hostdev-mdev.xml")) }) else {
            throw VGPUError(.host, "no xml-templates directory found (looked in \(list.joined(separator: ", ")))",
                            fix: "reinstall vgpuctl, or set VGPUCTL_TEMPLATES_DIR to the directory holding hostdev-mdev.xml")
        }
        return found
    }
}
