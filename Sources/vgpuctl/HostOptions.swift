import ArgumentParser
import FoundationEssentials
import VGPUCore
import VGPUHost

/// Where the host is: every path derives from these (tests point them at fixture trees).
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The directory that stands for / (definitions, state, lock).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The directory that stands for /sys.", valueName: "dir"))
    var sysfsRoot: String?

    var paths: HostPaths {
        let environment = ProcessInfo.processInfo.environment
        let root = self.root ?? environment["VGPUCTL_ROOT"] ?? "/"
        return HostPaths(root: root, sysfs: sysfsRoot ?? environment["VGPUCTL_SYSFS_ROOT"])
    }

    /// The OS boundary. For the VM tier's fault and crash tests, `VGPUCTL_FAIL_AT=N` makes the Nth mutating call
    /// fail and `VGPUCTL_KILL_AT=N` SIGKILLs the process there.
    var os: SystemCalls { Self.os }

    private static let os: SystemCalls = {
        let environment = ProcessInfo.processInfo.environment
        if let index = environment["VGPUCTL_FAIL_AT"].flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index) }
        if let index = environment["VGPUCTL_KILL_AT"].flatMap({ Int($0) }) { return FaultInjectingOS(failAt: index, mode: .kill) }
        return LiveSystemCalls()
    }()

    var definitionStore: DefinitionStore { DefinitionStore(paths: paths, os: os) }

    /// sysfs plus the persistent definitions; an unreadable definition file is reported, never fatal.
    func inventory() throws -> Inventory {
        var inventory = try SysfsReader(paths: paths, os: os).inventory()
        let (definitions, problems) = definitionStore.all()
        for problem in problems { Console.error("vgpuctl: warning: \(problem)\n") }
        inventory.definitions = definitions.sorted { ($0.parent, $0.uuid) < ($1.parent, $1.uuid) }
        return inventory
    }

    /// The placement config: `etc/vgpuctl/vgpuctl.conf` under the root (or `VGPUCTL_CONFIG`); none means one
    /// default group with the pack policy.
    func placementConfig() throws -> PlacementConfig {
        let file = ProcessInfo.processInfo.environment["VGPUCTL_CONFIG"] ?? paths.configFile
        guard os.exists(file) else { return PlacementConfig() }
        let text: String
        do { text = try os.read(file) } catch {
            throw VGPUError(.host, "could not read the config file: \(error)", fix: "check its permissions")
        }
        return try HostConfig.parse(text, file: file)
    }
}

/// Output options shared by every command.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (stable; documented in README.md) instead of a table.")
    var json = false
}

enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        Console.out(String(decoding: data, as: UTF8.self) + "\n")
    }
}
