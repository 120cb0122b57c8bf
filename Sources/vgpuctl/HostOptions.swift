import ArgumentParser
import FoundationEssentials
import VGPUCore
import VGPUApp

/// Where the host is: every path derives from these (tests point them at fixture trees).
struct HostOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The directory that stands for / (definitions, state, lock).", valueName: "dir"))
    var root: String?

    @Option(name: .long, help: ArgumentHelp("The directory that stands for /sys.", valueName: "dir"))
    var sysfsRoot: String?

    /// The command's environment: these options, else VGPUCTL_ROOT / VGPUCTL_SYSFS_ROOT / VGPUCTL_CONFIG; `connect`,
    /// else LIBVIRT_DEFAULT_URI.
    func environment(connect: String? = nil) -> Environment { Environment.resolve(root: root, sysfsRoot: sysfsRoot, connect: connect) }

    /// The application layer for this command: the lock wait from --wait, libvirt from --connect and
    /// --detach-timeout; the lock holder is the command line unless `command` names it.
    func application(lock: LockOptions? = nil, libvirt: LibvirtOptions? = nil, command: String? = nil) -> Application {
        Application(environment: environment(connect: libvirt?.connect), lockWait: lock?.wait ?? LockOptions.defaultWait,
                    libvirt: libvirt?.settings ?? LibvirtSettings(), command: command ?? Self.commandLine)
    }

    /// The command line, as another waiter for the host lock sees its holder.
    static var commandLine: String {
        CommandLine.arguments.map { ProcessServices.basename($0) == "vgpuctl" ? "vgpuctl" : $0 }.joined(separator: " ")
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
