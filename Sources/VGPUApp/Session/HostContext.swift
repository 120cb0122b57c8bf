#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// Where the host is and how it is touched: every path derives from `paths` (tests point it at fixture trees),
/// every OS call goes through `os`. Front ends build one from their options and the environment.
public struct HostContext: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls
    /// The placement config file (`VGPUCTL_CONFIG`, else `etc/vgpuctl/vgpuctl.conf` under the root).
    public let configFile: String

    public init(paths: HostPaths, os: SystemCalls, configFile: String? = nil) {
        self.paths = paths
        self.os = os
        self.configFile = configFile ?? paths.configFile
    }

    /// From command-line values, falling back to `VGPUCTL_ROOT`, `VGPUCTL_SYSFS_ROOT` and `VGPUCTL_CONFIG`.
    public static func resolve(root: String? = nil, sysfsRoot: String? = nil) -> HostContext {
        let paths = HostPaths(root: root ?? environment("VGPUCTL_ROOT") ?? "/", sysfs: sysfsRoot ?? environment("VGPUCTL_SYSFS_ROOT"))
        return HostContext(paths: paths, os: environmentOS, configFile: environment("VGPUCTL_CONFIG"))
    }

    /// One environment variable. getenv, not ProcessInfo.environment: that builds a dictionary of the whole
    /// environment (about 7% of a short command's instructions) to read three names.
    private static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// The OS boundary. For the VM tier's fault and crash tests, `VGPUCTL_FAIL_AT=N` makes the Nth mutating call
    /// fail and `VGPUCTL_KILL_AT=N` SIGKILLs the process there.
    private static let environmentOS: SystemCalls = {
        if let index = environment("VGPUCTL_FAIL_AT").flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index) }
        if let index = environment("VGPUCTL_KILL_AT").flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index, mode: .kill) }
        return LiveSystemCalls()
    }()

    public var definitionStore: DefinitionStore { DefinitionStore(paths: paths, os: os) }

    /// sysfs plus the persistent definitions; an unreadable definition file is reported, never fatal.
    public func inventory() throws -> Inventory {
        var inventory = try SysfsReader(paths: paths, os: os).inventory()
        let (definitions, problems) = definitionStore.all()
        for problem in problems { Console.error("vgpuctl: warning: \(problem)\n") }
        inventory.definitions = definitions.sorted { ($0.parent, $0.uuid) < ($1.parent, $1.uuid) }
        return inventory
    }

    /// The placement config; none means one default group with the pack policy.
    public func placementConfig() throws -> PlacementConfig {
        guard os.exists(configFile) else { return PlacementConfig() }
        let bytes: [UInt8]
        do { bytes = try os.readBytes(configFile) } catch {
            throw VGPUError(.host, "could not read the config file \(configFile): \(error)", fix: "check its permissions")
        }
        return try HostConfig.parse(bytes: bytes, file: configFile)
    }
}

/// How to reach libvirt: `uri` nil means `LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
public struct LibvirtSettings: Sendable {
    public var uri: String?
    /// Seconds a live detach waits for the guest to release the device.
    public var detachTimeout: Double
    /// False for the libvirt hook: it never calls libvirt back.
    public var reachable: Bool

    public init(uri: String? = nil, detachTimeout: Double = 30, reachable: Bool = true) {
        self.uri = uri
        self.detachTimeout = detachTimeout
        self.reachable = reachable
    }
}
