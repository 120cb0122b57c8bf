import ArgumentParser
import FoundationEssentials
import VGPUCore
import VGPUHost
import VGPUApp

/// Where the host is: every path derives from these (tests point them at fixture trees).
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The directory that stands for / (definitions, state, lock).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The directory that stands for /sys.", valueName: "dir"))
    var sysfsRoot: String?

    /// Where the host is: these options, else VGPUCTL_ROOT / VGPUCTL_SYSFS_ROOT / VGPUCTL_CONFIG.
    var context: HostContext { HostContext.resolve(root: root, sysfsRoot: sysfsRoot) }
    var paths: HostPaths { context.paths }
    var os: SystemCalls { context.os }
    func inventory() throws -> Inventory { try context.inventory() }
    func placementConfig() throws -> PlacementConfig { try context.placementConfig() }
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
