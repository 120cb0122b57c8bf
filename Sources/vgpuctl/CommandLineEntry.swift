import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import VGPUApp
import VGPUCore

/// `vgpuctl --version` prints the version; `--version --verbose` (either order) also the libvirt library's version,
/// which loads libvirt. Answered before ArgumentParser parses: it needs no host, and skipping ArgumentParser's
/// reflection makes it the cheapest command. ArgumentParser lists the flag in `--help` (the configuration names
/// the version). Returns nil when not asked, else whether `--verbose` came with it.
func versionRequested(_ arguments: [String]) -> Bool? {
    switch arguments {
    case ["--version"]: return false
    case ["--version", "--verbose"], ["--verbose", "--version"]: return true
    default: return nil
    }
}

func printVersion(verbose: Bool) -> Never {
    Console.out("vgpuctl \(VGPUVersion.string)\n")
    guard verbose else { exit(0) }
    do {
        let (version, library) = try Application(environment: .resolve(), command: "vgpuctl --version").read(ReadLibvirtVersion())
        Console.out("libvirt \(version) (\(library))\n")
        exit(0)
    } catch {
        exitWithError(error)
    }
}

/// The entry point: ArgumentParser parses and validates; our own errors exit with their documented codes.
func runMain() -> Never {
    do {
        var command = try VGPUCtl.parseAsRoot()
        try command.run()
        exit(0)
    } catch {
        exitWithError(error)
    }
}

/// How every error ends the process, on the fast path and through ArgumentParser alike.
func exitWithError(_ error: Error) -> Never {
    if let error = error as? VGPUError {
        Console.error("vgpuctl: \(error)\n")
        exit(error.exitCode)
    }
    let code = VGPUCtl.exitCode(for: error)
    // Usage and validation errors are "invalid input" (2), like every other refusal of bad input.
    if code == .validationFailure || (code != .success && VGPUCtl.fullMessage(for: error).contains("Error:")) {
        let message = VGPUCtl.fullMessage(for: error)
        let text = message.hasPrefix("Error: ") ? "vgpuctl: " + message.dropFirst("Error: ".count) : message
        Console.error(text + "\n")
        exit(VGPUError.exitCodes[.invalidInput]!)
    }
    VGPUCtl.exit(withError: error)
}

/// vgpuctl's entry point (Sources/vgpuctl-main calls it with the `--help` text generated at build time): a
/// bounded write's child, the libvirt hook, `--version`, the fast path, else ArgumentParser.
public enum CommandLineEntry {
    public static func run(helpText: String) -> Never {
        // A bounded write's child (VGPUHost/OS/BoundedWrite.swift): one sysfs write, nothing else, before anything else.
        if let code = ProcessServices.boundedWriteChild(Array(CommandLine.arguments.dropFirst())) { exit(code) }
        // Started through the link in /etc/libvirt/hooks/qemu.d: the hook, without the argument parser.
        if let first = CommandLine.arguments.first, ProcessServices.basename(first) == HookMain.name {
            HookMain.run(Array(CommandLine.arguments.dropFirst()))
        }
        // The hot, simple forms skip ArgumentParser (FastPath.swift); everything else, and every error, goes through it.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let verbose = versionRequested(arguments) { printVersion(verbose: verbose) }
        if Environment.Variables.process["VGPUCTL_NO_FAST_PATH"] == nil, let command = FastPath.command(arguments) {
            FastPath.run(command, helpText: helpText)
        }
        runMain()
    }

    /// `vgpuctl --help` as ArgumentParser prints it `columns` wide, ending in one newline: what the build writes
    /// into the fast path (Plugins/HelpTextPlugin), from the commands' own declarations.
    public static func helpText(columns: Int) -> String {
        var text = VGPUCtl.helpMessage(columns: columns)
        while text.hasSuffix("\n") { text.removeLast() }
        return text + "\n"
    }
}
