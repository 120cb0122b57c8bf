#if canImport(Glibc)
import Glibc
#endif
import VGPUCore
import VGPUHost

/// Where a command runs and how the host is touched, built once per process from its options and environment
/// variables, then passed down: every path derives from `paths` (tests point it at fixture trees), every OS call
/// goes through `os`, and nothing below reads an environment variable (`Variables.process` is the product's
/// only getenv).
public struct Environment: Sendable {
    public let paths: HostPaths
    public let os: SystemCalls
    /// The placement config file (`VGPUCTL_CONFIG`, else `etc/vgpuctl/vgpuctl.conf` under the root).
    public let configFile: String
    /// libvirt's URI: `--connect`, else `LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    public let libvirtURI: String
    /// `VGPUCTL_TEMPLATES_DIR`: where the XML templates are, before the installed and source-tree places.
    public let templatesDirectory: String?
    /// `VGPUCTL_DEBUG`: say on stderr how waits end (the VM tier checks which path a wait took).
    public let debug: Bool
    /// `VGPUCTL_LAYOUT_IMPORT`: the vgpu-device-manager reader to run instead of the packaged one.
    public let layoutImporter: String?
    /// The variables themselves, for what only a front end reads (the hook's lock wait, COLUMNS, NOTIFY_SOCKET).
    public let variables: Variables

    public init(paths: HostPaths, os: SystemCalls, configFile: String? = nil, libvirtURI: String = Environment.defaultLibvirtURI,
                templatesDirectory: String? = nil, debug: Bool = false, layoutImporter: String? = nil,
                variables: Variables = Variables([])) {
        self.paths = paths
        self.os = os
        self.configFile = configFile ?? paths.configFile
        self.libvirtURI = libvirtURI
        self.templatesDirectory = templatesDirectory
        self.debug = debug
        self.layoutImporter = layoutImporter
        self.variables = variables
    }

    public static let defaultLibvirtURI = "qemu:///system"

    /// The directory that stands for / (`--root`, `VGPUCTL_ROOT`).
    public var root: String { paths.root }

    /// From command-line values, falling back to `VGPUCTL_ROOT`, `VGPUCTL_SYSFS_ROOT`, `VGPUCTL_CONFIG`,
    /// `LIBVIRT_DEFAULT_URI`, `VGPUCTL_TEMPLATES_DIR`, `VGPUCTL_DEBUG` and `VGPUCTL_LAYOUT_IMPORT`.
    public static func resolve(root: String? = nil, sysfsRoot: String? = nil, connect: String? = nil,
                               variables: Variables = .process) -> Environment {
        let paths = HostPaths(root: root ?? variables["VGPUCTL_ROOT"] ?? "/", sysfs: sysfsRoot ?? variables["VGPUCTL_SYSFS_ROOT"])
        return Environment(paths: paths, os: variables.isProcess ? processOS : os(from: variables),
                           configFile: variables["VGPUCTL_CONFIG"],
                           libvirtURI: connect ?? variables["LIBVIRT_DEFAULT_URI"] ?? defaultLibvirtURI,
                           templatesDirectory: variables["VGPUCTL_TEMPLATES_DIR"], debug: variables["VGPUCTL_DEBUG"] != nil,
                           layoutImporter: variables["VGPUCTL_LAYOUT_IMPORT"], variables: variables)
    }

    /// The same environment talking to another libvirt (a migration's destination).
    public func connecting(to uri: String) -> Environment {
        Environment(paths: paths, os: os, configFile: configFile, libvirtURI: uri, templatesDirectory: templatesDirectory,
                    debug: debug, layoutImporter: layoutImporter, variables: variables)
    }

    /// The OS boundary. For the VM tier's fault and crash tests, `VGPUCTL_FAIL_AT=N` makes the Nth mutating call
    /// fail and `VGPUCTL_KILL_AT=N` SIGKILLs the process there. One per process, so the count is the process's.
    private static let processOS: SystemCalls = os(from: .process)

    private static func os(from variables: Variables) -> SystemCalls {
        if let index = variables["VGPUCTL_FAIL_AT"].flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index) }
        if let index = variables["VGPUCTL_KILL_AT"].flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index, mode: .kill) }
        return LiveSystemCalls()
    }

    /// Environment variables by name: the process's, or a fixed set (tests).
    public struct Variables: Sendable {
        private let lookup: @Sendable (String) -> String?
        let isProcess: Bool

        /// A fixed set, for tests. An array of pairs, not a dictionary: see `process`.
        public init(_ pairs: [(String, String)]) {
            lookup = { name in pairs.first { $0.0 == name }?.1 }
            isProcess = false
        }

        private init(process: Void) {
            lookup = { name in getenv(name).map { String(cString: $0) } }
            isProcess = true
        }

        /// The process's variables, read one name at a time: getenv, not ProcessInfo.environment, which builds a
        /// dictionary of the whole environment (a noticeable share of a short command's instructions) to read a few.
        public static let process = Variables(process: ())

        public subscript(name: String) -> String? { lookup(name) }
    }

    var definitionStore: DefinitionStore { DefinitionStore(paths: paths, os: os) }

    /// sysfs plus the persistent definitions; an unreadable definition file is reported, never fatal.
    func inventory() throws -> Inventory {
        var inventory = try SysfsReader(paths: paths, os: os).inventory()
        inventory.definitions = definitions()
        return inventory
    }

    /// The persistent definitions, sorted; an unreadable file is reported on stderr, never fatal.
    func definitions() -> [Definition] {
        let (definitions, problems) = definitionStore.all()
        for problem in problems { Console.error("vgpuctl: warning: \(problem)\n") }
        return definitions.sorted { ($0.parent, $0.uuid) < ($1.parent, $1.uuid) }
    }

    /// The placement config; none means one default group with the pack policy.
    func placementConfig() throws -> PlacementConfig {
        guard os.exists(configFile) else { return PlacementConfig() }
        let bytes: [UInt8]
        do { bytes = try os.readBytes(configFile) } catch {
            throw VGPUError(.host, "could not read the config file \(configFile): \(error)", fix: "check its permissions")
        }
        return try HostConfig.parse(bytes: bytes, file: configFile)
    }

    /// libvirt, connected now.
    func connect() throws -> LibvirtConnection { try LibvirtConnection(uri: libvirtURI, debug: debug) }

    /// The XML templates, from `templatesDirectory` or where the binary is installed.
    func templates() throws -> HostdevXML { try TemplateStore.load(os: os, override: templatesDirectory) }
}

/// How a command talks to libvirt beyond its URI (which is the environment's).
public struct LibvirtSettings: Sendable {
    /// Seconds a live detach waits for the guest to release the device.
    public var detachTimeout: Double
    /// False for the libvirt hook: it never calls libvirt back.
    public var reachable: Bool

    public init(detachTimeout: Double = 30, reachable: Bool = true) {
        self.detachTimeout = detachTimeout
        self.reachable = reachable
    }
}
