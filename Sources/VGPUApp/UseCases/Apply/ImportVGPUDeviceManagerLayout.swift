#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import VGPUCore
import VGPUHost

/// NVIDIA vgpu-device-manager's config `file`, the layout `label` selects (nil: refused, listing the labels), read
/// by running `vgpu-layout-import` (which links the YAML parser and Foundation, so vgpuctl does not) and decoding
/// its JSON reply. The child is bounded: it is killed after `timeout` seconds. No lock: it only reads.
public struct ImportVGPUDeviceManagerLayout: ReadUseCase {
    public var file: String
    public var label: String?
    /// The reader's path; nil: the environment's `VGPUCTL_LAYOUT_IMPORT`, else the package's, else (a development
    /// build) the one beside the running vgpuctl.
    public var reader: String?
    public var timeout: Double

    public static let packagedPath = "/usr/libexec/vgpuctl/vgpu-layout-import"

    public init(file: String, label: String?, reader: String? = nil, timeout: Double = 60) {
        self.file = file
        self.label = label
        self.reader = reader
        self.timeout = timeout
    }

    static func locate(_ environment: Environment) -> String {
        if let override = environment.layoutImporter, !override.isEmpty { return override }
        let os = environment.os
        if os.exists(packagedPath) { return packagedPath }
        if let me = try? os.readLink("/proc/self/exe") {
            let sibling = Paths.join(Paths.dirname(me), "vgpu-layout-import")
            if os.exists(sibling) { return sibling }
        }
        return packagedPath
    }

    public func read(in environment: Environment) throws -> DeclaredLayout {
        let executable = reader ?? Self.locate(environment)
        guard environment.os.exists(executable) else {
            throw VGPUError(.host, "the vgpu-device-manager reader \(executable) is not installed",
                            fix: "reinstall the vgpuctl package (it ships \(Self.packagedPath)), or point VGPUCTL_LAYOUT_IMPORT at it")
        }
        let result: ProcessResult
        do {
            result = try environment.os.run(executable, arguments: [file] + (label.map { [$0] } ?? []), stdin: "", timeout: timeout)
        } catch {
            throw VGPUError(.host, "could not run \(executable): \(error)", fix: "check that it is executable, or reinstall the vgpuctl package")
        }
        if result.timedOut {
            throw VGPUError(.host, "\(executable) did not finish reading \(file) within \(WaitForLayoutGPUs.seconds(timeout)) s, so it was killed",
                            fix: "check that \(file) is a regular file of reasonable size")
        }
        guard let reply = try? JSONDecoder().decode(LayoutImportReply.self, from: Data(result.stdout.utf8)) else {
            let how = result.status.map { "exit status \($0)" } ?? "signal \(result.signal ?? 0)"
            throw VGPUError(.internalError, "\(executable) gave no layout for \(file) (\(how)): \(String(result.stderr.prefix(2000)).split(separator: "\n").joined(separator: "; "))",
                            fix: "reinstall the vgpuctl package; if it persists, report it")
        }
        return try reply.get()
    }
}
