#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import VGPUCore
import VGPUHost

/// Reads another tool's layout file by running `vgpu-layout-import` (which links the YAML parser and Foundation,
/// so vgpuctl does not) and decoding its JSON reply. The child is bounded: it is killed after `timeout` seconds.
public struct LayoutImport: Sendable {
    public let host: HostContext
    /// The reader's path: `VGPUCTL_LAYOUT_IMPORT`, else the package's, else (a development build) the one
    /// beside the running vgpuctl.
    public let executable: String
    public let timeout: Double

    public static let packagedPath = "/usr/libexec/vgpuctl/vgpu-layout-import"

    public init(host: HostContext, executable: String? = nil, timeout: Double = 60) {
        self.host = host
        self.executable = executable ?? Self.locate(os: host.os)
        self.timeout = timeout
    }

    static func locate(os: SystemCalls) -> String {
        if let override = getenv("VGPUCTL_LAYOUT_IMPORT").map({ String(cString: $0) }), !override.isEmpty { return override }
        if os.exists(packagedPath) { return packagedPath }
        if let me = try? os.readLink("/proc/self/exe") {
            let sibling = Paths.join(Paths.dirname(me), "vgpu-layout-import")
            if os.exists(sibling) { return sibling }
        }
        return packagedPath
    }

    /// NVIDIA vgpu-device-manager's config `file`, the layout `label` selects (nil: refused, listing the labels).
    public func vgpuDeviceManager(file: String, label: String?) throws -> DeclaredLayout {
        guard host.os.exists(executable) else {
            throw VGPUError(.host, "the vgpu-device-manager reader \(executable) is not installed",
                            fix: "reinstall the vgpuctl package (it ships \(Self.packagedPath)), or point VGPUCTL_LAYOUT_IMPORT at it")
        }
        let result: ProcessResult
        do {
            result = try host.os.run(executable, arguments: [file] + (label.map { [$0] } ?? []), stdin: "", timeout: timeout)
        } catch {
            throw VGPUError(.host, "could not run \(executable): \(error)", fix: "check that it is executable, or reinstall the vgpuctl package")
        }
        if result.timedOut {
            throw VGPUError(.host, "\(executable) did not finish reading \(file) within \(LayoutApplication.seconds(timeout)) s, so it was killed",
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

extension LayoutApplication {
    /// `vgpuctl apply --from-vgpu-device-manager FILE LABEL`: the layout read from vgpu-device-manager's file, over
    /// the host config's groups and rules, otherwise as `run(layout:…)`.
    /// `reader`: the reader's path (nil: found as `LayoutImport` finds it).
    public func run(vgpuDeviceManagerFile file: String, label: String?, dryRun: Bool, wait: Double, gpuWait: Double = 0,
                    command: String, progress: (@Sendable (String) -> Void)? = nil, waiting: ((String) -> Void)? = nil,
                    reader: String? = nil) throws -> Outcome {
        let layout = try LayoutImport(host: host, executable: reader).vgpuDeviceManager(file: file, label: label)
        return try run(layout, config: try host.placementConfig(), dryRun: dryRun, wait: wait, gpuWait: gpuWait,
                       command: command, progress: progress, waiting: waiting)
    }
}
