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

    /// The OS boundary; `VGPUCTL_FAIL_AT=N` makes its Nth mutating call fail (fault-injection in the VM tier).
    var os: SystemCalls {
        if let spec = ProcessInfo.processInfo.environment["VGPUCTL_FAIL_AT"], let index = Int(spec) {
            return FaultInjectingOS(failAt: index)
        }
        return LiveSystemCalls()
    }

    func inventory() throws -> Inventory { try SysfsReader(paths: paths, os: os).inventory() }
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
